"""Every command and subcommand, one table: ``--help`` says what it does, and ``--json`` in a bad
situation (no store where the command runs) is one line on stderr and exactly one JSON error
document on stdout, with nothing written where the command ran. A group typed alone shows its
help whole."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from mindgit.cli.main import COMMANDS, cli
from tests.conftest import Mg

CID = "baguqeera2lhvzoil22lf66xdxnowov2n7k6eaavgg3l4zunp6dr5bik6wqiq"
DID = "did:key:z6MkopMBYx7SJZxL5dqF7J7YXwZoEqAuKsLUn2M9h69u4bnZ"


def _commands() -> dict[str, click.Command]:
    """Every command by its path under ``mindgit`` ("keys rotate"), groups included."""
    found: dict[str, click.Command] = {}
    ctx = click.Context(cli)

    def walk(command: click.Command, path: str) -> None:
        found[path] = command
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"{path} {name}"
                walk(sub, f"{path} {name}")

    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None, name
        walk(command, name)
    return found


ALL = _commands()
GROUPS = sorted(p for p, c in ALL.items() if isinstance(c, click.Group))
TAKES_JSON = sorted(
    p for p, c in ALL.items() if any("--json" in getattr(q, "opts", ()) for q in c.params)
)

# Each command that takes --json, run where there is no store (or, for those that need none,
# given something that cannot be): (arguments, exit code, the error's type).
NO_STORE = ("NotAStore", 1)
BAD: dict[str, tuple[tuple[str, ...], tuple[str, int]]] = {
    "af-info": ((), NO_STORE),
    "block restore": (("persona", "--from", "main"), NO_STORE),
    "block set": (("persona", "x"), NO_STORE),
    "cat": ((CID,), NO_STORE),
    "config get": (("fuel",), NO_STORE),
    "config set": (("fuel", "5"), NO_STORE),
    "demo": (("--generations", "-1"), ("InvalidParameter", 2)),
    "diff": (("main", "main"), NO_STORE),
    "evolve": ((), NO_STORE),
    "experiments": ((), NO_STORE),
    "export": (("--car", "out.car"), NO_STORE),
    "export-af": (("main", "-o", "out.af"), NO_STORE),
    "fitness add": (("f.wat",), NO_STORE),
    "fitness list": ((), NO_STORE),
    "forget": ((CID,), NO_STORE),
    "fork": (("x",), NO_STORE),
    "genome set": (("a=1",), NO_STORE),
    "genome show": ((), NO_STORE),
    "genome unset": (("a",), NO_STORE),
    "git-setup": ((), ("NotAClone", 1)),
    "hooks install": ((), NO_STORE),
    "id": ((), NO_STORE),
    "import": (("in.car", "--as", "c"), NO_STORE),
    "import-af": (("in.af",), NO_STORE),
    "init": (("a-file", "--name", "n"), ("", 1)),
    "keys apply": (("main",), NO_STORE),
    "keys list": ((), NO_STORE),
    "keys rotate": ((), NO_STORE),
    "lineage": (("x",), NO_STORE),
    "log": ((), NO_STORE),
    "merge": (("x",), NO_STORE),
    "peers": ((), NO_STORE),
    "plot": (("x",), NO_STORE),
    "pull": (("p",), NO_STORE),
    "push": (("p",), NO_STORE),
    "remote add": (("a", "https://example.invalid/a.git"), NO_STORE),
    "remote list": ((), NO_STORE),
    "remote remove": (("a",), NO_STORE),
    "restore": (("persona", "--from", "main"), NO_STORE),
    "runs": ((), NO_STORE),
    "share": ((CID, "--with", DID), NO_STORE),
    "show": ((), NO_STORE),
    "switch": (("x",), NO_STORE),
    "sync": ((), NO_STORE),
    "think": (("hi",), NO_STORE),
    "trust add": ((DID, "--name", "b"), NO_STORE),
    "trust list": ((), NO_STORE),
    "trust remove": (("b",), NO_STORE),
    "verify": ((), NO_STORE),
}


def test_the_table_names_every_command_that_takes_json() -> None:
    assert sorted(BAD) == TAKES_JSON


@pytest.mark.parametrize("path", sorted(ALL))
def test_help_says_what_the_command_does(mg: Mg, path: str) -> None:
    r = mg(*path.split(), "--help")
    assert (r.code, r.err) == (0, ""), r.err
    usage, _, rest = r.out.partition("\n\n")
    assert usage.startswith(f"Usage: mindgit {path} ")
    assert rest.strip() and not rest.startswith("Options:"), r.out


@pytest.mark.parametrize("path", TAKES_JSON)
def test_json_in_a_bad_situation_is_one_error_document(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    args, (kind, code) = BAD[path]
    where = tmp_path / "here"
    where.mkdir()
    (where / "a-file").write_text("not a directory\n")
    monkeypatch.chdir(where)
    r = mg(*path.split(), *args, "--json")
    assert r.code == code, r.err
    document = json.loads(r.out)  # exactly one document: json.loads refuses anything after it
    assert set(document) == {"error", "hint", "type"}, document
    assert document["error"] and (not kind or document["type"] == kind), document
    assert r.err.count("\n") == 1 and r.err.startswith("mindgit: error: "), r.err
    assert document["error"] in r.err
    assert sorted(p.name for p in where.iterdir()) == ["a-file"]


@pytest.mark.parametrize("path", ["", *GROUPS])
def test_a_group_alone_shows_its_help_whole(mg: Mg, path: str) -> None:
    r = mg(*path.split())
    assert (r.code, r.out) == (2, ""), r.err
    assert r.err.startswith(f"Usage: mindgit {path}".rstrip() + " [OPTIONS] COMMAND"), r.err
    assert "mindgit: error" not in r.err and "characters)" not in r.err
    listed = r.err.split("\nCommands:\n", 1)[1]
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    group = ALL[path] if path else cli
    assert isinstance(group, click.Group)
    shown = [n for n in group.list_commands(click.Context(group)) if n != "hook"]
    assert names == shown


OPENS_A_STORE = sorted(p for p, (_, expected) in BAD.items() if expected == NO_STORE)


@pytest.mark.parametrize("given", ["MINDGIT_STORE", "--store"])
@pytest.mark.parametrize("path", OPENS_A_STORE)
def test_every_command_takes_its_store_from_the_same_places(
    mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str, given: str
) -> None:
    """A store named by MINDGIT_STORE or --store that is not there: every command opening one
    says so of that path (and of the variable, when it named it), not of the directory it ran
    in."""
    missing = tmp_path / "no-such-store"
    monkeypatch.chdir(tmp_path)
    args, _ = BAD[path]
    before = ["--store", str(missing)] if given == "--store" else []
    if given == "MINDGIT_STORE":
        monkeypatch.setenv("MINDGIT_STORE", str(missing))
    r = mg(*before, *path.split(), *args, "--json")
    assert r.code == 1, r.err
    assert str(missing) in r.err and (given != "MINDGIT_STORE" or given in r.err), r.err
    assert json.loads(r.out)["error"] in r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
