"""A store whose trust file is gone (review C, pass 16): verify failed every commit, the node's
own too, as "signed by untrusted key", and log marked them so, with no word of why. Both warn
now, naming the file and the `trust add` that trusts the node again."""

from __future__ import annotations

import json
import shlex

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg


@pytest.mark.parametrize("args", [("verify",), ("log",), ("log", "--json"), ("verify", "--json")])
def test_a_missing_trust_file_is_named(store: Store, mg: Mg, args: tuple[str, ...]) -> None:
    store.think("one")
    trust = store.path / "mindgit" / "allowed_signers"
    trust.unlink()
    r = mg("--store", str(store.path), *args)
    warning = f"mindgit: warning: {trust} does not exist: no node is trusted, this one neither"
    assert warning in r.err, r.err
    if "--json" in args:
        json.loads(r.out)  # the warning is on stderr only
    command = r.err.split("(hint: `")[1].split("`")[0]
    assert mg("--store", str(store.path), *shlex.split(command)[1:]).code == 0
    again = mg("--store", str(store.path), "verify")
    assert again.code == 0 and "warning" not in again.err


def test_no_warning_while_the_file_is_there(store: Store, mg: Mg) -> None:
    r = mg("--store", str(store.path), "verify")
    assert r.code == 0 and "warning" not in r.err
