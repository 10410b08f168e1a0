"""A fresh user's review of the core commands: init, genome, config. Real stores, real git."""

from __future__ import annotations

import json
import multiprocessing
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mindgit.errors import MindgitError
from mindgit.ipld.cid import CID
from mindgit.store.repository import Store, init_store
from mindgit.store.state import Block, State
from tests.conftest import FIXTURES, Mg, fsck, git, read_only_mount_works
from tests.snapshots import changes, snapshot


def one_error(code: int, err: str, want: int) -> None:
    assert code == want, err
    assert err.startswith("mindgit: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err, err


# -- init through a link to nothing ------------------------------------------------------------


@pytest.mark.parametrize("where", ["dangling", "dangling/sub", "loop", "loop/sub"])
def test_init_through_a_link_to_nothing_is_refused(tmp_path: Path, mg: Mg, where: str) -> None:
    # Each was an internal error (exit 3): libgit2's mkdir failing on the link, or Python's
    # resolve() on the loop.
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    before = snapshot(tmp_path)
    r = mg("init", str(tmp_path / where), "--name", "alpha")
    one_error(r.code, r.err, 1)
    assert "symbolic link to nothing" in r.err
    assert changes(before, snapshot(tmp_path)) == []


def test_init_through_a_link_to_a_directory_still_works(tmp_path: Path, mg: Mg) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert mg("init", str(tmp_path / "link"), "--name", "alpha").code == 0
    assert Store(tmp_path / "real").name == "alpha"


# -- a node name edited badly ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "x<y>", "a b"])
def test_a_node_name_edited_badly_is_bad_config_and_writes_nothing(
    store: Store, mg: Mg, name: str
) -> None:
    # "" and "x<y>" were internal errors after the state's tree was written (libgit2 takes no
    # such commit author); "a b" signed commits whose author no trust file line can name.
    git("--git-dir", str(store.path), "config", "mindgit.name", name)
    before = snapshot(store.path)
    for args in (("think", "hello"), ("genome", "set", "x=1"), ("id",)):
        r = mg("--store", str(store.path), *args)
        one_error(r.code, r.err, 1)
        assert "mindgit.name" in r.err and "is not a node name" in r.err
    assert changes(before, snapshot(store.path)) == []
    fsck(store.path)


# -- genome set: text genes take any text -------------------------------------------------------


@pytest.mark.parametrize(
    "value", ['[1, "a"]', "1e999", "[NaN]", "99999999999999999999999", "[1, 1e999]"]
)
def test_a_text_gene_takes_text_that_reads_as_no_number(store: Store, mg: Mg, value: str) -> None:
    # Each was refused as a new gene's value would be (exit 2), or as a list of numbers, though
    # the gene named is text and the value is text.
    s = ["--store", str(store.path)]
    assert mg(*s, "genome", "set", "note=hello").code == 0
    r = mg(*s, "genome", "set", f"note={value}")
    assert r.code == 0, r.err
    assert store.state().genome["note"].value == value
    assert store.state().genome["note"].kind == "str"


def test_a_choice_is_the_text_as_typed(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "genome", "set", 'm=["a"]', "--choices", '["a"],b')
    assert r.code == 0, r.err
    gene = store.state().genome["m"]
    assert (gene.kind, gene.value, gene.choices) == ("choice", '["a"]', ('["a"]', "b"))


@pytest.mark.parametrize("value", ['[1, "a"]', "1e999", "[NaN]", "99999999999999999999999"])
def test_the_same_values_for_a_new_gene_are_still_a_wrong_command_line(
    store: Store, mg: Mg, value: str
) -> None:
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "genome", "set", f"fresh={value}")
    one_error(r.code, r.err, 2)
    assert "'fresh'" in r.err
    assert changes(before, snapshot(store.path)) == []


def test_a_number_gene_still_refuses_them_as_this_store_s_gene(store: Store, mg: Mg) -> None:
    s = ["--store", str(store.path)]
    assert mg(*s, "genome", "set", "n=1").code == 0
    before = snapshot(store.path)
    r = mg(*s, "genome", "set", "n=1e999")
    one_error(r.code, r.err, 1)
    assert changes(before, snapshot(store.path)) == []


@pytest.mark.parametrize("name", ["bad name", "", "a=b", "-x", "x" * 200])
def test_genome_unset_of_a_name_no_gene_can_have_exits_2(store: Store, mg: Mg, name: str) -> None:
    # Was exit 1 ("no such gene"), as for a good name this genome lacks.
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "genome", "unset", "--", name)
    one_error(r.code, r.err, 2)
    assert changes(before, snapshot(store.path)) == []


# -- config -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args", [("get", "nosuch"), ("set", "nosuch", "1"), ("set", "fuel", "lots")]
)
def test_a_wrong_config_command_line_exits_2_outside_a_store_too(
    tmp_path: Path, mg: Mg, args: tuple[str, ...]
) -> None:
    # Was "... is not a mindgit store" (exit 1): the store was opened before the key was read.
    r = mg("--store", str(tmp_path / "nowhere"), "config", *args)
    one_error(r.code, r.err, 2)
    assert "setting" in r.err


@pytest.mark.parametrize("key", ["MINDGIT.fuel", "Mindgit.Fuel", "mindgit.FUEL"])
def test_the_section_of_a_setting_is_case_insensitive_as_in_git(
    store: Store, mg: Mg, key: str
) -> None:
    s = ["--store", str(store.path)]
    r = mg(*s, "config", "set", key, "123")
    assert r.code == 0, r.err
    assert git("--git-dir", str(store.path), "config", "mindgit.fuel").strip() == "123"
    assert mg(*s, "config", "get", key).out == "123\n"


def test_config_set_over_a_setting_written_twice_by_hand(store: Store, mg: Mg) -> None:
    # Was "cannot write the settings ... entry is not unique" with a hint about file modes and
    # locks. One value is not UTF-8: counting the entries must not decode them.
    config = store.path / "config"
    with open(config, "ab") as f:
        f.write(b"[mindgit]\n\tfuel = 100\n\tFuel = \xff\n")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "config", "set", "fuel", "300")
    one_error(r.code, r.err, 1)
    assert "mindgit.fuel is set 2 times" in r.err and "--replace-all mindgit.fuel" in r.err
    assert changes(before, snapshot(store.path)) == []


# -- an experiment whose ref was set by hand to no commit -------------------------------------


def point_at_no_commit(store: Store, kind: str) -> str:
    """Experiment ``odd`` pointing at a ``kind`` object, written as a file: git's update-ref
    refuses to put anything but a commit under refs/heads/."""
    gitdir = ["--git-dir", str(store.path)]
    oid = {
        "tree": lambda: git(*gitdir, "rev-parse", "main^{tree}"),
        "blob": lambda: git(*gitdir, "rev-parse", "main:manifest.json"),
        "tag": lambda: (
            git(*gitdir, "tag", "-a", "-m", "t", "t1", "main") + git(*gitdir, "rev-parse", "t1")
        ),
        "missing": lambda: "1234567890" * 4,
    }[kind]().strip()
    (store.path / "refs" / "heads" / "odd").write_text(oid + "\n")
    return oid


KINDS = ["tree", "blob", "tag", "missing"]
ON_ODD = [
    ("think", "x", "-e", "odd"),
    ("forget", "bafkqaaa", "-e", "odd"),
    ("genome", "set", "q=1", "-e", "odd"),
    ("genome", "unset", "q", "-e", "odd"),
    ("genome", "show", "-e", "odd"),
    ("show", "-e", "odd"),
    ("log", "-e", "odd"),
    ("switch", "odd"),
    ("fork", "new", "-e", "odd"),
    ("verify", "-e", "odd"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("args", ON_ODD, ids=[" ".join(a) for a in ON_ODD])
def test_an_experiment_at_no_commit_is_one_error_line(
    store: Store, mg: Mg, kind: str, args: tuple[str, ...]
) -> None:
    # think and forget failed on an assertion, verify -e on InvalidSpecError, show on a KeyError
    # (internal errors, exit 3); switch made it current.
    oid = point_at_no_commit(store, kind)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *args)
    one_error(r.code, r.err, 1)
    assert "experiment 'odd' points at" in r.err and oid in r.err
    assert changes(before, snapshot(store.path)) == []


@pytest.mark.parametrize("kind", KINDS)
def test_experiments_lists_the_others_past_an_experiment_at_no_commit(
    store: Store, mg: Mg, kind: str
) -> None:
    # A blob or tree raised NotACommit and listed nothing; a missing object was a KeyError.
    store.fork("zeta", switch=False)
    oid = point_at_no_commit(store, kind)
    r = mg("--store", str(store.path), "experiments", "--json")
    assert r.code == 0, r.err
    rows = {row["name"]: row for row in json.loads(r.out)}
    assert sorted(rows) == ["main", "odd", "zeta"]
    assert rows["odd"]["head"] == oid and "points at" in rows["odd"]["error"]
    assert rows["zeta"]["genes"] == 0
    r = mg("--store", str(store.path), "experiments")
    assert r.code == 0 and r.err.startswith("mindgit: warning: odd: experiment 'odd' points at")
    assert [line.split("\t")[1] for line in r.out.splitlines()] == ["main", "odd", "zeta"]


# -- two inits of one path at once; init where nothing can be written -------------------------


def _init_after(barrier: Any, path: Path, name: str, results: Any) -> None:
    from mindgit.store.repository import init_store

    barrier.wait()
    try:
        init_store(path, name)
    except MindgitError as e:
        results.put((name, type(e).__name__))
    except Exception as e:  # what the test must see: an error of no kind of ours
        results.put((name, f"bug: {type(e).__name__}: {e}"))
    else:
        results.put((name, "ok"))


@pytest.mark.parametrize("existing", [False, True], ids=["new", "empty-dir"])
def test_two_inits_of_one_path_at_once_make_one_store(tmp_path: Path, existing: bool) -> None:
    # Both passed the emptiness check; the loser's clean-up then removed the winner's store,
    # and both failed on errors of libgit2's (its config lock, a repository not found).
    ctx = multiprocessing.get_context("spawn")
    for i in range(8):
        path = tmp_path / f"s{i}"
        if existing:
            path.mkdir()
        barrier, results = ctx.Barrier(2), ctx.Queue()
        procs = [
            ctx.Process(target=_init_after, args=(barrier, path, n, results))
            for n in ("one", "two")
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        got = dict(results.get(timeout=10) for _ in procs)
        assert sorted(got.values()) == ["StoreExists", "ok"], got
        winner = next(n for n, outcome in got.items() if outcome == "ok")
        store = Store(path)
        assert store.name == winner and store.verify().ok
        fsck(path)


@pytest.mark.skipif(
    not read_only_mount_works(),
    reason="needs root and unshare to mount a directory read-only (root ignores file modes)",
)
def test_init_on_a_read_only_file_system_is_one_error_line(tmp_path: Path) -> None:
    # Was libgit2's GitError "failed to make directory", an internal error (exit 3).
    ro = tmp_path / "ro"
    (ro / "empty").mkdir(parents=True)
    before = snapshot(tmp_path)
    mindgit = shlex.join([sys.executable, "-m", "mindgit", "init"])
    where = shlex.quote(str(ro))
    script = (
        f"mount --bind -o ro {where} {where} && "
        f"for t in new empty; do {mindgit} {where}/$t --name a 2> $t.err; echo $? > $t.rc; done"
    )
    work = tmp_path / "out"
    work.mkdir()
    subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=work, check=True)
    for t in ("new", "empty"):
        err = (work / f"{t}.err").read_text()
        one_error(int((work / f"{t}.rc").read_text()), err, 1)
        assert "Read-only file system" in err and "nothing was changed" in err
    assert [c for c in changes(before, snapshot(tmp_path)) if not c.startswith("out")] == []


# -- an empty revision ------------------------------------------------------------------------

EMPTY_REVS = [
    ("show", "@"),
    ("log", "@"),
    ("genome", "show", "@"),
    ("diff", "@", "main"),
    ("diff", "main", "@"),
    ("fork", "new", "--from", "@"),
    ("verify", "@"),
    ("verify", "main", "@"),
    ("verify", "--since", "@"),
]


@pytest.mark.parametrize("blank", ["", "  "])
@pytest.mark.parametrize("args", EMPTY_REVS, ids=[" ".join(a) for a in EMPTY_REVS])
def test_an_empty_revision_is_a_wrong_command_line(
    store: Store, mg: Mg, tmp_path: Path, blank: str, args: tuple[str, ...]
) -> None:
    # `verify --since ''` verified every commit (the empty string read as no --since, exit 0);
    # the others looked '' up as a name (exit 1), and outside a store said "not a store".
    typed = [blank if a == "@" else a for a in args]
    before = snapshot(store.path)
    for where in (store.path, tmp_path / "nowhere"):
        r = mg("--store", str(where), *typed)
        one_error(r.code, r.err, 2)
        assert "is empty: name an experiment or a commit" in r.err
    assert changes(before, snapshot(store.path)) == []


# -- fork --no-switch from a detached HEAD -----------------------------------------------------


@pytest.mark.parametrize("how", ["detached", "damaged"])
def test_fork_no_switch_json_from_a_head_naming_no_experiment(
    store: Store, mg: Mg, how: str
) -> None:
    # Made the experiment, then failed reading the current one for its JSON (exit 1, an error
    # document): a failed command that had changed the store.
    head = store.head()
    if how == "detached":
        git("--git-dir", str(store.path), "update-ref", "--no-deref", "HEAD", head)
    else:
        (store.path / "HEAD").write_text("ref: refs/heads/a..b\n")
    r = mg("--store", str(store.path), "fork", "new", "--from", "main", "--no-switch", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"experiment": "new", "commit": head, "current": None}
    assert Store(store.path).head("new") == head


def test_experiments_lists_the_others_past_a_symbolic_ref_to_nothing(store: Store, mg: Mg) -> None:
    # Failed as a whole: "unknown experiment or revision 'dangling'" (exit 1), listing nothing.
    gitdir = ["--git-dir", str(store.path)]
    git(*gitdir, "symbolic-ref", "refs/heads/dangling", "refs/heads/nothing")
    r = mg("--store", str(store.path), "experiments")
    assert r.code == 0, r.err
    assert [line.split("\t")[1:3] for line in r.out.splitlines()] == [
        ["dangling", ""],
        ["main", store.head()[:12]],
    ]
    assert r.err == (
        "mindgit: warning: dangling: refs/heads/dangling cannot be read (a symbolic ref to "
        "refs/heads/nothing, which does not exist); nothing was changed\n"
    )
    before = snapshot(store.path)
    for args in (("switch", "dangling"), ("think", "x", "-e", "dangling")):
        r = mg("--store", str(store.path), *args)
        one_error(r.code, r.err, 1)
        assert "a symbolic ref to refs/heads/nothing, which does not exist" in r.err
    assert changes(before, snapshot(store.path)) == []


def test_switch_to_a_symbolic_experiment_names_its_target(store: Store, mg: Mg) -> None:
    # Made it current; then every write failed on it ("is a symbolic ref").
    git("--git-dir", str(store.path), "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "switch", "alias")
    one_error(r.code, r.err, 1)
    assert "refs/heads/alias is a symbolic ref to refs/heads/main" in r.err
    assert "name main instead" in r.err
    assert changes(before, snapshot(store.path)) == []


# -- diff of a memory block's value ------------------------------------------------------------

CLIPBOARD = "\x1b]52;c;ZWNobyBwd25lZA==\x07"


def test_diff_of_a_memory_value_prints_no_control_codes(store: Store, mg: Mg) -> None:
    # The value diff's lines were echoed as they are: an OSC 52 in a memory (a peer's, an
    # imported agent file's) wrote the terminal's clipboard. show already made them one line.
    values = ["line one\n\tline two", f"line one\n\tline {CLIPBOARD}two"]
    for value in values:
        block = Block.encode({"label": "human", "value": value})

        def change(state: State, block: Block = block) -> tuple[State, dict[CID, bytes]]:
            return state.with_memories({"human": block.cid}), {block.cid: block.data}

        store.update(change, "mem")
    r = mg("--store", str(store.path), "diff", "main~1", "main")
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert r.out.splitlines()[-2:] == [
        "    -   line two",
        "    +   line ?]52;c;ZWNobyBwd25lZA==?two",
    ]


def test_show_of_an_imported_agent_prints_no_control_codes(
    store: Store, mg: Mg, tmp_path: Path
) -> None:
    # The agent's name, model and tool names (an agent file's words) were echoed as they were.
    af = json.loads(json.loads((FIXTURES / "agent-files" / "memgpt_agent.af").read_text()))
    agent = af["agents"][0]
    agent["name"] = f"evil{CLIPBOARD}"
    agent["llm_config"]["model"] = f"model{CLIPBOARD}"
    af["tools"][0]["name"] = f"tool{CLIPBOARD}"
    path = tmp_path / "evil.af"
    path.write_text(json.dumps(af))
    s = ["--store", str(store.path)]
    assert mg(*s, "import-af", str(path), "--as", "ev").code == 0
    r = mg(*s, "show", "-e", "ev")
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "agent      evil?]52;c;ZWNobyBwd25lZA==? (model?]52;c;ZWNobyBwd25lZA==?)" in r.out
    assert "tool?]52;c;ZWNobyBwd25lZA==?" in r.out


def test_import_af_names_the_agent_in_terminal_safe_words(
    store: Store, mg: Mg, tmp_path: Path
) -> None:
    # "imported agent <name> as ..." went to stderr as the agent file spelled the name.
    af = json.loads(json.loads((FIXTURES / "agent-files" / "memgpt_agent.af").read_text()))
    af["agents"][0]["name"] = f"evil{CLIPBOARD}"
    path = tmp_path / "evil.af"
    path.write_text(json.dumps(af))
    r = mg("--store", str(store.path), "import-af", str(path), "--as", "ev")
    assert r.code == 0, r.err
    assert "\x1b" not in r.err and "\x07" not in r.err
    assert "imported agent evil?]52;c;ZWNobyBwd25lZA==? as ev" in r.err


# -- a manifest.json entry that is no regular file ---------------------------------------------


def experiment_with_manifest(store: Store, line: str) -> None:
    """Experiment ``odd`` at an unsigned commit whose tree holds ``line`` (an ls-tree line)."""
    gitdir = ["--git-dir", str(store.path)]
    tree = git(*gitdir, "mktree", "--missing", input=line.encode()).strip()
    commit = git(*gitdir, "commit-tree", "-m", "odd", tree).strip()
    git(*gitdir, "update-ref", "refs/heads/odd", commit)


@pytest.mark.parametrize("kind", ["symlink", "tree", "gitlink", "executable", "missing"])
@pytest.mark.parametrize(
    "args", [("show", "-e", "odd"), ("diff", "main", "odd"), ("think", "x", "-e", "odd")]
)
def test_a_manifest_that_is_no_regular_file_is_named(
    store: Store, mg: Mg, kind: str, args: tuple[str, ...]
) -> None:
    # A symlink's blob was read as the manifest (`diff main odd` said "no differences", exit
    # 0); a tree's or a commit's bytes were "invalid DAG-JSON" of a CID naming nothing; a
    # missing blob was a KeyError (exit 3).
    gitdir = ["--git-dir", str(store.path)]
    manifest = git(*gitdir, "rev-parse", "main:manifest.json").strip()
    empty = git(*gitdir, "mktree", input=b"").strip()
    line = {
        "symlink": f"120000 blob {manifest}\tmanifest.json\n",
        "tree": f"040000 tree {empty}\tmanifest.json\n",
        "gitlink": f"160000 commit {store.head()}\tmanifest.json\n",
        "executable": f"100755 blob {manifest}\tmanifest.json\n",
        "missing": f"100644 blob {'1234567890' * 4}\tmanifest.json\n",
    }[kind]
    experiment_with_manifest(store, line)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *args)
    one_error(r.code, r.err, 1)
    if kind == "missing":
        assert f"manifest.json: object {'1234567890' * 4} is missing" in r.err
    else:
        assert "manifest.json in tree" in r.err and "is not a regular file" in r.err
    assert changes(before, snapshot(store.path)) == []


# -- verify: what the command line alone says is wrong ------------------------------------------

VERIFY_MISUSE = [
    ("verify", "-e", "main", "--all"),
    ("verify", "-e", "main", "main"),
    ("verify", "-e", "main", "--trust", "@trust"),
    ("verify", "main", "--all"),
]


@pytest.mark.parametrize("args", VERIFY_MISUSE, ids=[" ".join(a) for a in VERIFY_MISUSE])
def test_verify_misuse_exits_2_inside_a_store_and_out(
    store: Store, mg: Mg, tmp_path: Path, args: tuple[str, ...]
) -> None:
    # Outside a store these said "not a mindgit store" (exit 1); `verify main --all` verified
    # every ref and dropped main without a word (exit 0).
    trust = str(store.path / "mindgit" / "allowed_signers")
    typed = [trust if a == "@trust" else a for a in args]
    for where in (store.path, tmp_path / "nowhere"):
        r = mg("--store", str(where), *typed)
        one_error(r.code, r.err, 2)


BOTH = [
    ("show", "main", "-e", "main"),
    ("log", "main", "-e", "main"),
    ("genome", "show", "main", "-e", "main"),
    ("fork", "new", "--from", "main", "-e", "main"),
]


@pytest.mark.parametrize("args", BOTH, ids=[" ".join(a) for a in BOTH])
def test_a_revision_and_an_experiment_exit_2_outside_a_store_too(
    mg: Mg, tmp_path: Path, args: tuple[str, ...]
) -> None:
    # Checked once the store was open: outside one, "not a mindgit store" (exit 1).
    r = mg("--store", str(tmp_path / "nowhere"), *args)
    one_error(r.code, r.err, 2)
    assert "give a revision or -e/--experiment, not both" in r.err


def test_an_empty_store_path_is_a_wrong_command_line(store: Store, mg: Mg) -> None:
    # '' was the working directory, taken as the store with no search of its parents: from
    # inside a store's refs/ it said "not a mindgit store" (exit 1); from the store, it worked.
    r = mg("--store", "", "show")
    one_error(r.code, r.err, 2)
    assert "--store is empty" in r.err


BY_REV = [
    ("show", "odd"),
    ("log", "odd"),
    ("diff", "main", "odd"),
    ("verify", "odd"),
    ("fork", "new", "--from", "odd"),
]


@pytest.mark.parametrize("args", BY_REV, ids=[" ".join(a) for a in BY_REV])
def test_an_experiment_at_a_missing_object_named_as_a_revision(
    store: Store, mg: Mg, args: tuple[str, ...]
) -> None:
    # Was "unknown experiment or revision 'odd'", of an experiment `experiments` lists.
    oid = point_at_no_commit(store, "missing")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *args)
    one_error(r.code, r.err, 1)
    assert f"experiment 'odd' points at {oid}, which is not in the store" in r.err
    assert changes(before, snapshot(store.path)) == []


def test_verify_counts_in_words_that_agree_with_them(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "one", "one")
    r = mg("--store", str(store.path), "verify")
    assert r.code == 0 and r.err == "1 commit checked, 0 failed\n"
    (store.path / "refs" / "heads" / "broken").write_text("0" * 40 + "\n")
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.err.endswith(", 1 ref points at no commit\n"), r.err


def test_init_over_something_says_what_it_is(tmp_path: Path, mg: Mg) -> None:
    made = init_store(tmp_path / "made", "made")
    half = tmp_path / "half"
    (half / "mindgit").mkdir(parents=True)  # what an init killed just after its claim leaves
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine\n")
    hints = {
        made.path: "it is a store already",
        half: "an init of it did not finish",
        full: "give a new or empty directory",
    }
    for path, hint in hints.items():
        before = snapshot(path)
        r = mg("init", str(path), "--name", "again")
        assert r.code == 1 and "already exists" in r.err and hint in r.err, r.err
        assert changes(before, snapshot(path)) == []


@pytest.mark.parametrize(
    ("setup", "args", "kind"),
    [
        (
            ("mode=explore", "--choices", "explore,exploit"),
            ("mode=exploit", "--min", "0"),
            "choice",
        ),
        (("flag=true",), ("flag=false", "--max", "3"), "bool"),
        (("note=hello",), ("note=bye", "--scale", "2"), "str"),
        ((), ("fresh=abc", "--min", "0"), "str"),
    ],
)
def test_bounds_on_a_gene_that_takes_none_name_its_own_kind(
    store: Store, mg: Mg, setup: tuple[str, ...], args: tuple[str, ...], kind: str
) -> None:
    """--min on an existing choice or bool gene was refused as "a str gene takes no min, max or
    scale" (the words for a new gene of that text)."""
    s = ("--store", str(store.path))
    if setup:
        assert mg(*s, "genome", "set", *setup).code == 0
    before = snapshot(store.path)
    r = mg(*s, "genome", "set", *args)
    name = args[0].partition("=")[0]
    assert (r.code, r.err) == (
        2,
        f"mindgit: error: gene {name!r}: a {kind} gene takes no min, max or scale\n",
    ), r
    assert not changes(before, snapshot(store.path))
