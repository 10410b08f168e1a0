"""The "no room for suffixes" refusal of `import-af --as NAME` repeated the suffixed name whole:
of a name of 1,007 characters (ten parts), a line of over 1,200. It quotes it cut
(errors.quoted): one short line, exit 1, nothing imported."""

from __future__ import annotations

from pathlib import Path

from mindgit.errors import quoted
from mindgit.store.repository import Store
from tests.adapters.test_agentfile_as_length import agent_file
from tests.conftest import Mg
from tests.snapshots import changed, snapshot


def test_a_long_name_with_no_room_for_the_suffixes_is_quoted_cut(
    store: Store, mg: Mg, tmp_path: Path
) -> None:
    twelve = agent_file(tmp_path / "twelve.af", 12)
    name = "/".join(["p" * 100] * 9) + "/" + "z" * 98  # 1,007 characters; -10 makes 101
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "import-af", str(twelve), "--as", name)
    assert (r.code, r.out) == (1, ""), r.err[:500]
    assert r.err.count("\n") == 1 and len(r.err) < len(str(twelve)) + 450, r.err
    assert f"experiment name {quoted(name + '-10', 120)} (the name given, suffixed" in r.err, r.err
    assert "(1010 characters)" in r.err and "its last part is 101 characters long" in r.err
    assert not changed(before, store.path)
