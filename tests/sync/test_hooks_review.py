"""An adversarial review of the server hooks: every push here is a real ``git push`` to a real
bare repository gated by ``pre-receive`` (or ``update``), and a refused one must leave the
server exactly as it was.

test_hooks_server.py covers the attacks first listed for the hooks; this file adds what a
review found missing or wrong: bad commits deep in history or behind a merge, a retired key
outside its bounds, many-ref pushes that leave nothing behind, tags, push options, racing
pushes, hostile ref names, and a broken server (trust file, config) that must refuse clearly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest

from mindgit.identity.keys import NodeKey
from mindgit.store.repository import Store, init_store
from mindgit.store.rotations import rotate_key
from tests.conftest import FIXTURES, fsck, git
from tests.sync import forge
from tests.sync.test_hooks_gate import populated, raw_tree, signed_raw_commit, tree_entries
from tests.sync.test_hooks_server import attack, make_server, push, refs, refused_lines

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"
ZERO = "0" * 40


def has_object(repo: Path, oid: str) -> bool:
    proc = subprocess.run(
        ["git", "--git-dir", str(repo), "cat-file", "-e", oid], capture_output=True
    )
    return proc.returncode == 0


def signed_on(store: Store, parent: str, text: str, key: NodeKey | None = None) -> str:
    """A valid signed state commit on top of ``parent`` (no ref moves)."""
    tree = forge.thought_tree(store, text, parent)
    return forge.commit_tree(store.repo, tree, [parent], text, key or store.key)


# ---- history: the bad commit is not the tip ---------------------------------------------------


def test_a_bad_commit_deep_under_good_ones(server: Path, store: Store) -> None:
    bad = forge.unsigned(store, "main")
    tip = bad
    for i in range(5):
        tip = signed_on(store, tip, f"good {i}")
    lines = attack(store, server, tip)
    assert lines == [f"mindgit: refused: {bad}: unsigned commit"]
    assert not has_object(server, bad)


def test_a_merge_whose_second_parent_is_bad(server: Path, store: Store) -> None:
    head = store.head()
    good = signed_on(store, head, "first line")
    bad = forge.unsigned(store, "main")
    tree = forge.thought_tree(store, "merged", good)
    merge = forge.commit_tree(store.repo, tree, [good, bad], "merge", store.key)
    assert attack(store, server, merge) == [f"mindgit: refused: {bad}: unsigned commit"]


# ---- retired keys -----------------------------------------------------------------------------


def test_a_retired_key_outside_its_bounds(srv_dir: Path, store: Store) -> None:
    populated(store)
    old = store.key
    within = store.head()
    rotate_key(store)
    server = make_server(srv_dir, store.trust.export())
    proc = push(store, str(server), "main", "refs/keys/*:refs/keys/*")
    assert proc.returncode == 0, proc.stderr
    # Signed with the old key after the rotation (a stolen key file, say), dated whenever.
    late = signed_on(store, within, "after the rotation", old)
    (line,) = attack(store, server, late)
    assert line.startswith(f"mindgit: refused: {late}: signed by alpha.retired-1, a retired key")
    # The new key signs the same change: accepted.
    forge.point(store, "main", within)
    store.think("after the rotation, by the new key")
    assert push(store, str(server), "main").returncode == 0


# ---- many refs: all or nothing ----------------------------------------------------------------


def test_many_refs_one_bad_leaves_nothing_behind(server: Path, store: Store) -> None:
    before = refs(server)
    new: list[str] = []
    for name in ("a", "b", "c"):
        store.fork(name, switch=False)
        store.think(f"on {name}", experiment=name)
        new.append(store.head(name))
    store.think("main moves too")
    new.append(store.head())
    bad = forge.unsigned(store, "main")
    forge.point(store, "zz-bad", bad)
    proc = push(store, str(server), "a", "b", "c", "main", "zz-bad")
    assert proc.returncode != 0
    assert refused_lines(proc) == [f"mindgit: refused: {bad}: unsigned commit"]
    assert refs(server) == before
    # Not only unreachable: git dropped the quarantine, so no object of the push is there.
    for oid in [*new, bad]:
        assert not has_object(server, oid), oid
    fsck(server)


def test_an_atomic_push_is_gated_the_same(server: Path, store: Store) -> None:
    before = refs(server)
    store.think("good")
    forge.point(store, "bad", forge.unsigned(store, "main"))
    proc = push(store, str(server), "--atomic", "main", "bad")
    assert proc.returncode != 0
    assert refs(server) == before


# ---- tags and push options --------------------------------------------------------------------


def test_an_annotated_tag_is_refused_wherever_it_is_pushed(server: Path, store: Store) -> None:
    before = refs(server)
    git("--git-dir", str(store.path), "tag", "-a", "-m", "release", "v1", store.head())
    tag = git("--git-dir", str(store.path), "rev-parse", "refs/tags/v1").strip()
    proc = push(store, str(server), "refs/tags/v1")
    assert proc.returncode != 0
    assert "outside the namespaces" in proc.stderr
    proc = push(store, str(server), "refs/tags/v1:refs/heads/tagged")
    assert proc.returncode != 0
    assert f"mindgit: refused: {tag}: is not a commit (the new value of refs/heads/tagged)" in (
        proc.stderr
    )
    assert refs(server) == before


def test_push_options_change_nothing(server: Path, store: Store) -> None:
    git("--git-dir", str(server), "config", "receive.advertisePushOptions", "true")
    store.think("with options")
    good = push(store, str(server), "-o", "ci.skip", "-o", "anything=at all", "main")
    assert good.returncode == 0, good.stderr
    bad = forge.unsigned(store, "main")
    forge.point(store, "main", bad)
    before = refs(server)
    proc = push(store, str(server), "-o", "mindgit.trust=off", "main")
    assert proc.returncode != 0
    assert refused_lines(proc) == [f"mindgit: refused: {bad}: unsigned commit"]
    assert refs(server) == before


# ---- racing pushes ----------------------------------------------------------------------------


def test_two_pushes_at_once_move_the_ref_once(tmp_path: Path, server: Path, store: Store) -> None:
    """Each hook judges its own push; git's compare-and-swap on the ref then lets one win and
    refuses the other, so the server never ends on a head no hook judged against its old value."""
    base = store.head()
    two = signed_on(store, base, "racer two")
    forge.point(store, "racer", two)
    store.think("racer one")
    one = store.head()
    other = tmp_path / "alpha-clone"
    git("clone", "-q", "--bare", str(store.path), str(other))
    git("--git-dir", str(other), "update-ref", "refs/heads/main", two)
    procs = [
        subprocess.Popen(
            ["git", "--git-dir", str(path), "push", str(server), "main"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (store.path, other)
    ]
    codes = [p.wait() for p in procs]
    for p in procs:
        assert p.stdout is not None and p.stderr is not None
        p.stdout.close()
        p.stderr.close()
    assert sorted(codes) == [0, 1], codes
    winner = one if codes[0] == 0 else two
    assert refs(server)["refs/heads/main"] == winner
    fsck(server)


# ---- hostile ref names ------------------------------------------------------------------------


def push_raw_ref(store: Store, server: Path, name: bytes) -> tuple[int, str]:
    """Push a ref whose name is not UTF-8 to itself, with Python as strict about its input as
    on a server whose locale is a UTF-8 one (this machine has only C locales, where Python
    reads stdin leniently)."""
    with open(os.fsencode(store.path) + b"/" + name, "wb") as f:
        f.write(store.head().encode() + b"\n")
    proc = subprocess.run(
        [b"git", b"--git-dir", os.fsencode(store.path), b"push", os.fsencode(server), name],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"},
    )
    return proc.returncode, proc.stderr.decode("utf-8", "backslashreplace")


@pytest.mark.parametrize("name", [b"refs/heads/caf\xe9", b"refs/tags/caf\xe9"])
def test_a_ref_name_that_is_not_utf8(server: Path, store: Store, name: bytes) -> None:
    before = refs(server)
    (store.path / "refs" / "tags").mkdir(exist_ok=True)
    code, err = push_raw_ref(store, server, name)
    assert code != 0, err
    assert "internal error" not in err, err
    reason = "is not one mindgit accepts" if b"heads" in name else "is outside the namespaces"
    assert f"mindgit: refused: {store.head()}: ref" in err and reason in err, err
    assert refs(server) == before


def test_a_ref_name_too_long_for_libgit2(server: Path, store: Store) -> None:
    """git stores a ref name of any length, libgit2 none over 1023 bytes: one such ref accepted
    on the server made the hook (and any mindgit pull) fail on every later push."""
    before = refs(server)
    name = "refs/heads/" + "/".join(["x" * 90] * 12)
    assert len(name) > 1023
    git("--git-dir", str(store.path), "update-ref", name, store.head())
    proc = push(store, str(server), f"{name}:{name}")
    assert proc.returncode != 0
    assert "internal error" not in proc.stderr, proc.stderr
    assert refused_lines(proc) == [
        f"mindgit: refused: {store.head()}: ref name {name[:40]}... is {len(name)} bytes long, "
        "over the 1023 that libgit2 (and so mindgit) reads"
    ]
    assert refs(server) == before
    # The longest name libgit2 reads is still accepted, and later pushes go on.
    longest = ("refs/heads/" + "/".join(["y" * 90] * 12))[:1023]
    git("--git-dir", str(store.path), "update-ref", longest, store.head())
    proc = push(store, str(server), f"{longest}:{longest}")
    assert proc.returncode == 0, proc.stderr
    store.think("after the long names")
    proc = push(store, str(server), "main")
    assert proc.returncode == 0, proc.stderr


def test_a_server_already_holding_an_overlong_ref_still_gates(server: Path, store: Store) -> None:
    """A ref written on the server by git itself (an admin, or a push before the hook was
    installed) must not make every later push an internal error."""
    name = "refs/heads/" + "/".join(["x" * 90] * 12)
    git("--git-dir", str(server), "update-ref", name, store.head())
    store.think("after the long name")
    proc = push(store, str(server), "main")
    assert "internal error" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr


# ---- hostile trees by real push ---------------------------------------------------------------


@pytest.mark.parametrize("name", [b".GIT", b".git.", b"git~1", b"GIT~1"])
def test_other_spellings_of_dot_git(server: Path, store: Store, name: bytes) -> None:
    bad = forge.hostile_name(store, "main", store.key, name)
    lines = attack(store, server, bad)
    assert any("names a git directory" in line for line in lines), lines


def test_a_submodule_entry(server: Path, store: Store) -> None:
    head = store.head()
    commit = store.repo[head].peel(pygit2.Commit)
    gitlink = (b"160000", b"module", pygit2.Oid(hex=head))
    root = sorted([*tree_entries(commit.tree), gitlink], key=lambda e: e[1])
    bad = signed_raw_commit(store, raw_tree(store.repo, root), [head], "submodule")
    lines = attack(store, server, bad)
    assert any("submodule" in line for line in lines), lines


# ---- a broken server refuses clearly ----------------------------------------------------------


def refused_by_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0
    assert "pre-receive hook declined" in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"this is not an allowed-signers file\n", "allowed_signers:1: unknown option"),
        (b"\xff\xfe\x00garbage\n", "allowed_signers:1: the line is not UTF-8"),
        (b"", "allowed_signers trusts no key"),
        (b"# every node removed\n", "allowed_signers trusts no key"),
    ],
)
def test_a_corrupt_or_empty_trust_file(
    server: Path, store: Store, content: bytes, words: str
) -> None:
    """One line about the trust file, not "untrusted key" about every commit pushed."""
    before = refs(server)
    (server / "mindgit" / "allowed_signers").write_bytes(content)
    store.think("anything")
    store.think("and more")
    err = refused_by_error(push(store, str(server), "main"))
    assert words in err, err
    assert "refused:" not in err, err
    assert refs(server) == before


def test_a_trust_path_that_is_a_directory(server: Path, store: Store) -> None:
    trust = server / "mindgit" / "allowed_signers"
    trust.unlink()
    trust.mkdir()
    store.think("anything")
    err = refused_by_error(push(store, str(server), "main"))
    assert "allowed_signers" in err, err


@pytest.mark.parametrize(
    ("key", "value"),
    [("mindgit.maxObjectBytes", "banana"), ("mindgit.allowRewind", "perhaps")],
)
def test_bad_policy_config(server: Path, store: Store, key: str, value: str) -> None:
    before = refs(server)
    git("--git-dir", str(server), "config", key, value)
    store.think("anything")
    err = refused_by_error(push(store, str(server), "main"))
    assert key in err, err
    assert refs(server) == before


def test_a_server_using_alternates(srv_dir: Path, store: Store) -> None:
    """A hosted fork borrows objects from another repository (objects/info/alternates): the
    hook sees those, the quarantine and the repository's own objects."""
    populated(store)
    base = make_server(srv_dir, store.trust.export(), name="base.git")
    assert push(store, str(base), "main").returncode == 0
    fork = srv_dir / "fork.git"
    git("clone", "-q", "--bare", "--shared", str(base), str(fork))
    from mindgit.sync.hooks import install_server

    install_server(fork, trust_text=store.trust.export(), python=sys.executable)
    store.think("in the fork")
    proc = push(store, str(fork), "main")
    assert proc.returncode == 0, proc.stderr
    bad = forge.unsigned(store, "main")
    assert attack(store, fork, bad) == [f"mindgit: refused: {bad}: unsigned commit"]


def test_the_update_hook_with_a_non_utf8_ref(srv_dir: Path, store: Store) -> None:
    server = make_server(srv_dir, store.trust.export(), name="per-ref.git", hooks=("update",))
    populated(store)
    code, err = push_raw_ref(store, server, b"refs/heads/caf\xe9")
    assert code != 0, err
    assert "is not one mindgit accepts" in err and "internal error" not in err, err
    assert refs(server) == {}


def test_the_hook_never_runs_on_a_store_it_was_not_given(tmp_path: Path, store: Store) -> None:
    """Started by hand from another directory with no GIT_DIR, the hook names the problem."""
    populated(store)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(
        [sys.executable, "-m", "mindgit", "hook", "pre-receive"],
        cwd=elsewhere,
        input="",
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1, proc.stderr
    assert "is not a git repository" in proc.stderr, proc.stderr


def test_the_hook_run_from_another_directory_reads_git_dir(
    tmp_path: Path, server: Path, store: Store
) -> None:
    """A wrapper that chains hooks may run this one from elsewhere: GIT_DIR is what counts."""
    head = refs(server)["refs/heads/main"]
    store.think("next")
    git("--git-dir", str(server), "fetch", "-q", str(store.path), "main:refs/incoming")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "GIT_DIR": str(server)}
    proc = subprocess.run(
        [sys.executable, "-m", "mindgit", "hook", "pre-receive"],
        cwd=elsewhere,
        input=f"{head} {store.head()} refs/heads/main\n",
        capture_output=True,
        text=True,
        env=env,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    bad = forge.unsigned(store, "main")
    git("--git-dir", str(server), "fetch", "-q", str(store.path), f"{bad}:refs/incoming")
    proc = subprocess.run(
        [sys.executable, "-m", "mindgit", "hook", "pre-receive"],
        cwd=elsewhere,
        input=f"{head} {bad} refs/heads/main\n",
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 1
    assert proc.stderr == f"mindgit: refused: {bad}: unsigned commit\n"


def test_a_new_store_pushed_whole(srv_dir: Path, tmp_path: Path) -> None:
    beta = init_store(tmp_path / "beta", "beta")
    populated(beta)
    server = make_server(srv_dir, beta.trust.export())
    proc = push(beta, str(server), "refs/heads/*:refs/heads/*")
    assert proc.returncode == 0, proc.stderr


# ---- mindgit trees that are malformed in other ways -------------------------------------------


def _with_thought_entry(store: Store, mode: bytes, name: bytes, data: bytes) -> str:
    """A signed commit on the head whose thoughts tree gains one entry, the manifest unchanged."""
    repo = store.repo
    head = store.head()
    commit = repo[head].peel(pygit2.Commit)
    thoughts = repo[commit.tree["thoughts"].id]
    assert isinstance(thoughts, pygit2.Tree)
    entry = (mode, name, repo.create_blob(data))
    sub = raw_tree(repo, sorted([*tree_entries(thoughts), entry], key=lambda e: e[1]))
    root = [(m, n, sub if n == b"thoughts" else o) for m, n, o in tree_entries(commit.tree)]
    return signed_raw_commit(store, raw_tree(repo, root), [head], "odd entry")


def _relinked(store: Store, mode: bytes) -> str:
    """The head's own first thought filed again under ``mode`` (its name and bytes right)."""
    repo = store.repo
    head = store.head()
    commit = repo[head].peel(pygit2.Commit)
    thoughts = repo[commit.tree["thoughts"].id]
    assert isinstance(thoughts, pygit2.Tree)
    entries = [(mode, n, o) for _, n, o in tree_entries(thoughts)]
    sub = raw_tree(repo, entries)
    root = [(m, n, sub if n == b"thoughts" else o) for m, n, o in tree_entries(commit.tree)]
    return signed_raw_commit(store, raw_tree(repo, root), [head], "odd mode")


@pytest.mark.parametrize(
    "build",
    [
        "not-a-cid",
        "uppercase-cid",
        "unlisted-cid",
        "symlink",
        "executable",
        "top-level-file",
    ],
)
def test_malformed_state_trees(server: Path, store: Store, build: str) -> None:
    from mindgit.ipld.cid import CID

    data = b'{"text":"stray","type":"note"}'
    cid = str(CID.of(data))
    if build == "not-a-cid":
        bad = _with_thought_entry(store, b"100644", b"hello", data)
    elif build == "uppercase-cid":
        bad = _with_thought_entry(store, b"100644", cid.upper().encode(), data)
    elif build == "unlisted-cid":
        bad = _with_thought_entry(store, b"100644", cid.encode(), data)
    elif build == "symlink":
        bad = _relinked(store, b"120000")
    elif build == "executable":
        bad = _relinked(store, b"100755")
    else:
        head = store.head()
        commit = store.repo[head].peel(pygit2.Commit)
        extra = (b"100644", b"README", store.repo.create_blob(b"hello"))
        root = sorted([*tree_entries(commit.tree), extra], key=lambda e: e[1])
        bad = signed_raw_commit(store, raw_tree(store.repo, root), [head], "readme")
    lines = attack(store, server, bad)
    assert all(line.startswith(f"mindgit: refused: {bad}") for line in lines), lines


# ---- ref names a pull refuses -----------------------------------------------------------------


def test_a_ref_name_every_pull_would_refuse(server: Path, store: Store, tmp_path: Path) -> None:
    """The server is where nodes pull from: a ref there that a pull refuses by name makes every
    pull from it refused whole. The hook refuses such names as a pull would."""
    from mindgit.evolve.fitness import to_wasm
    from mindgit.store.fitness_store import store_module
    from mindgit.sync.peers import add_peer
    from mindgit.sync.pull import pull

    entry = store_module(store, to_wasm(RASTRIGIN.read_bytes()), "rastrigin")
    # A well-formed git ref name, and a fitness module commit: only the name is wrong.
    name = "refs/fitness/team/rastrigin"
    git("--git-dir", str(store.path), "update-ref", name, entry.commit)
    before = refs(server)
    proc = push(store, str(server), f"{name}:{name}")
    assert proc.returncode != 0, proc.stderr
    assert refused_lines(proc) == [
        f"mindgit: refused: {entry.commit}: {name}: invalid fitness module name 'team/rastrigin'"
    ]
    assert refs(server) == before
    # And so a node pulling from the server still gets what is there.
    beta = init_store(tmp_path / "beta", "beta")
    beta.trust.add(store.public_key, "alpha")
    add_peer(beta, "shared", f"file://{server}")
    report = pull(beta, "shared")
    # (beta's own main is unrelated to alpha's: the pull says so, and refuses nothing.)
    assert [(r.ref, r.status) for r in report.refs] == [("refs/heads/main", "unrelated")]


def _stolen_rotation(srv_dir: Path, store: Store) -> tuple[Path, str, str, NodeKey]:
    """alpha rotated and its server knows (the old key retired); a thief holding the old key
    file announces a rotation of it to the thief's own key. Returns the server, the forged
    announcement, the ref its chain is filed under, and the thief's key."""
    from mindgit.identity.rotation import RotationRecord, prove
    from mindgit.store import layout
    from mindgit.store.retired import RECORD_FILE
    from mindgit.store.rotations import PROOF_FILE

    populated(store)
    old = store.key
    rotate_key(store)
    server = make_server(srv_dir, store.trust.export())
    proc = push(store, str(server), "main", "refs/keys/*:refs/keys/*")
    assert proc.returncode == 0, proc.stderr
    thief = NodeKey.generate()
    record = RotationRecord(old.public, thief.public, store.name, ())
    repo = store.repo
    tb = repo.TreeBuilder()
    tb.insert(RECORD_FILE, repo.create_blob(record.to_bytes()), layout.BLOB)
    tb.insert(PROOF_FILE, repo.create_blob(prove(record, thief).encode()), layout.BLOB)
    forged = forge.commit_tree(repo, tb.write(), [], "keys: rotate alpha", old)
    git("--git-dir", str(store.path), "update-ref", "refs/forged", forged)
    return server, forged, "refs/keys/" + old.public.did.removeprefix("did:key:"), thief


def test_a_stolen_retired_key_announces_a_rotation_of_its_own(
    srv_dir: Path, store: Store, tmp_path: Path
) -> None:
    """Accepted, the forged chain reached every node pulling from the server, and one that had
    not yet seen alpha's real rotation then trusted the thief's key as alpha."""
    from mindgit.sync.peers import add_peer
    from mindgit.sync.pull import pull

    beta = init_store(tmp_path / "beta", "beta")
    beta.trust.add(store.public_key, "alpha")  # before alpha rotates
    server, forged, chain_ref, thief = _stolen_rotation(srv_dir, store)
    before = refs(server)
    proc = push(store, str(server), f"refs/forged:{chain_ref}")
    assert proc.returncode != 0, proc.stderr
    (line,) = refused_lines(proc)
    assert line == (
        f"mindgit: refused: {forged}: alpha.retired-1, a retired key, announces a rotation to "
        f"{thief.public.did}, a key not trusted here (only the rotation that retired it counts)"
    )
    # Elsewhere it was refused already: a rewind of the announcement ref, a chain misfiled.
    for target in ("refs/keys/announce", "refs/keys/" + thief.public.did[8:]):
        assert push(store, str(server), f"+refs/forged:{target}").returncode != 0
    assert refs(server) == before
    add_peer(beta, "shared", f"file://{server}")
    pull(beta, "shared")
    assert beta.trust.find(thief.public) is None


def test_the_gate_refuses_a_stolen_retired_key_s_rotation(srv_dir: Path, store: Store) -> None:
    """The gate itself (and so verify, and a pull from the thief) refuses it too."""
    from mindgit.sync.gate import RefUpdate, check_updates

    _, forged, chain_ref, thief = _stolen_rotation(srv_dir, store)
    problems = check_updates(
        store.repo, store.trust, [RefUpdate(chain_ref, None, forged)], old_accepted=False
    )
    assert [(p.commit, p.reason) for p in problems] == [
        (
            forged,
            f"alpha.retired-1, a retired key, announces a rotation to {thief.public.did}, a key "
            "not trusted here (only the rotation that retired it counts)",
        )
    ]


# ---- what mindgit itself writes is accepted ---------------------------------------------------


def test_everything_two_nodes_write_is_accepted(srv_dir: Path, tmp_path: Path) -> None:
    """Runs, a merge of two nodes' work, private thoughts sealed to the other node, a key
    rotation and the work signed after it: pushed by plain git, all accepted, and the server's
    refs are then what the nodes hold."""
    from mindgit.evolve.run import start_run
    from mindgit.merge.engine import merge
    from mindgit.store.generation import RunParams
    from mindgit.store.genome import Gene
    from mindgit.store.private import think_private
    from mindgit.sync.peers import add_peer
    from mindgit.sync.pull import pull

    alpha = init_store(tmp_path / "alpha", "alpha")
    beta = init_store(tmp_path / "beta", "beta")
    alpha.trust.add(beta.public_key, "beta")
    beta.trust.add(alpha.public_key, "alpha")
    alpha.set_genes([Gene.make("y", "float", 1.5, min=-5.12, max=5.12)])
    alpha.think("shared start")
    server = make_server(srv_dir, alpha.trust.export())
    everything = (
        "refs/heads/*:refs/heads/*",
        "refs/runs/*:refs/runs/*",
        "refs/fitness/*:refs/fitness/*",
        "refs/keys/*:refs/keys/*",
    )
    assert push(alpha, str(server), *everything).returncode == 0
    add_peer(beta, "shared", f"file://{server}")
    pull(beta, "shared", allow_rewind=True)
    git("--git-dir", str(beta.path), "update-ref", "refs/heads/main", alpha.head())
    # Both nodes work on main; alpha also evolves.
    think_private(alpha, "for beta only", (), ["beta"])
    start_run(alpha, str(RASTRIGIN), RunParams(population=4, generations=3, seed=5))
    beta.think("beta's idea")
    think_private(beta, "for alpha only", (), ["alpha"])
    assert push(alpha, str(server), *everything).returncode == 0
    # beta merges alpha's main into its own and pushes the merge.
    git("--git-dir", str(beta.path), "fetch", "-q", str(alpha.path), "main:refs/heads/from-alpha")
    out = merge(beta, "from-alpha")
    assert out.commit is not None
    assert len(beta.repo[out.commit].peel(pygit2.Commit).parent_ids) == 2
    proc = push(beta, str(server), "main")
    assert proc.returncode == 0, proc.stderr
    # alpha rotates its key, takes the merge and works on with the new key.
    rotate_key(alpha)
    git("--git-dir", str(alpha.path), "fetch", "-q", str(beta.path), "main:refs/heads/main")
    alpha.think("after the rotation")
    # The server follows the rotation its chain brings, as a pull does (docs/hooks.md).
    proc = push(alpha, str(server), *everything)
    assert proc.returncode == 0, proc.stderr
    local = {
        r: str(alpha.repo.references[r].resolve().target)
        for r in alpha.repo.references
        if r.startswith(("refs/runs/", "refs/fitness/", "refs/keys/")) or r == "refs/heads/main"
    }
    assert {r: o for r, o in refs(server).items() if r in local} == local
    fsck(server)


# ---- a client that does not say what the server holds -----------------------------------------


def _pkt(line: bytes) -> bytes:
    return b"%04x" % (len(line) + 4) + line


def raw_push(
    client: Path, server: Path, commands: list[tuple[str, str, str]], revs: list[str]
) -> tuple[str, str]:
    """Speak git's push protocol to the server's real ``git receive-pack`` by hand: the commands
    as given (old values included, whatever the server holds), then a pack of ``revs``. A stock
    ``git push`` always sends the old values the server advertised; a hostile client need not.
    Returns what receive-pack reported and what it (and its hooks) wrote on stderr."""
    pack = subprocess.run(
        ["git", "--git-dir", str(client), "pack-objects", "--stdout", "--revs", "-q"],
        input="\n".join(revs).encode() + b"\n",
        capture_output=True,
        check=True,
    ).stdout
    lines = [f"{old} {new} {ref}".encode() for old, new, ref in commands]
    lines[0] += b"\0report-status"
    request = b"".join(_pkt(line + b"\n") for line in lines) + b"0000" + pack
    proc = subprocess.Popen(
        ["git", "receive-pack", str(server)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate(request)
    # The advertisement, then the report: only the report's lines matter here.
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def test_an_old_value_the_server_does_not_hold_hides_nothing(server: Path, store: Store) -> None:
    """The hook is told each ref's old value by the client, and git checks it only when it
    moves that ref, after the hook. Claimed for a ref that then fails to move, a pushed commit
    as "old" once hid its history from the checks of every other ref of the push."""
    before = refs(server)
    main = store.head()
    bad = forge.unsigned(store, "main")
    out, err = raw_push(
        store.path,
        server,
        [(bad, bad, "refs/heads/main"), (ZERO, bad, "refs/heads/smuggled")],
        [bad, f"^{main}"],
    )
    assert "ok refs/heads/smuggled" not in out, out + err
    assert f"mindgit: refused: {bad}: refs/heads/main is at {main}, not {bad}" in err, err
    assert refs(server) == before


def test_the_update_hook_takes_no_claimed_old_value_either(srv_dir: Path, store: Store) -> None:
    server = make_server(srv_dir, store.trust.export(), name="per-ref.git", hooks=("update",))
    populated(store)
    assert push(store, str(server), "main").returncode == 0
    before = refs(server)
    main = store.head()
    bad = forge.unsigned(store, "main")
    good = signed_on(store, bad, "signed on top of an unsigned commit")
    out, err = raw_push(
        store.path,
        server,
        [(bad, good, "refs/heads/main"), (ZERO, bad, "refs/heads/smuggled")],
        [good, f"^{main}"],
    )
    assert "ok refs/heads/" not in out, out + err
    assert f"refs/heads/main is at {main}, not {bad}" in err, err
    assert f"mindgit: refused: {bad}: unsigned commit" in err, err
    assert refs(server) == before


def test_mindgit_push_passes_the_server_hook(srv_dir: Path, store: Store) -> None:
    """`mindgit push` to a gated server: experiments, runs, modules and the key chain (filed as
    refs/keys/<root>, not refs/keys/announce), each ref accepted."""
    from mindgit.evolve.run import start_run
    from mindgit.store.generation import RunParams
    from mindgit.store.genome import Gene
    from mindgit.sync.peers import add_peer
    from mindgit.sync.push import push as mindgit_push

    store.set_genes([Gene.make("y", "float", 1.5, min=-5.12, max=5.12)])
    start_run(store, str(RASTRIGIN), RunParams(population=4, generations=2, seed=2))
    root = store.key
    rotate_key(store)
    store.think("signed by the new key")
    server = make_server(srv_dir, store.trust.export())
    add_peer(store, "shared", f"file://{server}")
    report = mindgit_push(store, "shared")
    held = refs(server)
    assert any(r.startswith("refs/runs/") for r in held), held
    assert any(r.startswith("refs/fitness/") for r in held), held
    assert [r for r in held if r.startswith("refs/keys/")] == [
        "refs/keys/" + root.public.did.removeprefix("did:key:")
    ], report
    assert held["refs/heads/main"] == store.head()


# ---- a good signature over a commit changed after signing -------------------------------------


@pytest.mark.parametrize(
    "tamper",
    ["message", "parent", "header-after-signing", "second-signature", "no-trailing-newline"],
)
def test_a_signed_commit_changed_after_signing(server: Path, store: Store, tamper: str) -> None:
    from mindgit.identity.gitsig import add_gpgsig
    from mindgit.identity.sshsig import sign

    head = store.head()
    tree = forge.thought_tree(store, "as signed", head)
    who = f"alpha <{store.public_key.did}> 1700000000 +0000"
    payload = f"tree {tree}\nparent {head}\nauthor {who}\ncommitter {who}\n\nthink\n".encode()
    signature = sign(store.key, payload)
    raw = add_gpgsig(payload, signature)
    if tamper == "message":
        raw = raw.replace(b"\n\nthink\n", b"\n\nthink harder\n")
    elif tamper == "parent":
        grand = str(store.repo[head].peel(pygit2.Commit).parent_ids[0])
        raw = raw.replace(f"parent {head}".encode(), f"parent {grand}".encode())
    elif tamper == "header-after-signing":
        raw = raw.replace(b"\n\nthink\n", b"\nencoding ISO-8859-1\n\nthink\n")
    elif tamper == "second-signature":
        # A stranger's signature header added beside the good one.
        other = add_gpgsig(payload, sign(NodeKey.generate(), payload))
        headers = payload.split(b"\n\n", 1)[0] + b"\n"
        block = other[len(headers) : other.index(b"\n\nthink\n") + 1]
        raw = raw.replace(b"\n\nthink\n", b"\n" + block + b"\nthink\n")
    else:
        raw = raw.removesuffix(b"\n")
    bad = str(store.repo.odb.write(pygit2.enums.ObjectType.COMMIT, raw))
    # A new ref, so that no rewind is in the way: only the signature can refuse it.
    (line,) = attack(store, server, bad, ref="tampered")
    assert line.startswith(f"mindgit: refused: {bad}: bad signature: "), line
