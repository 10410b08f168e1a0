"""A damaged peer state file (`mindgit/peers/<peer>.json`: empty after a crash, or garbage) only
held times and errors: a pull or push goes on and writes it afresh.

Bug: a push with a damaged state file pushed every ref, then failed on reading the file ("cannot
read peer state ...", exit 1) with nothing reported of what it had pushed; a pull moved refs and
marks, then failed alike."""

from __future__ import annotations

import json

import pytest

from mindgit.sync.peers import read_state, state_path
from tests.conftest import Mg, git
from tests.sync.conftest import Nodes


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"version": 99}'])
def test_a_push_with_a_damaged_state_file_pushes_and_says_so(
    pair: Nodes, mg: Mg, damage: bytes
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    alpha.fork("dreams")
    tip = alpha.think("dreams of flight")[0].id
    path = state_path(alpha, "beta")
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(damage)

    r = mg("--store", str(alpha.path), "push", "beta", "dreams", "--json")
    assert r.code == 0, r
    [ref] = json.loads(r.out)["refs"]
    assert (ref["ref"], ref["status"], ref["after"]) == ("refs/heads/dreams", "created", tip)
    assert git(f"--git-dir={beta.path}", "rev-parse", "refs/heads/dreams").strip() == tip
    state = read_state(alpha, "beta")  # written afresh, readable again
    assert state.last_push is not None and state.last_error is None
    assert state.seen["refs/heads/dreams"].commit == tip


@pytest.mark.parametrize("damage", [b"", b"{not json"])
def test_a_pull_with_a_damaged_state_file_pulls_and_says_so(
    pair: Nodes, mg: Mg, damage: bytes
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("dreams")
    tip = beta.think("dreams of flight")[0].id
    path = state_path(alpha, "beta")
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(damage)

    r = mg("--store", str(alpha.path), "pull", "beta", "--json")
    assert r.code == 0, r
    refs = {x["ref"]: x for x in json.loads(r.out)["refs"]}
    assert refs["refs/heads/dreams"]["status"] == "new"
    assert git(f"--git-dir={alpha.path}", "rev-parse", "refs/heads/dreams").strip() == tip
    state = read_state(alpha, "beta")
    assert state.last_pull is not None and state.last_error is None
