"""Review I: `mindgit cat` refused any CID spelled with a '/' as an IPLD path (exit 2), and
base64 (multibase 'm', `ipfs cid format -b base64`) spells about half of all CIDs with one,
while CID.parse reads every multibase. Only text that is no CID is taken for a path now."""

from __future__ import annotations

from multiformats import multibase

from mindgit.ipld import dagjson
from mindgit.store.repository import Store
from tests.conftest import Mg


def test_a_cid_in_base64_with_a_slash_is_read(store: Store, mg: Mg) -> None:
    for i in range(100):
        _, cid = store.think(f"thought {i}")
        text = multibase.encode(cid.to_bytes(), "base64")
        if "/" in text:
            break
    assert "/" in text
    r = mg("--store", str(store.path), "cat", text, "--raw")
    assert r.code == 0, r.err
    assert dagjson.decode(r.out.encode()) == {"tags": [], "text": f"thought {i}", "type": "note"}


def test_a_path_after_a_cid_is_still_a_path(store: Store, mg: Mg) -> None:
    _, cid = store.think("a thought")
    for text in (f"{cid}/text", "m" + multibase.encode(cid.to_bytes(), "base64")[1:] + "/text"):
        r = mg("--store", str(store.path), "cat", text)
        assert r.code == 2 and f"{text!r} is an IPLD path" in r.err, r.err
