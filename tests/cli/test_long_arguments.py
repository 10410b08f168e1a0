"""Errors echoed what the user typed whole: `mindgit plot <100,000 characters>` printed a 100 KB
line, and so did lineage, runs --check/--delete, evolve --resume, switch, fork, -e and
import-af --as. Each now quotes the text cut to 80 characters with its length
(mindgit.errors.quoted, as `cat` already cut a CID): one short line, the same exit code, nothing
changed on disk."""

from __future__ import annotations

import pytest

from mindgit.errors import quoted
from mindgit.store.repository import Store
from tests.conftest import FIXTURES, Mg
from tests.snapshots import changed, snapshot

LONG = "a" * 100_000
SHOWN = f"{'a' * 80!r}... (100000 characters)"

# Each command line with ARG where the long text goes, and the exit code it fails with: 2 for
# text no run id, experiment name or CID can be; lineage's target is 1, as for any target no
# run made (docs/evolve.md).
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
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_100000_character_argument_is_quoted_cut(store: Store, mg: Mg, command: str) -> None:
    args, code = COMMANDS[command]
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *(LONG if a == "ARG" else a for a in args))
    assert (r.code, r.out) == (code, ""), r.err[:500]
    assert r.err.startswith("mindgit: error: ") and r.err.count("\n") == 1, r.err[:500]
    assert len(r.err) < 300, r.err[:500]
    assert SHOWN in r.err, r.err
    assert not changed(before, store.path)


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
