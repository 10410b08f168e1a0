"""docs/agent-files.md's command-line walkthrough runs as written and says what the page says.

(Its Python example and tables are checked by test_agentfile_docs.py; docs/ipfs.md's example by
test_car_docs.py.)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import FIXTURES, ROOT

DOC = (ROOT / "docs" / "agent-files.md").read_text()


def test_shell_walkthrough_runs_and_round_trips(tmp_path: Path) -> None:
    (shell,) = re.findall(r"```sh\n(.*?)```", DOC, re.S)
    bindir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "MINDGIT_STORE": str(tmp_path / "alpha"),
    }
    subprocess.run(
        ["mindgit", "init", str(tmp_path / "alpha"), "--name", "alpha"], env=env, check=True
    )
    out: dict[str, str] = {}
    for line in shell.splitlines():
        # The exported file goes to the scratch directory, not the checkout.
        line = line.replace("-o memgpt.af", f"-o {tmp_path / 'memgpt.af'}")
        proc = subprocess.run(
            ["bash", "-c", line], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
        )
        assert proc.returncode == 0, (line, proc.stderr)
        out[line.split()[1]] = proc.stdout
    assert out["import-af"] == "memgpt\n"  # "prints: memgpt"
    assert "human" in out["show"] and "persona" in out["show"] and "llm.temperature" in out["show"]
    for field in ("model", "blocks", "tools", "tool rules", "messages"):
        assert re.search(rf"^{field}\s", out["af-info"], re.M), field
    assert "~ memory human" in out["diff"] and "+First name: Ada" in out["diff"]
    # Edited, then rolled back: the agent file comes out as it went in.
    source = FIXTURES / "agent-files" / "memgpt_agent.af"
    assert (tmp_path / "memgpt.af").read_bytes() == source.read_bytes()
