"""`kill -9` of a real `import-af` of many agents while it makes their experiments, at a
different count of refs each time: the rerun finishes the import, keeping what was made."""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

from mindgit.store.repository import Store, open_store
from tests.conftest import FIXTURES, fsck
from tests.store.test_kill_audit import _argv, _env, _locks, _refs, verify_all

AGENTS = 30


def many_agents(path: Path) -> Path:
    """memgpt_agent.af's one agent, AGENTS times under their own ids and names."""
    value = json.loads((FIXTURES / "agent-files" / "memgpt_agent.af").read_text())
    if isinstance(value, str):  # the fixture is a JSON document inside a JSON string
        value = json.loads(value)
    agent = value["agents"][0]
    value["agents"] = [
        {**copy.deepcopy(agent), "id": f"agent-{n}", "name": f"ag{n}"} for n in range(AGENTS)
    ]
    path.write_text(json.dumps(value))
    return path


def _heads(store: Path) -> int:
    try:
        return len(os.listdir(store / "refs" / "heads"))  # lock files count: a ref under way
    except FileNotFoundError:
        return 0


def test_import_af_of_many_agents_killed_between_their_refs(store: Store, tmp_path: Path) -> None:
    af = many_agents(tmp_path / "many.af")
    pristine = tmp_path / "pristine"
    shutil.copytree(store.path, pristine, symlinks=True)
    rng = random.Random(11)
    cut = 0
    for attempt in range(4):
        where = f"attempt {attempt}"
        shutil.rmtree(store.path)
        shutil.copytree(pristine, store.path, symlinks=True)
        target = rng.randint(2, AGENTS)  # main, then the agents' refs one by one
        victim = subprocess.Popen(
            _argv(store.path, ("import-af", str(af))),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=_env(store.path),
            start_new_session=True,
        )
        # Killed once its refs reach the target count: a place in the import, not a time.
        while victim.poll() is None and _heads(store.path) < target:
            time.sleep(0.001)
        if victim.poll() is None:
            os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(timeout=60)
        made = {r.removeprefix("refs/heads/") for r in _refs(store.path) if r != "refs/heads/main"}
        fsck(store.path)
        verify_all(store.path)
        again = subprocess.run(
            _argv(store.path, ("import-af", str(af), "--json")),
            capture_output=True,
            text=True,
            env=_env(store.path),
        )
        if len(made) == AGENTS:
            assert again.returncode == 1 and "already exists" in again.stderr, (where, again)
        else:
            cut += 1
            assert again.returncode == 0, (where, again.stderr)
            report = json.loads(again.stdout)
            assert {a["experiment"] for a in report if a["earlier"]} == made, where
        assert len(open_store(store.path).experiments()) == AGENTS + 1, where
        assert _locks(store.path) == [], where
        fsck(store.path)
        verify_all(store.path)
    assert cut > 0  # at least one kill fell between two agents' refs
