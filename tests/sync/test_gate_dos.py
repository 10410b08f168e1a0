"""A push (or a peer's offer) of a few MB must not hold a server's pre-receive hook, or a pull,
for minutes, nor make it hold far more memory than the push: each test pushes at a real gated
bare repository, under a subprocess timeout, so a regression fails instead of hanging.

Bounds here are generous (no test compares timings): each attack took many times them before
its fix.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest
import wasmtime

from mindgit.identity.gitsig import add_gpgsig
from mindgit.identity.keys import NodeKey
from mindgit.identity.sshsig import sign
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, RAW
from mindgit.store.fitness_store import fitness_node
from mindgit.store.repository import Store
from mindgit.sync import gate
from mindgit.sync.gate import oversized_commits
from mindgit.sync.pull import pull
from tests.sync import forge
from tests.sync.conftest import Nodes
from tests.sync.test_hooks_server import refs

# Far above what each attack takes with its fix, far below what it took without.
BOUND = 60


def push_within(store: Store, server: Path, *specs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "--git-dir", str(store.path), "push", str(server), *specs],
        capture_output=True,
        text=True,
        timeout=BOUND,
    )


def hook_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [
        line.removeprefix("remote: ").rstrip()
        for line in proc.stderr.splitlines()
        if line.startswith("remote: mindgit: ")
    ]


def refused(store: Store, server: Path, *specs: str) -> list[str]:
    """Push ``specs``: the hook must refuse in named lines (no internal error), nothing moved."""
    before = refs(server)
    proc = push_within(store, server, *specs)
    assert proc.returncode != 0, proc.stderr
    assert "pre-receive hook declined" in proc.stderr, proc.stderr
    assert refs(server) == before
    lines = hook_lines(proc)
    assert lines and all(line.startswith("mindgit: refused: ") for line in lines), proc.stderr
    return lines


def module(i: int, instructions: int) -> bytes:
    """A wasm module whose compile costs ~1 s a MB (a straight line of additions), which zlib
    packs ~600:1; ``i`` makes each one's bytes its own."""
    body = f" (local.set $a (i64.add (local.get $a) (i64.const {i})))" * instructions
    text = f'(module (memory (export "memory") 1) (func (export "f") (local $a i64){body}))'
    return bytes(wasmtime.wat2wasm(text))


def fitness_tree(repo: pygit2.Repository, wasm: bytes) -> pygit2.Oid:
    tb = repo.TreeBuilder()
    node = fitness_node(CID.of(wasm, RAW), "m")
    tb.insert("fitness.json", repo.create_blob(dagjson.encode(node)), pygit2.GIT_FILEMODE_BLOB)
    tb.insert("module.wasm", repo.create_blob(wasm), pygit2.GIT_FILEMODE_BLOB)
    tree: pygit2.Oid = tb.write()
    return tree


def module_chain(store: Store, count: int, instructions: int) -> str:
    parents: list[str] = []
    for i in range(count):
        tree = fitness_tree(store.repo, module(i, instructions))
        parents = [forge.commit_tree(store.repo, tree, parents, "fitness: m", None)]
    return parents[0]


def test_unsigned_modules_are_refused_without_being_compiled(server: Path, store: Store) -> None:
    # Each module was compiled in the sandbox though no trusted key signed its commit: 40
    # modules of 700 KB (a 60 KB push) held the hook ~50 s, and a push of a few MB for hours.
    tip = module_chain(store, 40, 100_000)
    lines = refused(store, server, f"{tip}:refs/fitness/m")
    assert lines[0].endswith(": unsigned commit"), lines
    assert not [line for line in lines if "module.wasm" in line or "sandbox" in line], lines


def test_an_unsigned_commits_tree_is_not_read(server: Path, store: Store) -> None:
    # Its content is whoever pushed it's to choose: only "unsigned" is said of it.
    head = store.head()
    bad = forge.commit_tree(store.repo, forge.thought_tree(store, "x", head), [head], "t", None)
    blob = store.repo.create_blob(b"not a manifest")
    tb = store.repo.TreeBuilder(store.repo[bad].tree)
    tb.insert("manifest.json", blob, pygit2.GIT_FILEMODE_BLOB)
    tip = forge.commit_tree(store.repo, tb.write(), [bad], "t", None)
    lines = refused(store, server, f"{tip}:refs/heads/main")
    assert [line.split(": ", 3)[3] for line in lines] == ["unsigned commit"] * 2, lines


def huge_commit(store: Store, size: int) -> str:
    head = store.head()
    tree = store.repo[head].tree.id
    body = b"tree %s\nparent %s\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n\n" % (
        str(tree).encode(),
        head.encode(),
    )
    return str(store.repo.odb.write(pygit2.enums.ObjectType.COMMIT, body + b"x" * size + b"\n"))


# Peak memory of the process that runs it, as Linux counts it for this program alone (ru_maxrss
# would count what the parent held when it forked).
PEAK = (
    "def peak_kb():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM:'):\n"
    "            return int(line.split()[1])\n"
)


def run_hook(server: Path, line: str) -> tuple[list[str], int]:
    """Run the hook's command by hand (its objects already in the server), from a small
    process of its own: the lines it prints and its peak memory in kB."""
    code = (
        "import os, subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-m', 'mindgit', 'hook', 'pre-receive'],"
        " stdin=subprocess.PIPE)\n"
        "p.stdin.write(sys.argv[1].encode())\n"
        "p.stdin.close()\n"
        "_, _, usage = os.wait4(p.pid, 0)\n"
        "print(usage.ru_maxrss, file=sys.stderr)\n"
    )
    env = dict(os.environ, GIT_DIR=str(server))
    proc = subprocess.run(
        [sys.executable, "-c", code, line],
        capture_output=True,
        text=True,
        timeout=BOUND,
        env=env,
        check=True,
    )
    *said, peak = proc.stderr.splitlines()
    return [line for line in proc.stdout.splitlines() + said if line], int(peak)


def test_a_commit_far_over_the_limit_is_never_read(server: Path, store: Store) -> None:
    # libgit2's ancestry check and walk read each new commit whole before the gate sized any:
    # a 400 MB commit (a 400 KB push) took 860 MB of the hook's memory and 5 s; 200 MB here.
    big = huge_commit(store, 200 << 20)
    old = refs(server)["refs/heads/main"]
    hooks = server / "hooks"
    os.rename(hooks / "pre-receive", server / "pre-receive.off")
    try:
        stored = push_within(store, server, f"{big}:refs/heads/parked")
        assert stored.returncode == 0, stored.stderr
    finally:
        os.rename(server / "pre-receive.off", hooks / "pre-receive")
    subprocess.run(
        ["git", "--git-dir", str(server), "update-ref", "-d", "refs/heads/parked"], check=True
    )
    lines, peak_kb = run_hook(server, f"{old} {big} refs/heads/main\n")
    size = store.repo.odb.read_header(pygit2.Oid(hex=big))[1]
    assert lines == [
        f"mindgit: refused: {big}: commit {big} is {size} bytes, over the 33554432-byte limit"
    ], lines
    assert peak_kb < 150_000, peak_kb


def test_a_pull_never_reads_a_commit_far_over_the_limit(pair: Nodes) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.think("one")
    pull(alpha, "beta")
    forge.point(beta, "main", huge_commit(beta, 200 << 20))
    code = PEAK + (
        "import sys\n"
        "from mindgit.store.repository import open_store\n"
        "from mindgit.sync.pull import pull\n"
        "try:\n"
        "    pull(open_store(sys.argv[1]), 'beta')\n"
        "except Exception as e:\n"
        "    print(type(e).__name__, e)\n"
        "print(peak_kb())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(alpha.path)],
        capture_output=True,
        text=True,
        timeout=BOUND,
        check=True,
    )
    said, peak = proc.stdout.splitlines()
    assert said.startswith("PullRejected") and "over the 33554432-byte limit" in said, said
    assert int(peak) < 150_000, (said, peak)


def raw_commit(store: Store, parents: list[str], message: bytes, when: int) -> str:
    head = store.repo[store.head()]
    lines = [b"tree %s" % str(head.tree.id).encode()]
    lines += [b"parent %s" % p.encode() for p in parents]
    lines += [b"author a <a@b> %d +0000" % when, b"committer a <a@b> %d +0000" % when]
    data = b"\n".join(lines) + b"\n\n" + message + b"\n"
    return str(store.repo.odb.write(pygit2.enums.ObjectType.COMMIT, data))


def test_new_commits_are_sized_down_to_the_accepted_history(store: Store) -> None:
    # Sized with a 1000-byte limit: the new commits below a fork of an older state, wherever
    # their dates put them, and none of the accepted ones (sized when they came).
    base = store.head()
    accepted_big = raw_commit(store, [base], b"y" * 2000, 10)
    head = raw_commit(store, [accepted_big], b"head", 20)
    small = raw_commit(store, [accepted_big], b"small", 5)
    big = raw_commit(store, [small], b"x" * 2000, 30)
    tip = raw_commit(store, [big, head], b"merge", 1)
    assert [p.commit for p in oversized_commits(store.repo, [tip], [head], 1000)] == [big]
    assert oversized_commits(store.repo, [head], [head], 1000) == []
    assert {p.commit for p in oversized_commits(store.repo, [tip], [], 1000)} == {
        big,
        accepted_big,
    }


def test_a_push_may_not_leave_more_refs_than_a_pull_takes(server: Path, store: Store) -> None:
    # 2100 new refs to the commit main already holds needed no key, and made every pull from
    # the server refuse it whole (TooManyRefs: over 2000 refs offered).
    from mindgit.sync.pull import MAX_REFS

    head = refs(server)["refs/heads/main"]
    specs = [f"{head}:refs/heads/spam{i}" for i in range(MAX_REFS)]
    (line,) = refused(store, server, *specs)
    assert f"would leave {MAX_REFS + 1} refs" in line and f"over the {MAX_REFS}" in line, line
    # Up to the limit is accepted.
    accepted = push_within(store, server, *specs[:-1])
    assert accepted.returncode == 0, accepted.stderr
    assert len(refs(server)) == MAX_REFS


def test_an_integer_of_thousands_of_digits_is_quoted_briefly() -> None:
    # A block holding one (4,000 digits: Python reads it) was refused in a line quoting it whole.
    from mindgit.ipld.dagjson import DagJsonDecodeError

    try:
        dagjson.decode(b"[" + b"9" * 4000 + b"]")
    except DagJsonDecodeError as e:
        assert "(4000 digits) is outside" in str(e) and len(str(e)) < 200, str(e)[:300]
    else:
        raise AssertionError("decoded")


def nested_loops(depth: int) -> bytes:
    """A module whose compile time grows with the square of ``depth`` (wasmtime 5,000: ~4 s
    in 35 KB, which zlib packs into ~130 bytes)."""
    loops = "(loop (br_if 0 (local.get 0)) " * depth + ")" * depth
    text = f'(module (memory (export "memory") 1) (func (export "f") (param i32) {loops}))'
    return bytes(wasmtime.wat2wasm(text))


def test_a_module_that_compiles_for_too_long_is_refused_at_the_budget(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trusted key's module of 20,000 nested loops (140 KB, a push of ~200 bytes) held a
    # hook or a pull ~70 s; 100,000 for hours. The budget is 60 s; 0.05 s here, on a module
    # that took ~4 s: a machine 80 times faster would still not compile it within the budget.
    monkeypatch.setattr(gate, "MODULE_COMPILE_SECONDS", 0.05)
    tip = forge.commit_tree(
        store.repo, fitness_tree(store.repo, nested_loops(5000)), [], "fitness: m", store.key
    )
    problems = gate.check_update(store.repo, store.trust, "refs/fitness/m", None, tip)
    assert [p.reason for p in problems] == [
        "the fitness module is refused: it did not compile within 0.05 s, "
        "the time one check may spend compiling modules"
    ]


def test_a_tree_of_countless_bad_names_is_refused_after_the_first_thousand(
    server: Path, store: Store
) -> None:
    # Every name was refused, each a problem held in memory: ten trees of 200,000 names (a
    # 5 MB push) took 820 MB of the hook's memory and 23 s; 150,000 names in two trees here.
    # Signed by the trusted key: no other commit's tree is read at all.
    blob = store.repo.create_blob(b"x")
    parents = [store.head()]
    for t in range(2):
        names = (b"100644 a/%07d\0" % i + blob.raw for i in range(t, 75_000 + t))
        tree = store.repo.odb.write(pygit2.enums.ObjectType.TREE, b"".join(names))
        parents = [forge.commit_tree(store.repo, tree, parents, "t", store.key)]
    lines = refused(store, server, f"{parents[0]}:refs/heads/main")
    assert len(lines) == 21 and "contains a path separator" in lines[0], lines[:3]
    assert lines[-1] == "mindgit: refused: ... and at least 980 more problem(s)", lines[-1]


def test_one_trees_problems_are_named_up_to_a_thousand(store: Store) -> None:
    # A thoughts tree of 900,000 entries no manifest links made as many problems of one commit
    # (300 MB of them); verify names the first thousand too.
    from mindgit.store.verify import MAX_TREE_PROBLEMS, verify_commits

    head = store.head()
    blob = store.repo.create_blob(b"x")
    names = b"".join(b"100644 b%07d\0" % i + blob.raw for i in range(3 * MAX_TREE_PROBLEMS))
    thoughts = store.repo.odb.write(pygit2.enums.ObjectType.TREE, names)
    tb = store.repo.TreeBuilder(store.repo[head].tree)
    tb.insert("thoughts", thoughts, pygit2.GIT_FILEMODE_TREE)
    tip = forge.commit_tree(store.repo, tb.write(), [head], "t", store.key)
    report = verify_commits(store.repo, store.trust, [tip], [head])
    assert len(report.problems) == MAX_TREE_PROBLEMS
    assert report.problems[0].reason == "not linked from the manifest"


def test_deep_trees_and_long_names_are_named_briefly(store: Store) -> None:
    # Each tree's path was its parent's and one more name: 100,000 trees nested (3 MB of
    # push) cost 16 s in building paths of up to 1.1 million characters (4 s now), and a name
    # of 64 KB (libgit2 reads no longer one) was quoted whole, twice, in its problem. Signed
    # by the trusted key: no other commit's tree is read at all.
    repo = store.repo
    blob = repo.create_blob(b"x")
    name = b".git" + b"." * 60_000
    tree = repo.odb.write(pygit2.enums.ObjectType.TREE, b"100644 " + name + b"\0" + blob.raw)
    for _ in range(5000):
        tree = repo.odb.write(
            pygit2.enums.ObjectType.TREE, b"40000 " + b"d" * 50 + b"\0" + tree.raw
        )
    tip = forge.commit_tree(repo, tree, [], "t", store.key)
    problems = gate.check_commits(repo, store.trust, [tip], workers=1)
    (named,) = [p for p in problems if "names a git directory" in p.reason]
    assert named.object is not None and len(named.object) <= 300, len(named.object or "")
    assert named.object.startswith("...dddd") and "d/.git...." in named.object
    assert len(named.reason) < 200 and "(60004 bytes)" in named.reason, named.reason[:300]


def commit_of(
    repo: pygit2.Repository, tree: str, parents: list[str], key: NodeKey | None, when: int = 1
) -> str:
    """A commit of ``tree``, which need not exist nor be readable, unsigned or signed by ``key``."""
    lines = [b"tree " + tree.encode()] + [b"parent " + p.encode() for p in parents]
    lines += [b"author a <a@b> %d +0000" % when, b"committer a <a@b> %d +0000" % when]
    body = b"\n".join(lines) + b"\n\nt\n"
    if key is not None:
        body = add_gpgsig(body, sign(key, body))
    return str(repo.odb.write(pygit2.enums.ObjectType.COMMIT, body))


def corrupt_object(repo: pygit2.Repository) -> str:
    """The id of a loose object whose file holds no zlib stream: any read of it fails."""
    oid = "2" * 40
    folder = Path(repo.path) / "objects" / oid[:2]
    folder.mkdir(exist_ok=True)
    (folder / oid[2:]).write_bytes(b"not zlib at all")
    return oid


def test_an_untrusted_push_is_refused_without_its_trees_being_read(
    server: Path, store: Store
) -> None:
    # The gate sized every object and read every tree of a push before it looked at one
    # signature: anyone who could push made the server walk all the trees they sent, and a
    # tree holding an object over the limit was refused for that, not for its signature. Now
    # a commit no trusted key signed is named for that alone; the same tree under the trusted
    # key is read and its problems named.
    subprocess.run(
        ["git", "--git-dir", str(server), "config", "mindgit.maxObjectBytes", "64k"], check=True
    )
    big = store.repo.create_blob(os.urandom(100_000))
    tree = store.repo.odb.write(pygit2.enums.ObjectType.TREE, b"100644 ..\0" + big.raw)
    stranger = NodeKey.generate()
    for key, said in ((None, "unsigned commit"), (stranger, "signed by untrusted key ")):
        tip = forge.commit_tree(store.repo, tree, [store.head()], "t", key)
        lines = refused(store, server, f"{tip}:refs/heads/main")
        assert len(lines) == 1 and lines[0].startswith(f"mindgit: refused: {tip}: {said}"), lines
    tip = forge.commit_tree(store.repo, tree, [store.head()], "t", store.key)
    reasons = [line.split(": ", 3)[3] for line in refused(store, server, f"{tip}:refs/heads/main")]
    assert reasons == [
        "tree entry name '..' would escape its directory",
        f"blob {big} is 100000 bytes, over the 65536-byte limit",
    ], reasons


def test_an_untrusted_commits_tree_is_never_read(store: Store) -> None:
    # Proved with trees no read could pass unnoticed: one absent, one whose file is no object
    # at all. Under a commit no trusted key signed, nothing is said of either; under the
    # trusted key's, each is named.
    head = store.head()
    absent, corrupt = "1" * 40, corrupt_object(store.repo)
    stranger = NodeKey.generate()
    for tree in (absent, corrupt):
        for key, said in ((None, "unsigned commit"), (stranger, "signed by untrusted key ")):
            tip = commit_of(store.repo, tree, [head], key)
            problems = gate.check_update(store.repo, store.trust, "refs/heads/main", head, tip)
            assert len(problems) == 1 and problems[0].reason.startswith(said), problems
            assert problems[0].commit == tip and problems[0].object is None
        tip = commit_of(store.repo, tree, [head], store.key)
        problems = gate.check_update(store.repo, store.trust, "refs/heads/main", head, tip)
        assert problems and all(p.commit == tip for p in problems), problems
        assert f"tree {tree} is missing" in [p.reason for p in problems], problems


def test_untrusted_commits_in_either_half_are_named_alike_in_one_or_two_processes(
    store: Store,
) -> None:
    # Commits no trusted key signed, with trees no read could pass, in the first process's
    # share and in the worker's, between the trusted key's commits (one with a bad name):
    # each process leaves those trees unread, and two name what one names.
    head = store.head()
    stranger = NodeKey.generate()
    bad_name = forge.hostile_name(store, store.current, store.key, b"..")
    trusted_tree = str(store.repo[head].peel(pygit2.Tree).id)
    plan = [
        ("1" * 40, None),
        (trusted_tree, store.key),
        (corrupt_object(store.repo), stranger),
        (str(store.repo[bad_name].peel(pygit2.Tree).id), store.key),
        ("3" * 40, stranger),
        (trusted_tree, store.key),
    ]
    parents = [head]
    made = []
    for when, (tree, key) in enumerate(plan, start=2):
        parents = [commit_of(store.repo, tree, parents, key, when)]
        made.append(parents[0])
    one = gate.check_commits(store.repo, store.trust, parents, [head], workers=1)
    two = gate.check_commits(store.repo, store.trust, parents, [head], workers=2)
    assert two == one
    assert [(made.index(p.commit), p.reason.split(" did:")[0]) for p in one] == [
        (3, "tree entry name '..' would escape its directory"),
        (0, "unsigned commit"),
        (2, "signed by untrusted key"),
        (3, "not linked from the manifest"),
        (4, "signed by untrusted key"),
    ], one
