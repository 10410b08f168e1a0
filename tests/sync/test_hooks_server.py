"""The pre-receive hook on a real bare repository, fed by real `git push` (path, file://, git://).

Every attack of issue 5 is pushed at a gated server: each push is refused as a whole, the
server's refs stay exactly as they were, and git shows the client one line per problem.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.run import start_run
from mindgit.identity.keys import NodeKey
from mindgit.identity.trust import TrustStore
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from mindgit.store.rotations import rotate_key
from mindgit.sync import hooks
from mindgit.sync.hooks import ServerPolicy, install_server
from tests.conftest import FIXTURES, fsck, git
from tests.sync import forge
from tests.sync.daemons import GitDaemon
from tests.sync.test_hooks_gate import populated, raw_tree, signed_raw_commit, tree_entries

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"


def make_server(
    base: Path,
    trust: str,
    *,
    name: str = "shared.git",
    policy: ServerPolicy | None = None,
    hooks: tuple[str, ...] = ("pre-receive",),
) -> Path:
    server = base / name
    git("init", "-q", "--bare", str(server))
    install_server(server, trust_text=trust, python=sys.executable, policy=policy, hooks=hooks)
    return server


def push(store: Store, url: str, *refspecs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(store.path), "push", url, *refspecs],
        capture_output=True,
        text=True,
    )


def refs(server: Path) -> dict[str, str]:
    out = git("--git-dir", str(server), "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split(" ") for line in out.splitlines())


def refused_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """What the hook said, as git relays it to the pushing client."""
    return [
        line.removeprefix("remote: ").rstrip()
        for line in proc.stderr.splitlines()
        if line.startswith("remote: mindgit: refused: ")
    ]


def attack(
    store: Store, server: Path, commit: str, *, ref: str = "main", url: str | None = None
) -> list[str]:
    """Push ``commit`` as ``ref``: it must be refused with the server unchanged."""
    before = refs(server)
    forge.point(store, ref, commit)
    proc = push(store, url or str(server), f"+refs/heads/{ref}:refs/heads/{ref}")
    assert proc.returncode != 0, proc.stderr
    assert "pre-receive hook declined" in proc.stderr
    assert refs(server) == before
    lines = refused_lines(proc)
    assert lines, proc.stderr
    return lines


# ---- good pushes ------------------------------------------------------------------------------


def test_a_good_push_is_accepted(server: Path, store: Store) -> None:
    store.think("more")
    proc = push(store, str(server), "main")
    assert proc.returncode == 0, proc.stderr
    assert refs(server)["refs/heads/main"] == store.head()
    assert refused_lines(proc) == []
    fsck(server)


def test_a_whole_store_with_runs_and_modules_is_accepted(server: Path, store: Store) -> None:
    store.fork("lab")
    store.set_genes(
        [Gene.make("y", "float", 1.5, min=-5.12, max=5.12)],
        experiment="lab",
    )
    result = start_run(
        store, str(RASTRIGIN), RunParams(population=6, generations=4, seed=3), experiment="lab"
    )
    assert result.result_commit is not None
    rotate_key(store)
    proc = push(
        store,
        f"file://{server}",
        "refs/heads/*:refs/heads/*",
        "refs/runs/*:refs/runs/*",
        "refs/fitness/*:refs/fitness/*",
        "refs/keys/*:refs/keys/*",
    )
    assert proc.returncode == 0, proc.stderr
    local = {
        r: str(store.repo.references[r].resolve().target)
        for r in store.repo.references
        if r.startswith(("refs/heads/", "refs/runs/", "refs/fitness/", "refs/keys/"))
    }
    assert refs(server) == local
    fsck(server)


# ---- the attacks of issue 5 -------------------------------------------------------------------


def test_unsigned_commit(server: Path, store: Store) -> None:
    bad = forge.unsigned(store, "main")
    assert attack(store, server, bad) == [f"mindgit: refused: {bad}: unsigned commit"]


def test_signature_by_an_unknown_key(server: Path, store: Store) -> None:
    stranger = NodeKey.generate()
    bad = forge.signed_by(store, "main", stranger)
    assert attack(store, server, bad) == [
        f"mindgit: refused: {bad}: signed by untrusted key {stranger.public.did} "
        f"({stranger.public.fingerprint})"
    ]


def test_valid_signature_over_altered_content(server: Path, store: Store) -> None:
    bad = forge.altered(store, "main")
    (line,) = attack(store, server, bad)
    assert line.startswith(f"mindgit: refused: {bad}: bad signature")


def test_blob_whose_bytes_do_not_match_its_cid(server: Path, store: Store) -> None:
    bad = forge.bad_cid(store, "main", store.key)
    (line,) = attack(store, server, bad)
    assert line.startswith(f"mindgit: refused: {bad} thought ") and "hash to" in line


def test_non_canonical_manifest(server: Path, store: Store) -> None:
    bad = forge.non_canonical_manifest(store, "main", store.key)
    (line,) = attack(store, server, bad)
    assert line.startswith(f"mindgit: refused: {bad} manifest ")


def test_rewind_by_force_pushing_an_older_head(server: Path, store: Store) -> None:
    older = store.head()
    store.think("newer")
    newer = store.head()
    assert push(store, str(server), "main").returncode == 0
    assert refs(server)["refs/heads/main"] == newer
    (line,) = attack(store, server, older)
    assert line == (
        f"mindgit: refused: {older} refs/heads/main: rewinds refs/heads/main: "
        f"its current head {newer} is not an ancestor of {older}"
    )


def test_rewind_is_accepted_when_the_server_allows_it(srv_dir: Path, store: Store) -> None:
    server = make_server(srv_dir, store.trust.export(), policy=ServerPolicy(allow_rewind=True))
    older = populated(store).head()
    store.think("newer")
    assert push(store, str(server), "main").returncode == 0
    forge.point(store, "main", older)
    proc = push(store, str(server), "+main")
    assert proc.returncode == 0, proc.stderr
    assert refs(server)["refs/heads/main"] == older


@pytest.mark.parametrize("name", [b"..", b".git", b"a/b", b"."])
def test_tree_entry_names(server: Path, store: Store, name: bytes) -> None:
    bad = forge.hostile_name(store, "main", store.key, name)
    lines = attack(store, server, bad)
    assert any(
        line.startswith(f"mindgit: refused: {bad} thoughts/{name.decode()}: tree entry name")
        for line in lines
    ), lines


@pytest.mark.parametrize("name", [b"..", b".git", b"a/b"])
def test_git_itself_refuses_hostile_names_when_it_checks_objects(
    srv_dir: Path, store: Store, name: bytes
) -> None:
    """With receive.fsckObjects git refuses these trees before any hook runs; without it (the
    default) they reach the quarantine, and the hook refuses them (the test above)."""
    server = make_server(srv_dir, store.trust.export())
    git("--git-dir", str(server), "config", "receive.fsckObjects", "true")
    populated(store)
    assert push(store, str(server), "main").returncode == 0
    before = refs(server)
    head = store.head()
    commit = store.repo[head].peel(pygit2.Commit)
    evil = (b"100644", name, store.repo.create_blob(b"x"))
    root = sorted([*tree_entries(commit.tree), evil], key=lambda e: e[1])
    bad = signed_raw_commit(store, raw_tree(store.repo, root), [head], "evil")
    forge.point(store, "main", bad)
    proc = push(store, str(server), "main")
    assert proc.returncode != 0
    assert "unpacker error" in proc.stderr or "fsck" in proc.stderr, proc.stderr
    assert refused_lines(proc) == []  # git stopped it before the hook ran
    assert refs(server) == before


def test_git_itself_will_not_send_an_empty_entry_name(server: Path, store: Store) -> None:
    """A tree entry with no name cannot even leave the client: git's pack-objects refuses it
    (and libgit2 cannot parse such a tree, which the gate reports if one arrives otherwise)."""
    before = refs(server)
    head = store.head()
    commit = store.repo[head].peel(pygit2.Commit)
    root = [(b"100644", b"", store.repo.create_blob(b"x")), *tree_entries(commit.tree)]
    bad = signed_raw_commit(store, raw_tree(store.repo, root), [head], "evil")
    forge.point(store, "main", bad)
    proc = push(store, str(server), "main")
    assert proc.returncode != 0
    assert "empty filename in tree entry" in proc.stderr
    assert refs(server) == before


def test_object_far_over_the_default_size_limit(server: Path, store: Store) -> None:
    bad = forge.huge_thought(store, "main", store.key)
    (line,) = attack(store, server, bad)
    assert "over the 33554432-byte limit" in line and line.startswith(f"mindgit: refused: {bad} ")


def test_object_over_a_configured_size_limit(srv_dir: Path, store: Store) -> None:
    server = make_server(
        srv_dir, store.trust.export(), policy=ServerPolicy(max_object_bytes=64 << 10)
    )
    populated(store)
    assert push(store, str(server), "main").returncode == 0
    bad = forge.huge_thought(store, "main", store.key, size=1 << 20)
    (line,) = attack(store, server, bad)
    assert "over the 65536-byte limit" in line


def test_a_trusted_key_later_removed_from_trust(srv_dir: Path, store: Store) -> None:
    gamma = NodeKey.generate()
    trust = TrustStore(srv_dir / "trust")
    trust.add(store.public_key, "alpha")
    trust.add(gamma.public, "gamma")
    server = make_server(srv_dir, trust.export())
    populated(store)
    assert push(store, str(server), "main").returncode == 0
    first = forge.signed_by(store, "main", gamma)
    forge.point(store, "main", first)
    assert push(store, str(server), "main").returncode == 0
    TrustStore(server / "mindgit" / "allowed_signers").remove("gamma")
    second = forge.signed_by(store, "main", gamma)
    (line,) = attack(store, server, second)
    assert line == (
        f"mindgit: refused: {second}: signed by untrusted key {gamma.public.did} "
        f"({gamma.public.fingerprint})"
    )


def test_one_bad_ref_refuses_the_whole_push(server: Path, store: Store) -> None:
    before = refs(server)
    store.fork("good", switch=False)
    store.think("fine", experiment="good")
    forge.point(store, "bad", forge.unsigned(store, "main"))
    proc = push(store, str(server), "good", "bad")
    assert proc.returncode != 0
    assert refs(server) == before
    assert len(refused_lines(proc)) == 1


def test_refs_outside_the_store_namespaces_and_deletions(server: Path, store: Store) -> None:
    before = refs(server)
    git("--git-dir", str(store.path), "tag", "v1", store.head())
    proc = push(store, str(server), "refs/tags/v1")
    assert proc.returncode != 0 and "outside the namespaces" in proc.stderr
    proc = push(store, str(server), ":refs/heads/main")
    assert proc.returncode != 0 and "deleting refs/heads/main is refused" in proc.stderr
    assert refs(server) == before


def test_a_run_pushed_as_an_experiment_is_refused(server: Path, store: Store) -> None:
    store.set_genes([Gene.make("y", "float", 1.5, min=-5.12, max=5.12)])
    result = start_run(store, str(RASTRIGIN), RunParams(population=4, generations=2, seed=1))
    proc = push(store, str(server), f"refs/runs/{result.run_id}:refs/heads/sneaky")
    assert proc.returncode != 0
    assert "refs/heads/sneaky must point at a state commit" in proc.stderr


# ---- how the hook runs ------------------------------------------------------------------------


def test_the_hook_sees_objects_still_in_quarantine(srv_dir: Path, store: Store) -> None:
    """git keeps a push's objects out of the repository until pre-receive accepts; plain libgit2
    does not see them, the hook's repository does."""
    server = srv_dir / "probe.git"
    git("init", "-q", "--bare", str(server))
    probe = server / "hooks" / "pre-receive"
    probe.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, pygit2\n"
        "from mindgit.sync.hooks import open_repository\n"
        "old, new, ref = sys.stdin.read().split()\n"
        "oid = pygit2.Oid(hex=new)\n"
        "print('quarantine', bool(os.environ.get('GIT_QUARANTINE_PATH')), file=sys.stderr)\n"
        "print('plain', oid in pygit2.Repository('.').odb, file=sys.stderr)\n"
        "print('hook', oid in open_repository().odb, file=sys.stderr)\n"
        "sys.exit(1)\n"
    )
    probe.chmod(0o755)
    proc = push(store, str(server), "main")
    words = [line.split() for line in proc.stderr.splitlines()]
    said = {w[1]: w[2] for w in words if len(w) == 3 and w[0] == "remote:"}
    assert said == {"quarantine": "True", "plain": "False", "hook": "True"}, proc.stderr
    assert refs(server) == {}


def test_update_hook_refuses_only_the_bad_ref(srv_dir: Path, store: Store) -> None:
    server = make_server(srv_dir, store.trust.export(), name="per-ref.git", hooks=("update",))
    store.fork("good", switch=False)
    forge.point(store, "bad", forge.unsigned(store, "main"))
    proc = push(store, str(server), "good", "bad")
    assert proc.returncode != 0
    assert "hook declined to update refs/heads/bad" in proc.stderr
    assert refs(server) == {"refs/heads/good": store.head("good")}


def test_a_server_without_trust_refuses_everything(server: Path, store: Store) -> None:
    before = refs(server)
    (server / "mindgit" / "allowed_signers").unlink()
    store.think("anything")
    proc = push(store, str(server), "main")
    assert proc.returncode != 0
    assert "no trust file at" in proc.stderr
    assert refs(server) == before


def test_pushes_over_git_daemon_are_gated(
    server: Path, srv_dir: Path, store: Store, daemon: Callable[[Path], GitDaemon]
) -> None:
    served = daemon(srv_dir)
    url = served.url(server.name)
    store.think("over git://")
    good = push(store, url, "main")
    assert good.returncode == 0, good.stderr
    assert refs(server)["refs/heads/main"] == store.head()
    bad = forge.unsigned(store, "main")
    assert attack(store, server, bad, url=url) == [f"mindgit: refused: {bad}: unsigned commit"]


def test_the_shipped_script_runs_mindgit_from_path(srv_dir: Path, store: Store) -> None:
    """hooks/pre-receive copied by hand, as a plain git hook: it finds `mindgit` on the PATH."""
    server = make_server(srv_dir, store.trust.export())
    shipped = Path(__file__).resolve().parents[2] / "hooks" / "pre-receive"
    target = server / "hooks" / "pre-receive"
    target.write_bytes(shipped.read_bytes())
    target.chmod(0o755)
    env_bin = str(Path(sys.executable).parent)
    populated(store)
    bad = forge.unsigned(store, "main")
    forge.point(store, "main", bad)
    env = {**os.environ, "PATH": env_bin + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.run(
        ["git", "--git-dir", str(store.path), "push", str(server), "main"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode != 0
    assert f"mindgit: refused: {bad}: unsigned commit" in proc.stderr


def test_a_push_of_many_bad_commits_is_refused_in_a_few_lines(server: Path, store: Store) -> None:
    head = store.head()
    chain = []
    for i in range(hooks.MAX_REPORTED + 5):
        head = forge.commit_tree(
            store.repo, forge.thought_tree(store, f"unsigned {i}", head), [head], "think", None
        )
        chain.append(head)
    lines = attack(store, server, head)
    assert len(lines) == hooks.MAX_REPORTED + 1
    assert lines[-1] == "mindgit: refused: ... and 5 more problem(s)"
    assert all(line.endswith(": unsigned commit") for line in lines[:-1])
    assert {line.split()[2].rstrip(":") for line in lines[:-1]} <= set(chain)
