"""The compiled-module cache: keyed by wasmtime version and configuration, private, checked
before use, rebuilt when corrupt."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from mindgit.sandbox import FitnessModule, FuelExhausted, Limits, UnsafeCacheDir
from mindgit.sandbox import cache as cache_mod
from mindgit.sandbox.engine import config_key, engine, wasmtime_version
from tests.sandbox.helpers import DEFAULT_LIMITS, FITNESS, HOSTILE

RASTRIGIN = (FITNESS / "rastrigin.wat").read_bytes()
LOOP = (HOSTILE / "infinite_loop.wat").read_bytes()


def cache_path(cache_dir: Path, wasm: bytes, limits: Limits = DEFAULT_LIMITS) -> Path:
    digest = hashlib.sha256(wasm).hexdigest()
    return cache_dir / config_key(limits.stack_bytes) / f"{digest}.cwasm"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_layout_and_privacy(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    module = FitnessModule.load(RASTRIGIN, cache_dir=cache_dir)
    path = cache_path(cache_dir, RASTRIGIN)
    assert path.is_file()
    assert path.parent.name.startswith(f"{wasmtime_version()}-")
    assert mode(cache_dir) == 0o700 and mode(path.parent) == 0o700
    assert mode(path) & 0o077 == 0
    assert module.cid_digest == hashlib.sha256(RASTRIGIN).digest()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left behind


def test_the_version_in_the_key_is_the_installed_one() -> None:
    import importlib.metadata

    assert wasmtime_version() == importlib.metadata.version("wasmtime")


def test_a_cached_load_does_not_import_importlib_metadata(tmp_path: Path) -> None:
    # Reading the version through importlib.metadata cost every evolve ~10-20 ms of start-up.
    code = (
        "import sys; from pathlib import Path; from mindgit.sandbox import FitnessModule; "
        f"FitnessModule.load(Path({str(FITNESS / 'rastrigin.wat')!r}).read_bytes(), "
        f"cache_dir=Path({str(tmp_path)!r})); print('importlib.metadata' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert any(tmp_path.rglob("*.cwasm"))


def test_key_changes_with_configuration(tmp_path: Path) -> None:
    assert config_key(512 << 10) != config_key(1 << 20)
    assert config_key(512 << 10) == config_key(512 << 10)
    FitnessModule.load(RASTRIGIN, cache_dir=tmp_path)
    FitnessModule.load(RASTRIGIN, cache_dir=tmp_path, limits=Limits(stack_bytes=1 << 20))
    assert cache_path(tmp_path, RASTRIGIN).is_file()
    assert cache_path(tmp_path, RASTRIGIN, Limits(stack_bytes=1 << 20)).is_file()
    assert len(list(tmp_path.iterdir())) == 2


def test_cached_code_is_what_runs(tmp_path: Path) -> None:
    # Plant the compiled loop module under rastrigin's name: loading rastrigin now runs the
    # loop, which shows both that the cache is used and why it must stay private.
    FitnessModule.load(LOOP, cache_dir=tmp_path)
    path = cache_path(tmp_path, RASTRIGIN)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    path.write_bytes(cache_path(tmp_path, LOOP).read_bytes())
    planted = FitnessModule.load(RASTRIGIN, cache_dir=tmp_path, limits=Limits(fuel=10_000))
    with pytest.raises(FuelExhausted):
        planted.score(b"{}")


@pytest.mark.parametrize(
    "damage",
    ["flip", "truncate", "empty", "magic", "payload-garbage"],
)
def test_corrupt_cache_is_ignored_and_rebuilt(tmp_path: Path, damage: str) -> None:
    FitnessModule.load(RASTRIGIN, cache_dir=tmp_path)
    path = cache_path(tmp_path, RASTRIGIN)
    good = path.read_bytes()
    if damage == "flip":
        bad = bytearray(good)
        bad[len(bad) // 2] ^= 0x40
        path.write_bytes(bytes(bad))
    elif damage == "truncate":
        path.write_bytes(good[: len(good) // 3])
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "magic":
        path.write_bytes(b"X" + good[1:])
    else:
        # A checksum that matches, over bytes that are not compiled code at all.
        payload = b"not an ELF object" * 50
        path.write_bytes(b"mindgit-cwasm 1\n" + hashlib.sha256(payload).digest() + payload)
    module = FitnessModule.load(RASTRIGIN, cache_dir=tmp_path)
    assert module.score_batch([[0.5, 1.0]], 2) == [-21.25]
    assert cache_mod.load(path, engine(Limits().stack_bytes)) is not None  # rewritten, valid


def test_code_compiled_under_another_configuration_is_refused(tmp_path: Path) -> None:
    # Code compiled without fuel metering, with a valid checksum, at the right path: wasmtime
    # refuses it, so the loop is recompiled with fuel and still stops.
    foreign = wasmtime.Module(wasmtime.Engine(), LOOP).serialize()
    path = cache_path(tmp_path, LOOP)
    path.parent.mkdir(mode=0o700, parents=True)
    path.write_bytes(b"mindgit-cwasm 1\n" + hashlib.sha256(foreign).digest() + bytes(foreign))
    module = FitnessModule.load(LOOP, cache_dir=tmp_path, limits=Limits(fuel=10_000))
    with pytest.raises(FuelExhausted):
        module.score(b"{}")


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o755)
    cache_dir.chmod(0o777)
    FitnessModule.load(RASTRIGIN, cache_dir=cache_dir)
    assert mode(cache_dir) == 0o700


def test_symlinked_cache_dir_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(UnsafeCacheDir) as info:
        FitnessModule.load(RASTRIGIN, cache_dir=link)
    assert info.value.path == str(link)


def test_cache_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"")
    with pytest.raises(UnsafeCacheDir) as info:
        FitnessModule.load(RASTRIGIN, cache_dir=path)
    assert "not a directory" in str(info.value)
    with pytest.raises(UnsafeCacheDir):
        FitnessModule.load(RASTRIGIN, cache_dir=path / "below")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory to another user")
def test_cache_dir_owned_by_someone_else_is_refused(tmp_path: Path) -> None:
    cache_dir = tmp_path / "theirs"
    cache_dir.mkdir(mode=0o700)
    os.chown(cache_dir, 65534, 65534)
    with pytest.raises(UnsafeCacheDir) as info:
        FitnessModule.load(RASTRIGIN, cache_dir=cache_dir)
    assert "uid 65534" in str(info.value)
