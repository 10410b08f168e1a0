"""The committed builds are what their sources and rebuild commands produce (run only where the
toolchains are installed: clang + wasm-ld for C, assemblyscript's node_modules for AS)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mindgit.sandbox import FitnessModule
from tests.sandbox.helpers import FITNESS, load

README = (FITNESS / "README.md").read_text()
ASC = FITNESS / "assemblyscript" / "node_modules" / ".bin" / "asc"
VECTORS = [[0.0, 0.5, -1.25], [5.12, -5.12, 3.3333333333333335], [1e-300, 123.456, -0.0]]


def committed_digest(name: str) -> str:
    match = re.search(rf"^([0-9a-f]{{64}})  {re.escape(name)}$", README, re.MULTILINE)
    assert match, f"README.md lists no SHA-256 for {name}"
    return match.group(1)


def test_readme_digests_match_the_committed_builds() -> None:
    for name in ("rastrigin-as.wasm", "rastrigin-c.wasm"):
        assert hashlib.sha256((FITNESS / name).read_bytes()).hexdigest() == committed_digest(name)


@pytest.mark.skipif(
    shutil.which("clang") is None or shutil.which("wasm-ld") is None,
    reason="clang and wasm-ld (apt-get install clang lld) are not installed",
)
def test_c_rebuild(tmp_path: Path) -> None:
    command = README.split("```sh\nclang", 1)[1].split("```", 1)[0]
    argv = ["clang", *command.replace("\\\n", " ").split()]
    out = tmp_path / "rastrigin-c.wasm"
    argv[argv.index("-o") + 1] = str(out)
    subprocess.run(argv, cwd=FITNESS, check=True, capture_output=True, timeout=300)
    rebuilt = FitnessModule.load(out.read_bytes())
    # Another clang may emit other bytes; the scores must not change.
    assert rebuilt.score_batch(VECTORS, 3) == load("rastrigin-c.wasm").score_batch(VECTORS, 3)


@pytest.mark.skipif(shutil.which("npm") is None, reason="node/npm are not installed")
def test_assemblyscript_rebuild(tmp_path: Path) -> None:
    if not ASC.exists():
        # The pinned compiler comes from the lock file, as the README's rebuild command says.
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=FITNESS / "assemblyscript",
            check=True,
            capture_output=True,
            timeout=600,
        )
    out = tmp_path / "rastrigin-as.wasm"
    package = json.loads((FITNESS / "assemblyscript" / "package.json").read_text())
    argv = package["scripts"]["build"].split()
    assert argv[0] == "asc"
    argv[0] = str(ASC)
    argv[argv.index("--outFile") + 1] = str(out)
    subprocess.run(argv, cwd=FITNESS / "assemblyscript", check=True, timeout=300)
    # The compiler is pinned, so the bytes are too.
    assert hashlib.sha256(out.read_bytes()).hexdigest() == committed_digest("rastrigin-as.wasm")
