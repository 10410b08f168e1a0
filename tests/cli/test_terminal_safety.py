"""A state may be a peer's: its thoughts, tags and gene values never put control codes (OSC 52
writes the clipboard, CSI sequences repaint the screen) on the terminal of `show` or `diff`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.cli.output import emit_json, terminal_safe_json
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from mindgit.store.state import Block
from tests.conftest import Mg, git

CLIPBOARD = "\x1b]52;c;ZWNobyBwd25lZA==\x07"
# click drops CSI sequences itself when stdout is not a terminal (as here), but not OSC ones:
# each value carries both, so that the tests see what a terminal would get.
RED = "\x1b[31m" + CLIPBOARD


def hostile(path: Path) -> Store:
    store = init_store(path, "alpha")
    store.fork("peer")
    # Built as a peer's mindgit may have written it: this one refuses such a tag (make_thought).
    note = Block.encode({"tags": [f"tag{RED}"], "text": f"quiet{CLIPBOARD} dawn", "type": "note"})
    state = store.state("peer")
    thoughts = state.with_thoughts(state.thoughts | {note.cid})
    store.commit_state(thoughts, {note.cid: note.data}, "think", experiment="peer")
    store.set_genes(
        [
            Gene.make("motto", "str", f"be{RED}kind"),
            Gene.make("mode", "choice", "a", choices=["a", f"b{RED}"]),
        ],
        experiment="peer",
    )
    return store


def test_show_prints_no_control_codes(tmp_path: Path, mg: Mg) -> None:
    store = hostile(tmp_path / "alpha")
    r = mg("--store", str(store.path), "show", "-e", "peer")
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "quiet" in r.out and "dawn" in r.out and "be" in r.out


@pytest.mark.parametrize("order", [("main", "peer"), ("peer", "main")])
def test_diff_prints_no_control_codes(tmp_path: Path, mg: Mg, order: tuple[str, str]) -> None:
    store = hostile(tmp_path / "alpha")
    r = mg("--store", str(store.path), "diff", *order)
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "\x07" not in r.out
    assert "thought" in r.out and "gene motto" in r.out


def test_diff_names_a_private_thought_it_cannot_read(tmp_path: Path, mg: Mg) -> None:
    alpha = init_store(tmp_path / "alpha", "alpha")
    beta = init_store(tmp_path / "beta", "beta")
    alpha.trust.add(beta.public_key, "beta")
    base = alpha.head()
    r = mg("--store", str(alpha.path), "think", "for beta only", "--private", "--to", "beta")
    assert r.code == 0, r.err
    # A third node holds alpha's history (plain git) but is not a recipient.
    carol = init_store(tmp_path / "carol", "carol")
    git(f"--git-dir={carol.path}", "fetch", "-q", str(alpha.path), "+refs/heads/main:refs/heads/a")
    r = mg("--store", str(carol.path), "diff", base, "a")
    assert r.code == 0, r.err
    assert "private (2 recipients)" in r.out and "for beta only" not in r.out


@pytest.mark.parametrize(
    "value",
    ["[/x] closes a tag never opened", "[link=https://example.org]click[/link]", f"a{RED}b"],
)
def test_a_table_on_a_terminal_shows_cells_as_text(
    value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a peer says (a last error, say) reaches table cells: on a terminal they were read as
    # Rich markup (MarkupError, or an injected hyperlink) and printed control codes as they were.
    from mindgit.cli import output

    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    output.table("peers", ["name", "last error"], [["beta", value]])
    out = capsys.readouterr().out
    assert "\x1b" not in out.replace("\x1b[1m", "").replace("\x1b[0m", "").replace("\x1b[3m", "")
    assert "\x07" not in out and "\x1b]8;" not in out
    shown = "".join(c if c.isprintable() else "?" for c in value)
    assert shown[:12] in out


@settings(max_examples=300)
@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_json_output_reads_back_the_same_and_holds_nothing_a_terminal_obeys(data: object) -> None:
    # json.dumps escapes C0 codes only: C1 codes (U+009B is CSI) and bidi overrides from a
    # peer's words reached terminals through --json.
    text = terminal_safe_json(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
    assert json.loads(text) == data
    assert text.replace("\n", "").isprintable()


def test_emit_json_escapes_a_c1_code(capsys: pytest.CaptureFixture[str]) -> None:
    emit_json({"experiment": "x\u009b31m", "note": "caf\u00e9"})
    out = capsys.readouterr().out
    assert "\u009b" not in out and "\\u009b" in out and "caf\u00e9" in out
