"""The gate loads each new fitness module in the sandbox on a thread of its own, started before
the other commits are checked, and checks that module's commit last: it must find exactly the
problems, in the order, that checking each commit in turn finds, and leave no thread behind."""

from __future__ import annotations

import threading
from itertools import permutations

import pytest
import wasmtime

from mindgit.store import verify
from mindgit.store.fitness_store import store_module
from mindgit.store.repository import Store
from mindgit.store.verify import Problem, Verifier
from mindgit.sync.gate import verify_new_commits
from tests.conftest import FIXTURES
from tests.sync import forge

FITNESS = FIXTURES / "fitness"


def _wasm(name: str) -> bytes:
    return bytes(wasmtime.wat2wasm((FITNESS / name).read_text()))


def _in_turn(store: Store, commits: list[str]) -> list[Problem]:
    """Each commit checked in turn, each module loaded when its commit is checked."""
    verifier = Verifier(store.repo, store.trust)
    return [p for oid in commits for p in verifier.check_commit(oid).problems]


@pytest.fixture
def commits(store: Store) -> list[str]:
    good = store_module(store, _wasm("onemax.wat"), "om").commit
    # Stored without the sandbox's checks, as a peer's copy could be.
    wasi = store_module(store, _wasm("hostile/wasi_import.wat"), "wasi").commit
    junk = store_module(store, b"\0asm\x01\0\0\0 not a module", "junk").commit
    head = store.head(store.current)
    assert head is not None
    return [good, wasi, junk, head, forge.unsigned(store, store.current)]


def test_modules_loaded_ahead_find_what_loading_in_turn_finds(
    store: Store, commits: list[str]
) -> None:
    for order in permutations(commits, 4):
        got = verify_new_commits(store.repo, store.trust, order, workers=1).problems
        assert list(got) == _in_turn(store, list(order))
    found = verify_new_commits(store.repo, store.trust, commits, workers=1).problems
    assert [p.commit for p in found if "refused by the sandbox" in p.reason] == commits[1:3]
    assert not [t for t in threading.enumerate() if t.name == "mindgit-module-load"]


def test_an_error_in_a_load_is_raised_as_a_load_in_turn_raises_it(
    store: Store, commits: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(wasm: bytes, *, bounded: bool = True) -> str | None:
        raise RuntimeError("the sandbox broke")

    monkeypatch.setattr(verify, "_load_refusal", broken)
    with pytest.raises(RuntimeError, match="the sandbox broke"):
        verify_new_commits(store.repo, store.trust, commits, workers=1)
    with pytest.raises(RuntimeError, match="the sandbox broke"):
        _in_turn(store, commits)
