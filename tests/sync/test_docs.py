"""docs/sync.md's shell example runs as written, with real stores and file:// remotes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import git

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "sync.md"

# `mindgit` for the example: the real entry point of this checkout.
SHIM = f"""#!{sys.executable}
import sys
sys.path.insert(0, {str(ROOT)!r})
from mindgit.cli.main import main
main()
"""


def test_the_shell_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "mindgit"
    shim.write_text(SHIM)
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TMPDIR": str(work)}
    script = "set -euo pipefail\n" + blocks[0] + 'echo "EXAMPLE_DIR=$PWD"\n'
    proc = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    where = Path(re.findall(r"EXAMPLE_DIR=(.*)", proc.stdout)[-1])
    assert where.parent == work

    shown = subprocess.run(
        [str(shim), "--store", str(where / "beta"), "show", "-e", "dreams", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    texts = {t["text"] for t in json.loads(shown.stdout)["thoughts"]}
    assert texts == {"dreams of flight", "beta dreams of the sea", "alpha dreams of mountains"}
    heads = [
        subprocess.run(
            ["git", f"--git-dir={where / n}", "rev-parse", "refs/heads/dreams"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for n in ("alpha", "beta")
    ]
    assert heads[0] == heads[1]
    listed = subprocess.run(
        [str(shim), "--store", str(where / "alpha"), "peers", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    [beta] = json.loads(listed.stdout)
    assert beta["name"] == "beta" and beta["trusted_as"] == "beta" and beta["last_error"] is None


def test_the_python_example_runs(tmp_path: Path) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    url = "git://127.0.0.1:9418/beta"
    assert url in blocks[0]
    # The page's peer is a git daemon; here beta is served by path, which sync treats alike.
    code = blocks[0].replace(url, f"file://{tmp_path / 'beta'}")
    from mindgit.evolve.fitness import add_fitness
    from mindgit.identity.keys import NodeKey
    from mindgit.store.repository import init_store

    alpha = init_store(tmp_path / "alpha", "alpha")
    beta = init_store(tmp_path / "beta", "beta")
    alpha.trust.add(NodeKey.load(beta.path / "mindgit" / "node.key").public, "beta")
    beta.trust.add(NodeKey.load(alpha.path / "mindgit" / "node.key").public, "alpha")
    alpha.fork("dreams")
    alpha.think("dreams of flight", [])
    add_fitness(alpha, str(ROOT / "fixtures" / "fitness" / "rastrigin.wat"))
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "beta ok"
    # The push reached beta: its 'dreams' is alpha's.
    assert beta.repo.references["refs/heads/dreams"].target == (
        alpha.repo.references["refs/heads/dreams"].target
    )


def test_what_ci_runs_runs_in_a_clone(tmp_path: Path) -> None:
    ci = (ROOT / "docs" / "ci.md").read_text()
    block = re.findall(r"## What CI runs\n.*?```sh\n(.*?)```", ci, re.S)[0]
    assert "--trust ../allowed_signers" in block
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}

    def sh(line: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", line], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
        )

    # A store whose experiment 'dreamer' carries an evolved result on top of main.
    store = tmp_path / "minds"
    rastrigin = ROOT / "fixtures" / "fitness" / "rastrigin.wat"
    setup = (
        f"set -e; mindgit init {store} --name alpha; export MINDGIT_STORE={store}\n"
        "mindgit genome set x0=0.5 x1=-1 --min -5.12 --max 5.12\n"
        "mindgit fork dreamer\n"
        f"mindgit evolve --fitness {rastrigin} --generations 4 --population 8 -q\n"
        f"mindgit trust export > {tmp_path / 'allowed_signers'}\n"
        f"git clone -q {store} {tmp_path / 'checkout'}\n"
        f"cd {tmp_path / 'checkout'} && git checkout -q dreamer\n"
        "git fetch -q --no-tags origin '+refs/runs/*:refs/runs/*' '+refs/fitness/*:refs/fitness/*'\n"
    )
    assert sh(setup, tmp_path).returncode == 0
    proc = sh(block, tmp_path / "checkout")
    assert proc.returncode == 0, proc.stderr
    assert re.search(
        r"^[1-9]\d* of [1-9]\d* fitness claims recomputed, 0 failed$", proc.stderr, re.M
    )


def test_the_pre_push_install_runs_in_a_store(tmp_path: Path) -> None:
    hooks = (ROOT / "docs" / "hooks.md").read_text()
    (block,) = re.findall(r"## On a node: pre-push\n\n```sh\n(.*?)```", hooks, re.S)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    store = tmp_path / "alpha"
    subprocess.run(["mindgit", "init", str(store), "--name", "alpha"], env=env, check=True)
    installed = subprocess.run(
        ["bash", "-c", block], capture_output=True, text=True, env=env, cwd=store
    )
    assert installed.returncode == 0, installed.stderr
    remote = tmp_path / "remote.git"
    git("init", "-q", "--bare", str(remote))

    def push() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "push", "-q", str(remote), "main"],
            capture_output=True,
            text=True,
            env=env,
            cwd=store,
        )

    assert push().returncode == 0
    # `git push` from the store now refuses what mindgit would not accept.
    tree = git("--git-dir", str(store), "rev-parse", "main^{tree}").strip()
    forged = git("--git-dir", str(store), "commit-tree", tree, "-p", "main", "-m", "forged")
    git("--git-dir", str(store), "update-ref", "refs/heads/main", forged.strip())
    refused = push()
    assert refused.returncode != 0 and "unsigned commit" in refused.stderr
