"""Bad input the store layer must refuse (found by the CLI bad-input audit): one error line, a
non-zero exit, the store unchanged; and damaged store files named, not reported as mindgit bugs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import Store, init_store
from mindgit.store.state import Block, SchemaError, make_thought
from tests.cli.test_bad_input_audit import assert_one_error_line, changes, snapshot
from tests.conftest import Mg

CONTROL_TAGS = ["a\nb", "a\x1b", "a\tb", "a\rb", "\x00", "a\x7fb", "a\u0085b", "a\u2028b"]


@pytest.fixture
def alpha(tmp_path: Path) -> Store:
    store = init_store(tmp_path / "alpha", "alpha")
    store.think("hello", ["greeting"])
    return store


# -- thought tags ---------------------------------------------------------------------------


@pytest.mark.parametrize("tag", CONTROL_TAGS)
def test_a_tag_with_a_character_that_is_not_printable_is_refused(tag: str) -> None:
    with pytest.raises(SchemaError, match="printable"):
        make_thought("x", [tag])


@pytest.mark.parametrize("tag", ["a b", "café", "日本", "x" * 128, "a-b:c/d"])
def test_printable_tags_are_kept(tag: str) -> None:
    assert make_thought("x", [tag]).data.count(tag.encode()) == 1


@pytest.mark.parametrize("tag", ["sec\nret", "sec\x1bret", "sec\tret"])
def test_think_refuses_a_control_character_in_a_tag(alpha: Store, mg: Mg, tag: str) -> None:
    before = snapshot(alpha.path)
    for private in ([], ["--private"]):
        r = mg("--store", str(alpha.path), "think", "x", "--tag", tag, *private)
        assert_one_error_line(r.code, r.err)
        assert "tag" in r.err and "printable" in r.err
        # The tags of a private thought are private: the error does not quote them.
        assert ("sec" in r.err) is not bool(private)
    assert changes(before, snapshot(alpha.path)) == []


def test_a_stored_thought_with_a_control_character_in_a_tag_still_reads(
    alpha: Store, mg: Mg
) -> None:
    # Written before tags were checked (or by another mindgit): the note is valid DAG-JSON under
    # its CID, so refusing it now would make history that verified fail.
    block = Block.encode({"tags": ["a\nb"], "text": "old", "type": "note"})
    state = alpha.state()
    alpha.commit_state(
        state.with_thoughts(state.thoughts | {block.cid}), {block.cid: block.data}, "old"
    )
    assert alpha.verify(all_refs=True).ok
    assert alpha.thought(block.cid) == block.data
    r = mg("--store", str(alpha.path), "show")
    assert r.code == 0 and "old" in r.out
    assert mg("--store", str(alpha.path), "verify", "--all").code == 0
