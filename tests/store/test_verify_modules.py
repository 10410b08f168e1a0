"""`verify` loads every stored fitness module in the sandbox, as pull and the server hook do:
a module that only looks like wasm, or asks for WASI, is named, not found out at merge time."""

from __future__ import annotations

import wasmtime

from mindgit.store.fitness_store import store_module
from mindgit.store.repository import Store
from tests.conftest import FIXTURES, Mg

FITNESS = FIXTURES / "fitness"


def _wasm(name: str) -> bytes:
    return bytes(wasmtime.wat2wasm((FITNESS / name).read_text()))


def test_a_module_the_sandbox_refuses_is_named(store: Store, mg: Mg) -> None:
    good = store_module(store, _wasm("onemax.wat"), "om")
    assert store.verify(all_refs=True).ok
    # Stored without the sandbox's checks, as a peer's copy could be.
    bad = store_module(store, _wasm("hostile/wasi_import.wat"), "wasi")
    report = store.verify(all_refs=True)
    assert [(p.commit, p.object) for p in report.problems] == [(bad.commit, "module.wasm")]
    assert "refused by the sandbox" in report.problems[0].reason
    assert good.commit not in {p.commit for p in report.problems}
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 1 and bad.commit[:12] in r.out + r.err


def test_bytes_that_only_start_like_wasm_are_named(store: Store) -> None:
    junk = store_module(store, b"\0asm\x01\0\0\0 not a module", "junk")
    report = store.verify(all_refs=True)
    assert [p.commit for p in report.problems] == [junk.commit]
    assert "refused by the sandbox" in report.problems[0].reason
