"""`mindgit cat CID` printed a block's strings as dagjson writes them, raw UTF-8: a peer's thought
holding U+009B (CSI, `\\x9b31m`) or a bidi override (U+202E) went to the terminal as such, where
`cat --json` and `show` neutralise them. The indented form escapes them as --json does, and
still reads back as the same value; --raw stays the block's exact bytes."""

from __future__ import annotations

import json
from pathlib import Path

from mindgit.ipld import dagjson
from mindgit.store.repository import init_store
from tests.conftest import Mg

WORDS = "evil \x9b31m red \u202e \x9d0;pwned\x07 done"


def test_cat_escapes_what_a_terminal_would_act_on(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "s", "s")
    _, cid = store.think(WORDS, ["peer"])
    r = mg("--store", str(store.path), "cat", str(cid))
    assert r.code == 0, r.err
    assert all(c == "\n" or c.isprintable() for c in r.out), repr(r.out)
    assert "\\u009b31m" in r.out and "\\u202e" in r.out and "\\u0007" in r.out
    value = json.loads(r.out)
    assert value == {"tags": ["peer"], "text": WORDS, "type": "note"}
    raw = mg("--store", str(store.path), "cat", str(cid), "--raw")
    assert raw.code == 0
    block = dagjson.decode(raw.out.encode())  # the exact bytes, unescaped
    assert isinstance(block, dict) and block["text"] == WORDS


def test_a_plain_block_prints_as_before(tmp_path: Path, mg: Mg) -> None:
    store = init_store(tmp_path / "s", "s")
    _, cid = store.think("the garden is quiet at dawn, é", ["dawn"])
    r = mg("--store", str(store.path), "cat", str(cid))
    assert r.out == (
        '{\n  "tags": [\n    "dawn"\n  ],\n  "text": "the garden is quiet at dawn, é",\n'
        '  "type": "note"\n}\n'
    )
