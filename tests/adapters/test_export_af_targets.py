"""Where `export-af -o` may write: never into a store (this one or another), never a file named
after a directory given with a trailing slash, and never the agent file and --json's document
both on standard output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.adapters.agentfile import import_af
from mindgit.store.repository import Store, init_store
from tests.adapters.test_agentfile_builders import AGENT_FILES
from tests.conftest import Mg, stdout_to_file
from tests.snapshots import snapshot

EVIE = AGENT_FILES / "evie.af"


@pytest.fixture
def agents(store: Store) -> list[str]:
    """The experiments of one two-agent import."""
    return [a.experiment for a in import_af(store, EVIE)]


def test_into_another_store_is_refused(
    store: Store, agents: list[str], mg: Mg, tmp_path: Path
) -> None:
    # Only the exporting store was guarded: `-o ../other/HEAD` left a store that did not open.
    other = init_store(tmp_path / "other", "other")
    before = snapshot(other.path)
    r = mg("--store", str(store.path), "export-af", *agents, "-o", str(other.path / "HEAD"))
    assert r.code == 2 and "inside the store" in r.err and r.err.count("\n") == 1
    assert snapshot(other.path) == before


@pytest.mark.parametrize("suffix", ["/", "/.", "/.."])
def test_a_directory_spelling_is_refused(
    store: Store, agents: list[str], mg: Mg, tmp_path: Path, suffix: str
) -> None:
    # pathlib drops a trailing '/': `-o out/` wrote a file named out.
    target = f"{tmp_path / 'out'}{suffix}"
    r = mg("--store", str(store.path), "export-af", *agents, "-o", target)
    assert r.code == 2 and "names a directory" in r.err
    assert not (tmp_path / "out").exists()


def export_to_stdout(store: Store, tmp_path: Path, *args: str) -> tuple[int, bytes, bytes]:
    """`mindgit export-af ARGS` with standard output a real file."""
    return stdout_to_file(tmp_path, "--store", str(store.path), "export-af", *args)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="/dev/fd/N is Linux's")
@pytest.mark.parametrize("target", ["/dev/stdout", "/dev/fd/1"])
def test_stdout_by_name_with_json_is_refused(
    store: Store, agents: list[str], tmp_path: Path, target: str
) -> None:
    code, out, err = export_to_stdout(store, tmp_path, *agents, "-o", target, "--json")
    assert code == 2
    assert f"-o {target} and --json both write to stdout; pick one".encode() in err
    assert json.loads(out)["type"] == "UsageError"  # --json's error document, and no agent file


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="/dev/fd/N is Linux's")
def test_stdout_by_name_alone_is_the_agent_file(
    store: Store, agents: list[str], tmp_path: Path
) -> None:
    code, out, err = export_to_stdout(store, tmp_path, *agents, "-o", "/dev/stdout")
    assert code == 0, err
    assert json.loads(out)["agents"][0]["name"] == "Evie"
