"""A host that cannot run modules faithfully (HostUnfit) fails the check, not the module.

A compiled-module cache that is not a private directory, or a floating-point mode left changed
by a library, is this machine's state: verify, a pull's gate and `verify --recompute` said the
module "does not load" or "is refused by the sandbox", refusing a peer's commit or calling
every claim unverifiable for it. They now end with the host's own error, once.
"""

from __future__ import annotations

import ctypes.util
import platform
import subprocess
import sys

import pytest

from mindgit.evolve.fitness import add_fitness, cache_dir
from mindgit.evolve.run import start_run
from mindgit.store.generation import RunParams
from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from tests.conftest import FIXTURES, ROOT, Mg

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"


def evolved(store: Store) -> None:
    store.set_genes([Gene.make(f"x{i}", "float", 1.5 - i, min=-5.12, max=5.12) for i in range(2)])
    result = start_run(store, str(RASTRIGIN), RunParams(population=4, generations=2, seed=3))
    assert result.complete


def test_recompute_with_a_cache_that_is_no_directory_fails_once_naming_the_cache(
    store: Store, mg: Mg
) -> None:
    evolved(store)
    cache = cache_dir(store)
    for entry in cache.rglob("*"):
        if entry.is_file():
            entry.unlink()
    for entry in sorted(cache.rglob("*"), reverse=True):
        entry.rmdir()
    cache.rmdir()
    cache.write_text("not a directory\n")
    res = mg("--store", str(store.path), "verify", "--all", "--recompute", "all")
    assert res.code == 1, res.err
    assert f"refusing compiled-module cache {cache}: it is not a directory" in res.err
    assert "does not load" not in res.err and "cannot be re-checked" not in res.err
    assert len(res.err.strip().splitlines()) == 1, res.err
    assert cache.read_text() == "not a directory\n"


# Checks a store holding a fitness module commit with rounding set upward (fesetround), as a
# library loaded into the process may leave it: the sandbox refuses to compile under it.
VERIFY_UNDER_ROUNDING = """
import ctypes, ctypes.util, sys
from mindgit.sandbox import HostFloatModeChanged
from mindgit.store.repository import Store
from mindgit.store.verify import verify_commits
store = Store(sys.argv[1])
tips = [str(store.repo.references[r].target) for r in store.repo.references]
assert verify_commits(store.repo, store.trust, tips).ok
ctypes.CDLL(ctypes.util.find_library("m")).fesetround(0x800)  # x86-64 FE_UPWARD
try:
    report = verify_commits(store.repo, store.trust, tips)
except HostFloatModeChanged:
    print("HostFloatModeChanged")
else:
    print("problems:", [p.reason for p in report.problems])
"""


@pytest.mark.skipif(
    platform.machine() not in ("x86_64", "AMD64") or ctypes.util.find_library("m") is None,
    reason="x86-64's FE_UPWARD",
)
def test_verify_under_a_changed_float_mode_raises_rather_than_refusing_the_module(
    store: Store,
) -> None:
    add_fitness(store, RASTRIGIN)
    done = subprocess.run(
        [sys.executable, "-c", VERIFY_UNDER_ROUNDING, str(store.path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["HostFloatModeChanged"], done.stdout


# A module's instance under an address-space limit its memory reservation does not fit in:
# wasmtime's "mmap failed to reserve ..." is the system's refusal, which was recorded as the
# module's trap ("fails on the start state (trap)", a claim no other machine reproduces).
UNDER_RLIMIT_AS = """
import resource, sys
from mindgit.sandbox import FitnessModule, HostResourcesFailed
module = FitnessModule.load(open(sys.argv[1], "rb").read())
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, resource.RLIM_INFINITY))
try:
    print("scored", module.score(b'{"genome":{}}'))
except HostResourcesFailed as e:
    print("HostResourcesFailed", "mmap" in e.detail)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="wasmtime's reservation under RLIMIT_AS")
def test_the_system_refusing_an_instance_its_memory_is_the_host_s_error_not_a_trap() -> None:
    done = subprocess.run(
        [sys.executable, "-c", UNDER_RLIMIT_AS, str(RASTRIGIN)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if done.stdout.startswith("scored"):
        pytest.skip("this wasmtime reserves little enough address space to fit under 3 GiB")
    assert done.stdout.split() == ["HostResourcesFailed", "True"], done.stdout
