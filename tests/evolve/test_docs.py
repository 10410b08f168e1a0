"""docs/evolve.md's shell and Python examples run as written, and agree with each other."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

DOC = (ROOT / "docs" / "evolve.md").read_text()


def _mindgit_env(store: Path) -> dict[str, str]:
    bindir = Path(sys.executable).parent
    return {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "MINDGIT_STORE": str(store),
    }


def _bash(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def test_shell_and_python_examples_run_and_breed_the_same_run(tmp_path: Path) -> None:
    (shell,) = re.findall(r"```sh\n(.*?)```", DOC, re.S)
    (code,) = re.findall(r"```python\n(.*?)```", DOC, re.S)
    genome_line = shell.splitlines()[0]
    assert genome_line.startswith("mindgit genome set ")

    cli_store = tmp_path / "cli"
    env = _mindgit_env(cli_store)
    subprocess.run(["mindgit", "init", str(cli_store), "--name", "alpha"], env=env, check=True)
    run_id = ""
    for line in shell.splitlines():
        line = line.replace("<run>", run_id)
        if "<state-cid | commit>" in line:
            head = json.loads(_bash("mindgit show --json", env, ROOT).stdout)
            line = line.replace("<state-cid | commit>", head["state"])
        line = line.replace("-o fitness.png", f"-o {tmp_path / 'fitness.png'}")
        proc = _bash(line, env, ROOT)
        if "--resume" in line:
            # Nothing was stopped here, so there is nothing to resume: one line, exit 1.
            assert proc.returncode == 1 and "nothing to resume" in proc.stderr, proc.stderr
            continue
        assert proc.returncode == 0, (line, proc.stderr)
        if line.startswith("mindgit evolve"):
            listed = _bash("mindgit runs --json", env, ROOT)
            [run] = json.loads(listed.stdout)
            run_id = run["run"]
        if "--check" in line:
            assert "identical" in proc.stdout
        if line.startswith("mindgit lineage"):
            assert f"run {run_id} on main" in proc.stdout
    assert run_id and (tmp_path / "fitness.png").read_bytes().startswith(b"\x89PNG")
    shown = json.loads(_bash("mindgit show --json", env, ROOT).stdout)

    # The Python example on a store with the same genome: the same run, bit for bit.
    py_store = tmp_path / "py"
    py_env = _mindgit_env(py_store)
    subprocess.run(["mindgit", "init", str(py_store), "--name", "alpha"], env=py_env, check=True)
    assert _bash(genome_line, py_env, ROOT).returncode == 0
    assert "/tmp/minds/alpha" in code
    proc = subprocess.run(
        [sys.executable, "-c", code.replace("/tmp/minds/alpha", str(py_store))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 50 + 2 and lines[0].startswith("0 ")
    _, best_score, best_state, _ = lines[-2].split()
    assert best_state == shown["state"]
    assert float(best_score) == float(lines[-3].split()[1])
