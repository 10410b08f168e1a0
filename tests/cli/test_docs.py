"""README.md's usage walkthrough and Python snippet run as written, from a checkout."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def _env() -> dict[str, str]:
    # `mindgit` on PATH: the entry point installed next to this interpreter.
    bindir = Path(sys.executable).parent
    return {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}


def test_usage_walkthrough_runs_from_a_checkout() -> None:
    # The first block is the Quick start (install and test); the second is Usage.
    usage = re.findall(r"```sh\n(.*?)```", README, re.S)[1]
    assert "<did:key or ssh-ed25519 line>" in usage
    # The one placeholder: a real node's did:key, as `mindgit init` printed it.
    home = Path(os.environ["HOME"])
    beta = subprocess.run(
        ["mindgit", "init", str(home / "beta"), "--name", "beta"],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    ).stdout.strip()
    script = "set -euo pipefail\n" + usage.replace("<did:key or ssh-ed25519 line>", beta)
    proc = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "did:key:z6Mk" in proc.stdout and "+ thought" in proc.stdout
    assert "merged dreamer into main" in proc.stderr
    assert "deleted experiment dreamer" in proc.stderr
    # `~/minds/alpha` is under the test's HOME; after the merge, main has both sides' work.
    shown = subprocess.run(
        ["mindgit", "--store", str(home / "minds" / "alpha"), "show", "--json"],
        capture_output=True,
        text=True,
        env=_env(),
        check=True,
    )
    state = json.loads(shown.stdout)
    assert {t["text"] for t in state["thoughts"]} == {
        "the garden is quiet at dawn",
        "dreams of flight",
    }
    assert set(state["genome"]) == {"mode", "x0", "x1"}


def test_python_snippet_runs(tmp_path: Path) -> None:
    (code,) = re.findall(r"```python\n(.*?)```", README, re.S)
    assert "/tmp/minds/py" in code
    code = code.replace("/tmp/minds/py", str(tmp_path / "py"))
    code += "from mindgit.store import history\nprint([e.status for e in history.log(store)])\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["['good', 'good']"]
