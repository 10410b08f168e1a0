"""Errors echoed what the user typed whole: `mindgit plot <100,000 characters>` printed a 100 KB
line, and so did lineage, runs --check/--delete, evolve --resume, switch, fork, -e and
import-af --as. Each now quotes the text cut to 80 characters with its length
(mindgit.errors.quoted, as `cat` already cut a CID): one short line, the same exit code, nothing
changed on disk.

So did the rest: a revision no experiment or commit has (show, log, diff, merge, export,
af-info, export-af, genome show, restore --from, verify), a gene's name or value (genome set,
genome unset), a fitness module's --name, evolve --memory, a name that is no experiment's or
ref's, click's own messages (an unknown command or option, extra arguments, a value click
refuses) and a path an OSError names (File name too long)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mindgit.errors import quoted
from mindgit.store.refs import NamePartTooLong, RefError, check_ref_name
from mindgit.store.repository import NotAnExperimentName, Store, check_experiment_name
from tests.conftest import FIXTURES, Mg
from tests.snapshots import changed, snapshot

LONG = "a" * 100_000
SHOWN = f"{'a' * 80!r}... (100000 characters)"

# Each command line with ARG where the long text goes (OUT: a file it would write), and the exit
# code it fails with: 2 for text no run id, experiment name, CID, gene, module name or size can
# be, and for click's own refusals; 1 for a revision or target the store does not have (as for
# any name of nothing), such as lineage's (docs/evolve.md).
COMMANDS = {
    "plot ARG": (("plot", "ARG"), 2),
    "runs --check ARG": (("runs", "--check", "ARG"), 2),
    "runs --delete ARG": (("runs", "--delete", "ARG"), 2),
    "evolve --resume ARG": (("evolve", "--resume", "ARG"), 2),
    "lineage ARG": (("lineage", "ARG"), 1),
    "switch ARG": (("switch", "ARG"), 2),
    "fork ARG": (("fork", "ARG"), 2),
    "log -e ARG": (("log", "-e", "ARG"), 2),
    "evolve -e ARG": (("evolve", "-e", "ARG"), 2),
    "import-af F --as ARG": (
        ("import-af", str(FIXTURES / "agent-files" / "memgpt_agent.af"), "--as", "ARG"),
        2,
    ),
    "cat ARG": (("cat", "ARG"), 2),
    "show ARG": (("show", "ARG"), 1),
    "log ARG": (("log", "ARG"), 1),
    "diff ARG main": (("diff", "ARG", "main"), 1),
    "diff main ARG": (("diff", "main", "ARG"), 1),
    "merge ARG": (("merge", "ARG"), 1),
    "export ARG --car OUT": (("export", "ARG", "--car", "OUT"), 1),
    "af-info ARG": (("af-info", "ARG"), 1),
    "export-af ARG -o OUT": (("export-af", "ARG", "-o", "OUT"), 1),
    "genome show ARG": (("genome", "show", "ARG"), 1),
    "restore LABEL --from ARG": (("restore", "persona", "--from", "ARG"), 1),
    "verify ARG": (("verify", "ARG"), 1),
    "genome set ARG": (("genome", "set", "ARG"), 2),
    "genome set ARG=1": (("genome", "set", "ARG=1"), 2),
    "genome unset ARG": (("genome", "unset", "ARG"), 2),
    "fitness add --name ARG F": (
        ("fitness", "add", "--name", "ARG", str(FIXTURES / "fitness" / "onemax.wat")),
        2,
    ),
    "evolve --memory ARG": (("evolve", "--memory", "ARG"), 2),
    "ARG (no such command)": (("ARG",), 2),
    "runs ARG (an extra argument)": (("runs", "ARG"), 2),
    "evolve --generations ARG": (("evolve", "--generations", "ARG"), 2),
    "evolve --generations=ARG": (("evolve", "--generations=ARG"), 2),
    "config set mindgit.memory ARG": (("config", "set", "mindgit.memory", "ARG"), 2),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_100000_character_argument_is_quoted_cut(
    store: Store, mg: Mg, tmp_path: Path, command: str
) -> None:
    args, code = COMMANDS[command]
    out = tmp_path / "out"
    before = snapshot(store.path)
    typed = (a.replace("ARG", LONG).replace("OUT", str(out)) for a in args)
    r = mg("--store", str(store.path), *typed)
    assert (r.code, r.out) == (code, ""), r.err[:500]
    assert r.err.startswith("mindgit: error: ") and r.err.count("\n") == 1, r.err[:500]
    # A hint's command names the --store typed (its length is the temporary folder's).
    assert len(r.err.replace(f"--store {store.path} ", "")) < 300, r.err[:500]
    assert SHOWN in r.err, r.err
    assert not changed(before, store.path)
    assert not out.exists()


def test_an_ipld_path_given_to_cat_is_quoted_cut(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "cat", "bafy/" + LONG)
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert "... (100005 characters) is an IPLD path" in r.err


def test_escapes_do_not_lengthen_the_quote(store: Store, mg: Mg) -> None:
    """Each ESC is four characters in a repr: the quote is cut by what it shows, not by the
    characters it quotes."""
    r = mg("--store", str(store.path), "plot", "\x1b[2J" * 25_000)
    assert r.code == 2 and r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert "\x1b" not in r.err and "... (100000 characters) is not a run id" in r.err


@pytest.mark.parametrize("value", ["", "abc", "a" * 80, "it's", "\x00\x1b\u202e"])
def test_short_text_is_its_repr(value: str) -> None:
    assert quoted(value) == repr(value)


def test_long_text_is_cut_at_the_limit_with_its_length() -> None:
    assert quoted("b" * 81) == f"{'b' * 80!r}... (81 characters)"
    assert quoted("é" * 1000, limit=10) == f"{'é' * 10!r}... (1000 characters)"
    # Escaped characters count as shown: at most `limit` characters between the quotes.
    cut = quoted("\U0010ffff" * 1000)
    assert cut.endswith("... (1000 characters)")
    assert len(cut.split("...")[0]) <= 82


def test_other_values_are_their_repr_cut() -> None:
    assert quoted(12) == "12"
    assert quoted(None) == "None"
    long_list = list(range(1000))
    assert quoted(long_list) == f"{repr(long_list)[:80]}... ({len(repr(long_list))} characters)"


def test_an_integer_python_will_not_spell_is_named_by_its_size() -> None:
    assert quoted(10**5000) == f"an integer of {(10**5000).bit_length()} bits"


def test_a_long_unknown_option_is_quoted_cut(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "runs", "--" + LONG)
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"No such option {'--' + 'a' * 78!r}... (100002 characters)." in r.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("runs", "x"), "Got unexpected extra argument (x)"),
        (("bogus",), "No such command 'bogus'."),
        (("runs", "--bogus"), "No such option '--bogus'."),
        (
            ("evolve", "--generations", "x"),
            "Invalid value for '--generations': 'x' is not a valid integer.",
        ),
    ],
)
def test_click_s_short_messages_are_unchanged(
    store: Store, mg: Mg, args: tuple[str, ...], message: str
) -> None:
    r = mg("--store", str(store.path), *args)
    assert r.code == 2 and r.err.startswith(f"mindgit: error: {message} (hint: "), r.err


def test_many_short_extra_arguments_are_cut(store: Store, mg: Mg) -> None:
    """No one of them is long: what click lists of them is, and is cut as one."""
    r = mg("--store", str(store.path), "runs", *(["abcde"] * 20_000))
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert "Got unexpected extra arguments ('abcde abcde " in r.err
    assert "... (119999 characters))" in r.err


def test_quotes_that_never_close_are_cut_in_one_pass(store: Store, mg: Mg) -> None:
    """50,000 quote marks none closes, inside parentheses that do not close either: scanned from
    each one to the end, as a regular expression would, this took minutes."""
    r = mg("--store", str(store.path), "runs", "(" + "\\'" * 50_000 + "(")
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert r.err.startswith("mindgit: error: Got unexpected extra argument ((\\'\\'")
    assert "... (100034 characters)" in r.err, r.err


def test_a_long_path_an_oserror_names_is_quoted_cut(store: Store, mg: Mg, tmp_path: Path) -> None:
    """export --car of a file name over the system's limit: "File name too long: <the path>"
    printed the path whole."""
    path = tmp_path / ("b" * 5000 + ".car")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "export", "--car", str(path))
    assert (r.code, r.out) == (1, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"mindgit: error: {os.strerror(36)}: {quoted(str(path), 160)}" in r.err, r.err
    assert f"... ({len(str(path))} characters)" in r.err
    assert not changed(before, store.path)
    assert list(tmp_path.iterdir()) == [store.path]


def test_a_path_of_up_to_160_characters_is_shown_as_it_was() -> None:
    """What the CLI prints of the file an OSError names ("<strerror>: <path>"): as it was up to
    160 characters (commands name the files they cannot read or write in their own words; this
    is the last resort, for what they do not)."""
    from mindgit.errors import shown_path

    assert shown_path("/tmp/x.car") == "/tmp/x.car"
    assert shown_path(b"/tmp/x.car") == "/tmp/x.car"
    assert shown_path(Path("/" + "c" * 159)) == "/" + "c" * 159
    assert shown_path("/" + "c" * 160) == f"{'/' + 'c' * 159!r}... (161 characters)"


def test_a_number_too_long_to_read_is_refused_as_a_gene_s_value(store: Store, mg: Mg) -> None:
    """genome set n=<5,000 digits> was an internal error (exit 3): int() reads at most 4,300."""
    digits = "9" * 5000
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "genome", "set", f"n={digits}")
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"gene 'n': value {quoted(digits)} is beyond any number a gene can hold" in r.err
    assert not changed(before, store.path)
    # Leading zeros are no digits of its size; a text gene takes the digits as text.
    assert mg("--store", str(store.path), "genome", "set", "z=" + "0" * 5000 + "7").code == 0
    assert mg("--store", str(store.path), "genome", "set", "t=text").code == 0
    assert mg("--store", str(store.path), "genome", "set", f"t={digits}").code == 0
    genome = Store(store.path).state(Store(store.path).head()).genome
    assert (genome.get("z").value, genome.get("t").value) == (7, digits)  # type: ignore[union-attr]


def test_a_name_refused_for_an_experiment_or_ref_is_quoted_cut() -> None:
    for name, error in [
        (LONG + "/x", NamePartTooLong),
        ("-" + LONG, NotAnExperimentName),
        ("x/" + LONG + "..", NotAnExperimentName),
    ]:
        with pytest.raises(error) as raised:
            check_experiment_name(name)
        assert len(str(raised.value)) < 250 and quoted(name) in str(raised.value)
    with pytest.raises(NamePartTooLong) as too_long:
        check_ref_name("refs/heads/" + LONG)
    assert quoted("refs/heads/" + LONG) in str(too_long.value) and len(str(too_long.value)) < 250


# libgit2 reads no ref name over 1023 characters: refs/heads/ and 1012 more.
NESTED = "a/" * 600 + "a"


@pytest.mark.parametrize(
    "args",
    [
        ("fork", NESTED),
        ("switch", NESTED),
        ("log", "-e", NESTED),
        ("import-af", str(FIXTURES / "agent-files" / "memgpt_agent.af"), "--as", NESTED),
    ],
    ids=["fork", "switch", "log -e", "import-af --as"],
)
def test_an_experiment_name_over_1012_characters_is_refused(
    store: Store, mg: Mg, args: tuple[str, ...]
) -> None:
    """Each part short, the name too long for git: every command given it failed with
    'internal error: ValueError: refs/heads/a/a/...' (exit 3), the name whole."""
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *args)
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert (
        f"{quoted(NESTED)} is not an experiment name: it is 1201 characters long, over the 1012 git allows in one"
        in r.err
    )
    assert not changed(before, store.path)


def test_an_experiment_name_of_1012_characters_is_taken(store: Store, mg: Mg) -> None:
    name = "x" + "a/" * 505 + "a"
    assert len("refs/heads/" + name) == 1023
    assert mg("--store", str(store.path), "fork", name).code == 0
    assert mg("--store", str(store.path), "switch", "main").code == 0
    r = mg("--store", str(store.path), "log", "-e", name)
    assert r.code == 0, r.err
    assert name in Store(store.path).experiments()
    with pytest.raises(NotAnExperimentName):
        check_experiment_name(name + "b")


def test_a_long_revision_of_a_tree_is_quoted_cut(store: Store, mg: Mg) -> None:
    rev = "main" + "^{tree}" * 2000
    r = mg("--store", str(store.path), "show", rev)
    assert (r.code, r.out) == (1, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"{quoted(rev)} names a tree, not a commit" in r.err


def test_an_invalid_ref_name_is_quoted_cut() -> None:
    with pytest.raises(RefError) as raised:
        check_ref_name("refs/heads/" + "a b" * 50_000)
    assert str(raised.value) == f"invalid ref name {quoted('refs/heads/' + 'a b' * 50_000)}"
    assert len(str(raised.value)) < 150


def test_a_long_path_of_a_fitness_module_is_quoted_cut(
    store: Store, mg: Mg, tmp_path: Path
) -> None:
    path = tmp_path.joinpath(*["c" * 200] * 15, "x.wat")
    r = mg("--store", str(store.path), "fitness", "add", str(path))
    assert (r.code, r.out) == (1, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"cannot read fitness module {quoted(str(path), 160)}: " in r.err
    short = tmp_path / "x.wat"
    r = mg("--store", str(store.path), "fitness", "add", str(short))
    assert r.code == 1 and f"cannot read fitness module {short}: " in r.err, r.err


def test_an_empty_choice_quotes_the_choices_cut(store: Store, mg: Mg) -> None:
    """genome set --choices ',<100,000 characters>' repeated the whole --choices value."""
    choices = "," + LONG
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "genome", "set", "x=a", "--choices", choices)
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"--choices {quoted(choices)} has an empty choice" in r.err
    assert not changed(before, store.path)


@pytest.mark.parametrize("key", ["fuel", "table", "synctimeout", "memory", "stack", "maxfetch"])
def test_a_setting_of_5000_digits_is_refused(store: Store, mg: Mg, key: str) -> None:
    """`config set fuel <5,000 digits>` was an internal error (exit 3): int() reads at most
    4,300. A count or a bounded size is over its limit; an unbounded size (maxfetch) over the
    digits any size may have. Leading zeros do not count."""
    digits = "9" * 5000
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "config", "set", key, digits)
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"setting {key!r}: {quoted(digits)} is over " in r.err, r.err
    assert not changed(before, store.path)
    assert mg("--store", str(store.path), "config", "set", key, "0" * 5000 + "7").code == 0
    r = mg("--store", str(store.path), "config", "get", key)
    assert (r.code, r.out) == (0, "0" * 5000 + "7\n"), r.err[:500]


# A path of 15 directories of 200 characters that do not exist: 3,000 characters and more.
def long_path(tmp_path: Path, name: str) -> Path:
    return tmp_path.joinpath(*["c" * 200] * 15, name)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("export", "--car", "PATH"), "cannot write {}"),
        (("import", "PATH", "--as", "x"), "cannot read {}: "),
        (("import-af", "PATH"), "{}: cannot read it"),
    ],
    ids=["export --car", "import", "import-af"],
)
def test_a_long_path_that_cannot_be_written_or_read_is_cut(
    store: Store, mg: Mg, tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    """A path of 3,000 characters a command could not write or read made a line as long: it
    is cut past 160 characters, as the CLI cuts the path an OSError names. The line is the cut
    path and the message's own words (with a hint, a little over 300 characters)."""
    path = str(long_path(tmp_path, "x.car"))
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *(a.replace("PATH", path) for a in args))
    assert (r.code, r.out) == (1, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 330, r.err[:500]
    assert words.format(quoted(path, 160)) in r.err, r.err
    assert f"... ({len(path)} characters)" in r.err
    assert not changed(before, store.path)
    assert list(tmp_path.iterdir()) == [store.path]


@pytest.mark.parametrize("command", ["set", "get"])
def test_a_long_setting_key_is_quoted_cut(store: Store, mg: Mg, command: str) -> None:
    """Cut shorter than other text (44 characters, twice the longest key): the settings are
    listed after it."""
    before = snapshot(store.path)
    r = mg(
        "--store", str(store.path), "config", command, LONG, *(["1"] if command == "set" else [])
    )
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"setting {quoted(LONG, 44)}: unknown; the settings are fitness, " in r.err, r.err
    assert not changed(before, store.path)


def test_the_longest_setting_key_is_shown_whole(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "config", "set", "mindgit.maxObjectBytes", "x")
    assert r.code == 2 and "setting 'mindgit.maxObjectBytes': 'x' must be a size" in r.err, r.err


@pytest.mark.parametrize(
    "args",
    [("remote", "add", "ARG", "https://example.invalid/s"), ("push", "ARG"), ("pull", "ARG")],
    ids=["remote add", "push", "pull"],
)
def test_a_long_peer_name_is_quoted_cut(store: Store, mg: Mg, args: tuple[str, ...]) -> None:
    """The cut quote says how long it is, and the rule's hint the 64 characters allowed."""
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *(a.replace("ARG", LONG) for a in args))
    assert (r.code, r.out) == (2, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < 300, r.err[:500]
    assert f"invalid peer name {SHOWN}: it is too long (hint: use 1 to 64 " in r.err, r.err
    assert not changed(before, store.path)


def test_a_long_path_inside_the_store_is_cut(store: Store, mg: Mg) -> None:
    # export --car into the store's own directory is refused; both paths were quoted whole (a
    # 430-character path made a 599-character line).
    deep = store.path / ("d" * 200) / ("e" * 200) / "x.car"
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "export", "--car", str(deep))
    assert r.code == 2, r
    assert r.err.count("\n") == 1 and "d" * 200 not in r.err, r.err
    assert "is inside the store" in r.err and "characters) is inside" in r.err
    assert changed(before, store.path) == []


@pytest.mark.parametrize("end", [".lock", "."])
def test_a_long_part_with_a_bad_end_is_quoted_cut(store: Store, mg: Mg, end: str) -> None:
    # Refused for its end before its length: the part was quoted whole (a 3,249-character line).
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "fork", "a" * 3000 + end)
    assert r.code == 2, r
    assert r.err.count("\n") == 1 and len(r.err) < 400, r.err
    assert f"... ({3000 + len(end)} characters))" in r.err
    assert f"may not end in '{end}'" in r.err
    assert changed(before, store.path) == []


def test_a_long_path_a_car_was_exported_to_is_cut(store: Store, mg: Mg, tmp_path: Path) -> None:
    """The line that says where the CAR went named a path of 3,000 characters whole."""
    path = tmp_path / "out" / ("d" * 200) / ("e" * 200) / ("f" * 200) / "x.car"
    path.parent.mkdir(parents=True)
    r = mg("--store", str(store.path), "export", "--car", str(path))
    assert r.code == 0, r.err[:500]
    assert path.stat().st_size > 0
    line = next(line for line in r.err.splitlines() if line.startswith("exported "))
    assert f"to {quoted(str(path), 160)}; root " in line
    assert len(line) < 330, line
