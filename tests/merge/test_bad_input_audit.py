"""An adversarial audit of `mindgit merge` and the git merge driver.

Every refusal is one line on stderr, exit 2 for a command line that cannot be right and exit 1
for a merge that failed, and leaves the store exactly as it was: every file's path, mode and
bytes (the compiled-module cache included) are compared before and after. Then the driver
under stock `git merge` and given garbage, and properties of the merge: merging a state with
itself changes nothing, every pattern of the result is one side's, and the driver writes the
bytes the library computes.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.identity.keys import NodeKey
from mindgit.ipld.cid import CID
from mindgit.merge import (
    BadConfigValue,
    MergeIntoItself,
    ModuleScorer,
    NotAState,
    merge,
    merge_states,
    plan_merge,
)
from mindgit.merge.gitdriver import MalformedManifest, merge_files
from mindgit.sandbox import FitnessModule
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene, Genome
from mindgit.store.private import seal_note
from mindgit.store.repository import HeadDetached, Store
from mindgit.store.state import Block, State, make_thought
from mindgit.store.verify import MAX_BLOB_BYTES
from tests.conftest import Mg, git, read_only_mount_works
from tests.merge.conftest import HOSTILE, RASTRIGIN, diverge, x
from tests.merge.test_gitdriver import clone, git_merge
from tests.snapshots import changed, snapshot

# ---- helpers -----------------------------------------------------------------------------------


def one_error_line(code: int, err: str, exit_code: int) -> None:
    assert code == exit_code, f"exit {code}: {err}"
    assert err.startswith("mindgit: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err, err


def conflicting(store: Store) -> Store:
    """``main`` and ``dreamer`` both changed x0 from 3.0: one conflict."""
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    return store


def detach(store: Store) -> str:
    """Point the store's HEAD at main's commit, as `git checkout --detach` would."""
    head = store.head("main")
    git("--git-dir", str(store.path), "update-ref", "--no-deref", "HEAD", head)
    return head


# ---- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([""], "THEIRS is empty"),
        (["  "], "THEIRS is empty"),
        (["dreamer", "--into", ""], "--into '' is not an experiment name"),
        (["dreamer", "--into", "a..b"], "--into 'a..b' is not an experiment name"),
        (["dreamer", "--into", "HEAD"], "--into 'HEAD' is not an experiment name"),
        (["dreamer", "--into", "-x"], "--into '-x' is not an experiment name"),
        # An empty path was read as the working directory: "cannot read fitness module .".
        (["dreamer", "--fitness", ""], "--fitness is empty"),
        (["dreamer", "--fitness", " "], "--fitness is empty"),
    ],
)
def test_a_command_line_that_cannot_be_right_exits_2_and_changes_nothing(
    rastrigin: Store, mg: Mg, args: list[str], says: str
) -> None:
    store = conflicting(rastrigin)
    before = snapshot(store.path)
    for extra in ([], ["--dry-run"]):
        r = mg("--store", str(store.path), "merge", *args, *extra)
        one_error_line(r.code, r.err, 2)
        assert says in r.err and r.out == "", r.err
        r = mg("--store", str(store.path), "merge", *args, *extra, "--json")
        # A name no experiment can have reports its own type, as for fork, switch and -e.
        kind = "RefError" if "--into" in args else "UsageError"
        assert r.code == 2 and json.loads(r.out)["type"] == kind
    assert changed(before, store.path) == []


def test_a_command_line_that_cannot_be_right_is_refused_before_the_store_is_read(
    mg: Mg, tmp_path: Path
) -> None:
    nowhere = tmp_path / "nowhere"
    r = mg("--store", str(nowhere), "merge", "dreamer", "--into", "a..b")
    one_error_line(r.code, r.err, 2)
    assert not nowhere.exists()


def test_a_detached_head_is_refused_naming_into_and_head_merges_as_a_commit(
    rastrigin: Store, mg: Mg
) -> None:
    # HEAD set to a commit by stock git. Merging into it is refused (a commit only HEAD holds
    # would be lost at the next switch), saying how to name the experiment; `merge HEAD --into
    # EXP` merges the detached commit. That used to fail too: checking whether HEAD was the
    # experiment merged into read the current experiment, which a detached HEAD has not.
    store = conflicting(rastrigin)
    detached = detach(store)
    store.set_genes([x("x0", 2.0)], experiment="main")  # main moves on; HEAD stays behind
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "merge", "dreamer", "--fitness", "rastrigin")
    one_error_line(r.code, r.err, 1)
    assert "HEAD is detached" in r.err and "--into EXP" in r.err
    assert changed(before, store.path) == []
    with pytest.raises(HeadDetached):
        plan_merge(store, "dreamer", fitness="rastrigin")

    r = mg(
        "--store", str(store.path), "merge", "HEAD", "--into", "dreamer", "--fitness", "rastrigin"
    )
    assert r.code == 0, r.err
    merged = store.repo[store.head("dreamer")].peel(pygit2.Commit)
    assert [str(p) for p in merged.parent_ids][1] == detached
    # Merging main into itself is still refused when named as HEAD only if HEAD is main.
    git("--git-dir", str(store.path), "symbolic-ref", "HEAD", "refs/heads/main")
    with pytest.raises(MergeIntoItself):
        plan_merge(store, "HEAD", into="main")


def test_a_damaged_head_does_not_stop_a_merge_that_names_its_experiment(
    rastrigin: Store,
) -> None:
    store = conflicting(rastrigin)
    (store.path / "HEAD").write_text("ref: refs/heads/a..b\n")
    out = merge(store, "dreamer", into="main", fitness="rastrigin", dry_run=True)
    assert [d.winner for d in out.decisions] == ["theirs"]


def test_up_to_date_and_dry_runs_change_no_byte_and_a_fast_forward_only_the_ref(
    store: Store, mg: Mg
) -> None:
    store.fork("dreamer", switch=False)
    store.think("ahead", experiment="dreamer")
    before = snapshot(store.path)
    for args in (["dreamer", "--dry-run"], ["main~0"], [store.head("main")], ["dreamer~1"]):
        r = mg("--store", str(store.path), "merge", *args)
        assert r.code == 0, r.err
        assert changed(before, store.path) == [], args
    r = mg("--store", str(store.path), "merge", "dreamer")
    assert r.code == 0 and "fast-forward" in r.err
    assert changed(before, store.path) == ["logs/refs/heads/main", "refs/heads/main"]
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "merge", "dreamer")
    assert r.code == 0 and "already up to date" in r.err
    assert changed(before, store.path) == []


def run_of(store: Store) -> str:
    start_run(store, "rastrigin", RunParams(population=4, generations=1, seed=1))
    (run,) = (r for r in store.repo.references if r.startswith("refs/runs/"))
    return str(run)


def test_a_run_a_module_or_a_bare_commit_named_to_merge_is_not_a_state(
    rastrigin: Store, mg: Mg
) -> None:
    # A run's generation commit descends from the experiment it ran on: named by its ref, it
    # was "tree ... holds no manifest.json", which says nothing of what went wrong.
    store = conflicting(rastrigin)
    run = run_of(store)
    empty_tree = git("--git-dir", str(store.path), "hash-object", "-t", "tree", "-w", "/dev/null")
    bare = git(
        "--git-dir",
        str(store.path),
        "commit-tree",
        "-p",
        store.head(),
        "-m",
        "x",
        empty_tree.strip(),
    ).strip()
    before = snapshot(store.path)
    for rev, says in [
        (run, "is a generation of a `mindgit evolve` run, not a mind state"),
        (run.removeprefix("refs/"), "is a generation of a `mindgit evolve` run"),
        ("refs/fitness/rastrigin", "is a fitness module, not a mind state"),
        (bare, "is a commit whose tree holds no manifest.json"),
    ]:
        for extra in ([], ["--dry-run"], ["--fitness", "rastrigin"]):
            r = mg("--store", str(store.path), "merge", rev, *extra)
            one_error_line(r.code, r.err, 1)
            assert says in r.err, r.err
        with pytest.raises(NotAState):
            plan_merge(store, rev)
    assert changed(before, store.path) == []


def test_a_run_a_module_or_a_bare_commit_named_to_fork_is_not_a_state(
    rastrigin: Store, mg: Mg
) -> None:
    """`fork f --from refs/fitness/NAME` made an experiment that held no state (exit 0), and
    `show f` then failed: "tree ... holds no manifest.json"."""
    store = conflicting(rastrigin)
    run = run_of(store)
    empty_tree = git("--git-dir", str(store.path), "hash-object", "-t", "tree", "-w", "/dev/null")
    bare = git("--git-dir", str(store.path), "commit-tree", "-m", "x", empty_tree.strip()).strip()
    before = snapshot(store.path)
    for rev, says, hint in [
        (
            run,
            "is a generation of a `mindgit evolve` run, not a mind state",
            "fork that experiment",
        ),
        ("refs/fitness/rastrigin", "is a fitness module, not a mind state", "fork an experiment"),
        (bare, "is a commit whose tree holds no manifest.json", "one of its commits"),
    ]:
        for extra in ([], ["--no-switch"]):
            r = mg("--store", str(store.path), "fork", "f", "--from", rev, *extra)
            one_error_line(r.code, r.err, 1)
            assert says in r.err and hint in r.err, r.err
        with pytest.raises(NotAState):
            store.fork("f", start=rev)
    assert changed(before, store.path) == []
    assert mg("--store", str(store.path), "fork", "f", "--from", "main").code == 0


@pytest.mark.parametrize("setting", ["lots", "0", "-5", "12 apples"])
@pytest.mark.parametrize("key", ["mindgit.fuel", "mindgit.memory"])
def test_a_bad_size_in_the_config_is_bad_data_exit_1(
    rastrigin: Store, mg: Mg, key: str, setting: str
) -> None:
    # Read from the config, parse_size's usage error (exit 2, for a value typed on the command
    # line) stood for bad data in a file.
    store = conflicting(rastrigin)
    git("--git-dir", str(store.path), "config", key, setting)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "merge", "dreamer", "--fitness", "rastrigin")
    one_error_line(r.code, r.err, 1)
    assert f"config {key} = {setting!r}" in r.err
    r = mg("--store", str(store.path), "merge", "dreamer", "--fitness", "rastrigin", "--json")
    assert r.code == 1 and json.loads(r.out)["type"] == "BadConfigValue"
    with pytest.raises(BadConfigValue):
        plan_merge(store, "dreamer", fitness="rastrigin")
    assert changed(before, store.path) == []


def test_a_module_that_fails_on_one_side_only_keeps_the_other(store: Store) -> None:
    # selective.wat scores the first gene, traps below 0 and returns NaN at 0.
    add_fitness(store, HOSTILE / "selective.wat", name="selective")
    diverge(store, ours=[x("x0", 5.0)], theirs=[x("x0", -1.0)], start=[x("x0", 3.0)])
    out = merge(store, "dreamer", fitness="selective")
    (decision,) = out.decisions
    assert decision.winner == "ours" and dict(decision.scores) == {"ours": 5.0, "theirs": None}
    assert out.commit is not None
    body = str(store.repo[out.commit].peel(pygit2.Commit).message)
    assert "Mindgit-Merge-Pattern: x0 ours=5.0 theirs=failed winner=ours" in body.splitlines()
    # Now ours traps and theirs scores: theirs is kept.
    store.set_genes([x("x0", 0.5)], experiment="dreamer")
    store.set_genes([x("x0", -2.0)])
    out = merge(store, "dreamer", fitness="selective")
    assert [(d.winner, d.scores["ours"]) for d in out.decisions] == [("theirs", None)]


def test_a_module_that_fails_on_both_sides_changes_nothing(store: Store, mg: Mg) -> None:
    # Ours traps, theirs scores NaN.
    add_fitness(store, HOSTILE / "selective.wat", name="selective")
    diverge(store, ours=[x("x0", -1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 3.0)])
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "merge", "dreamer", "--fitness", "selective")
    one_error_line(r.code, r.err, 1)
    assert "failed on all 2 candidate merge(s)" in r.err
    assert changed(before, store.path) == []


def test_thoughts_both_sides_removed_or_added_and_sealed_ones(store: Store) -> None:
    _, shared = store.think("shared")
    _, kept = store.think("kept")
    store.fork("dreamer", switch=False)
    for exp in ("main", "dreamer"):
        store.forget(shared, experiment=exp)  # both removed it
        store.think("both added this", experiment=exp)
    store.forget(kept, experiment="dreamer")  # theirs removed it, ours did not touch it
    _, ours_only = store.think("ours only")
    sealed = seal_note("for a stranger", [], [NodeKey.generate().public])  # alpha cannot open it
    store.update(
        lambda s: (s.with_thoughts(s.thoughts | {sealed.cid}), {sealed.cid: sealed.data}),
        "an opaque thought",
        experiment="dreamer",
    )
    both = make_thought("both added this").cid
    out = merge(store, "dreamer")
    assert store.state().thoughts == {both, ours_only, sealed.cid}
    assert out.thoughts_added == (sealed.cid,) and out.thoughts_removed == (kept,)
    assert store.thought(sealed.cid) == sealed.data


@pytest.mark.parametrize(
    "theirs",
    [
        Gene.make("x0", "float", 1.0, min=-2.0, max=2.0),  # same value, other bounds
        Gene.make("x0", "int", 1, min=-5, max=5),  # same number, another type
        Gene.make("x0", "floats", (1.0,)),
        Gene.make("x0", "bool", True),  # its vector value is 1.0 too
    ],
)
def test_genes_that_differ_only_in_type_or_bounds_tie_and_keep_ours_whole(
    rastrigin: Store, theirs: Gene
) -> None:
    # Every candidate scores the same vector; the tie keeps ours, the whole gene (type and
    # bounds), never a mix of the two sides.
    store = rastrigin
    ours = Gene.make("x0", "float", 1.0, min=-5.12, max=5.12)
    diverge(store, ours=[ours], theirs=[theirs], start=[x("x0", 3.0)])
    out = merge(store, "dreamer", fitness="rastrigin")
    (decision,) = out.decisions
    assert decision.winner == "ours" and decision.scores["ours"] == decision.scores["theirs"]
    assert store.state().genome.genes == (ours,)


def test_a_path_that_is_not_a_store_is_refused_and_left_alone(mg: Mg, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("not a store")
    git("init", "-q", "--bare", str(tmp_path / "bare"))  # a git repository, not a store
    before = snapshot(tmp_path)
    for where in ("plain", "bare", "missing"):
        r = mg("--store", str(tmp_path / where), "merge", "dreamer")
        one_error_line(r.code, r.err, 1)
        # A missing path is said to be missing (21d8828), the others not to be a store.
        said = "does not exist" if where == "missing" else "not a mindgit store"
        assert said in r.err, r.err
    assert changed(before, tmp_path) == []


@pytest.mark.skipif(
    not read_only_mount_works(),
    reason="needs root and unshare to mount the store read-only (root ignores file modes)",
)
def test_a_read_only_store_refuses_the_merge_and_still_plans_it(rastrigin: Store) -> None:
    store = conflicting(rastrigin)
    before = snapshot(store.path)
    mindgit = shlex.join([sys.executable, "-m", "mindgit", "--store", str(store.path), "merge"])
    where = shlex.quote(str(store.path))
    script = (
        f"mount --bind -o ro {where} {where} && "
        f"{{ {mindgit} dreamer --fitness rastrigin --dry-run --json > dry.json; echo $? > dry.rc; "
        f"{mindgit} dreamer --fitness rastrigin 2> err.txt; echo $? > merge.rc; }}"
    )
    work = store.path.parent
    subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=work, check=True)
    assert (work / "dry.rc").read_text().strip() == "0"
    assert json.loads((work / "dry.json").read_text())["decisions"][0]["winner"] == "theirs"
    err = (work / "err.txt").read_text()
    one_error_line(int((work / "merge.rc").read_text()), err, 1)
    # Our own error naming the ref (was a bare OSError from the lock file).
    assert "Read-only file system" in err and "cannot write refs/heads/main" in err
    # The dry run may compile into the private wasm cache: read-only, it cannot even do that.
    assert changed(before, store.path) == []


# ---- stock git and the driver ------------------------------------------------------------------


def test_git_merge_on_a_detached_head_in_a_clone_merges_by_fitness(
    rastrigin: Store, tmp_path: Path
) -> None:
    # git merges into a detached HEAD; the driver then has no branch (no run can pick the
    # module) but the clone's mindgit.fitness decides, as mindgit merge decides into main.
    store = conflicting(rastrigin)
    expected = merge(store, "dreamer", into="main", fitness=str(RASTRIGIN), dry_run=True)
    work = clone(store, tmp_path / "work")
    git("-C", str(work), "config", "mindgit.fitness", str(RASTRIGIN))
    git("-C", str(work), "checkout", "-q", "--detach", "main")
    proc = git_merge(work, "origin/dreamer")
    assert proc.returncode == 0, proc.stderr
    data = git("-C", str(work), "show", "HEAD:manifest.json").encode()
    assert CID.of(data) == expected.manifest


def good_manifest(value: float) -> bytes:
    return State(Genome((x("x0", value),)), frozenset()).manifest().data


GARBAGE = {
    "not utf-8": b'\xff\xfe{"genome": {}}',
    "nested deeply": b"[" * 100_000 + b"]" * 100_000,
    "nan": b'{"genome":{"x0":{"type":"float","value":NaN}},"schema":1,"thoughts":[]}',
    "a key twice": b'{"genome":{},"genome":{},"schema":1,"thoughts":[]}',
    "a number too long": b'{"genome":{"x0":{"type":"int","value":' + b"9" * 5000 + b"}}}",
    "huge and random": hashlib.shake_256(b"mindgit").digest(4 << 20),
    "a list": b"[]",
    "a gene that is out of bounds": (
        b'{"genome":{"x0":{"max":1,"min":0,"type":"float","value":7}},"schema":1,"thoughts":[]}'
    ),
}


@pytest.mark.parametrize("side", ["base", "ours", "theirs"])
@pytest.mark.parametrize("what", sorted(GARBAGE))
def test_the_driver_given_garbage_fails_in_one_line_and_leaves_ours(
    tmp_path: Path, side: str, what: str
) -> None:
    files = {
        "base": tmp_path / "O",
        "ours": tmp_path / "A",
        "theirs": tmp_path / "B",
    }
    files["base"].write_bytes(good_manifest(3.0))
    files["ours"].write_bytes(good_manifest(1.0))
    files["theirs"].write_bytes(good_manifest(3.0))
    files[side].write_bytes(GARBAGE[what])
    before = snapshot(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mindgit",
            "merge-driver",
            *map(str, files.values()),
            "manifest.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    one_error_line(proc.returncode, proc.stderr, 1)
    assert f"{side} manifest" in proc.stderr and "left as it was" in proc.stderr
    assert changed(before, tmp_path) == []


# ---- properties --------------------------------------------------------------------------------

GENE_NAMES = ("x0", "x1", "x2")
GENE_VALUES = (-1.0, 0.0, 0.5, 2.0)
LINKS = tuple(Block.encode({"value": f"block {i}"}).cid for i in range(3))
NOTES = tuple(make_thought(f"note {i}").cid for i in range(3))


@st.composite
def states(draw: st.DrawFn) -> State:
    genes = draw(st.dictionaries(st.sampled_from(GENE_NAMES), st.sampled_from(GENE_VALUES)))
    memories = draw(st.dictionaries(st.sampled_from(("human", "persona")), st.sampled_from(LINKS)))
    data = draw(st.dictionaries(st.sampled_from(("log",)), st.sampled_from(LINKS)))
    return State(
        Genome(tuple(x(n, v) for n, v in sorted(genes.items()))),
        draw(st.frozensets(st.sampled_from(NOTES))),
        tuple(sorted(memories.items())),
        tuple(sorted(data.items())),
    )


@pytest.fixture(scope="module")
def clone_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A git repository whose config names the Rastrigin module, as a set-up clone's would,
    and whose HEAD holds the notes the states hold (the driver reads a thought the manifests
    do not all list, to tell a shared private thought from a new one)."""
    path = tmp_path_factory.mktemp("clone")
    repo = pygit2.init_repository(str(path))
    repo.config["mindgit.fitness"] = str(RASTRIGIN)
    notes = repo.TreeBuilder()
    for i, cid in enumerate(NOTES):
        notes.insert(
            str(cid), repo.create_blob(make_thought(f"note {i}").data), pygit2.GIT_FILEMODE_BLOB
        )
    tree = repo.TreeBuilder()
    tree.insert("thoughts", notes.write(), pygit2.GIT_FILEMODE_TREE)
    who = pygit2.Signature("Ada", "ada@example.invalid")
    repo.create_commit("HEAD", who, who, "notes", tree.write(), [])
    yield path


@pytest.fixture(scope="module")
def scorer() -> Iterator[ModuleScorer]:
    wasm = RASTRIGIN.read_bytes()
    module = FitnessModule.load(wasm)
    yield ModuleScorer(module, None)
    del module


def patterns(s: State) -> dict[str, object]:
    out: dict[str, object] = {g.name: g for g in s.genome.genes}
    out.update({f"memory:{n}": c for n, c in s.memories})
    out.update({f"data:{n}": c for n, c in s.data})
    return out


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@PROPERTY
@given(st.one_of(st.none(), states()), states(), states())
def test_the_driver_writes_the_bytes_the_library_merges_to(
    clone_dir: Path, scorer: ModuleScorer, base: State | None, ours: State, theirs: State
) -> None:
    merged, _ = merge_states(base, ours, theirs, scorer=scorer)
    files = clone_dir / "O", clone_dir / "A", clone_dir / "B"
    files[0].write_bytes(b"" if base is None else base.manifest().data)
    files[1].write_bytes(ours.manifest().data)
    files[2].write_bytes(theirs.manifest().data)
    result = merge_files(*files, repo_dir=clone_dir)
    assert files[1].read_bytes() == merged.manifest().data
    assert result.manifest == merged.manifest().cid
    # Every pattern of the result is one side's, and one only a side dropped can be missing.
    got, o, t = patterns(merged), patterns(ours), patterns(theirs)
    for name, value in got.items():
        assert value in (o.get(name), t.get(name))
    for name in (o.keys() & t.keys()) - got.keys():
        raise AssertionError(f"{name} held by both sides was dropped")
    assert merged.thoughts <= ours.thoughts | theirs.thoughts
    # Deterministic: the same inputs, the same bytes.
    files[1].write_bytes(ours.manifest().data)
    merge_files(*files, repo_dir=clone_dir)
    assert files[1].read_bytes() == merged.manifest().data


@PROPERTY
@given(st.one_of(st.none(), states()), states())
def test_merging_a_state_with_itself_through_the_driver_changes_no_byte(
    clone_dir: Path, base: State | None, a: State
) -> None:
    files = clone_dir / "O", clone_dir / "A", clone_dir / "B"
    files[0].write_bytes(b"" if base is None else base.manifest().data)
    files[1].write_bytes(a.manifest().data)
    files[2].write_bytes(a.manifest().data)
    result = merge_files(*files, repo_dir=clone_dir)
    assert files[1].read_bytes() == a.manifest().data and result.decisions == ()
    assert result.module is None  # nothing to decide: no module even looked up


@pytest.mark.parametrize("side", ["base", "ours", "theirs"])
def test_the_driver_refuses_a_file_over_the_blob_limit_before_reading_it(
    tmp_path: Path, side: str
) -> None:
    # A 136 MB manifest took ~13 s and 1 GB of memory before failing; verify refuses any blob
    # over 16 MiB, so the driver does too, from the file's size (this one is sparse).
    files = {name: tmp_path / name for name in ("base", "ours", "theirs")}
    for name, path in files.items():
        path.write_bytes(good_manifest(1.0 if name == "ours" else 3.0))
    with open(files[side], "wb") as f:
        f.truncate(MAX_BLOB_BYTES + 1)
    before = snapshot(tmp_path)
    with pytest.raises(MalformedManifest, match=f"over the {MAX_BLOB_BYTES}-byte limit"):
        merge_files(files["base"], files["ours"], files["theirs"])
    assert changed(before, tmp_path) == []
