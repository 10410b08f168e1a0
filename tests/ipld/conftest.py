"""Fixtures for the ipld tests, including ``js_ipld``: the JavaScript IPLD stack as an oracle.

``js_ipld`` runs the scripts in ``fixtures/js/`` with node, against ``@ipld/dag-json``,
``@ipld/car`` and ``multiformats`` pinned by ``fixtures/js/package-lock.json``. The first use in a
session runs ``npm ci --no-audit --no-fund`` there if ``node_modules`` is missing or older than
the lock file; an npm failure fails the test loudly. Only when ``node`` or ``npm`` is not on PATH
is the test skipped, with that reason. Node takes ~0.3 s to start: check many blocks per call.

Usage from another layer's tests (``tests`` is a package and the repository root is on
``pythonpath``): a ``tests/<layer>/conftest.py`` makes the fixture visible with
``from tests.ipld.conftest import js_ipld  # noqa: F401``; then::

    def test_export_loads_in_js(js_ipld, tmp_path):
        car = tmp_path / "state.car"
        ...write the CAR...
        report = js_ipld.json("check-blocks.mjs", "--car", str(car))
        assert report["missing"] == []
        assert all(b["hash_ok"] and b["identical"] for b in report["blocks"])

``js_ipld(script, *args, input=b"...")`` returns the ``subprocess.CompletedProcess`` (bytes; fails
the test on a non-zero exit unless ``check=False``); ``js_ipld.json(...)`` parses stdout as JSON.

Scripts (see the header of each for details):

- ``check-blocks.mjs --car FILE`` / ``[--root CID]... --dir DIR`` / ``[--root CID]... FILE...``:
  for each block (files are named ``<cid>.<ext>``) reports ``cid``, ``codec``, ``computed`` (the
  CIDv1 of the bytes), ``hash_ok``, ``decoded``, ``identical`` (decode + re-encode gives the same
  bytes), ``reencoded_cid``, ``links`` and ``error``; then walks from the roots and reports
  ``reachable`` CIDs and ``missing`` links (``{"cid", "from"}``).
- ``encode-numbers.mjs``: stdin a JSON list of IEEE-754 bit patterns (16 hex digits), stdout the
  DAG-JSON block of that list of numbers as ``@ipld/dag-json`` writes it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = ROOT / "fixtures" / "js"
CODEC_FIXTURES = ROOT / "fixtures" / "ipld-codec-fixtures"


class JsIpld:
    """Runs a script from fixtures/js with node; see the module docstring."""

    def __init__(self, node: str, directory: Path) -> None:
        self.node = node
        self.directory = directory

    def __call__(
        self, script: str, *args: str, input: bytes | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            [self.node, str(self.directory / script), *args],
            input=input,
            capture_output=True,
            cwd=self.directory,
            timeout=600,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"node {script} exited {result.returncode}:\n{result.stderr.decode(errors='replace')}"
            )
        return result

    def json(self, script: str, *args: str, input: bytes | None = None) -> Any:
        return json.loads(self(script, *args, input=input).stdout)


def _needs_install(directory: Path) -> bool:
    marker = directory / "node_modules" / ".package-lock.json"
    lock = directory / "package-lock.json"
    return not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime


@pytest.fixture(scope="session")
def js_ipld(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsIpld]:
    """The JavaScript IPLD stack (see the module docstring); skips only without node/npm."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the JavaScript IPLD interop checks; not on PATH")
    # pytest-xdist workers share fixtures/js: one npm ci at a time, the others then reuse it.
    lock_path = Path(tempfile.gettempdir()) / "mindgit-js-ipld-npm.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _needs_install(JS_DIR):
            env = dict(os.environ, npm_config_cache=str(tmp_path_factory.mktemp("npm-cache")))
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=JS_DIR,
                capture_output=True,
                text=True,
                env=env,
                timeout=900,
            )
            if result.returncode != 0:
                pytest.fail(
                    f"npm ci in {JS_DIR} failed (exit {result.returncode}):\n"
                    f"{result.stdout}\n{result.stderr}",
                    pytrace=False,
                )
    yield JsIpld(node, JS_DIR)
