"""docs/ci.md's GitHub Actions workflow, run step by step as written.

The workflow is read from the page; `actions/checkout` is done the way the action does it (an
empty repository, a fetch of every branch into refs/remotes/origin with full history, a forced
checkout of the ref), `actions/setup-python` is this interpreter, and `pip install mindgit` is
the package under test. Every `run:` step runs in bash as GitHub runs it (`-eo pipefail`), with
the workflow's `env` evaluated from the event that triggered it.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mindgit.evolve.run import start_run
from mindgit.store.generation import GenerationRecord, Individual, RunParams
from mindgit.store.genome import Gene
from mindgit.store.repository import Store, init_store
from tests.conftest import FIXTURES, ROOT, git
from tests.sync.test_recompute import tamper_generation, with_individual, worst

DOC = ROOT / "docs" / "ci.md"
RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"
STORE_SLUG = "example-org/minds"


# ---- reading the workflow ----------------------------------------------------------------------


def workflow_text() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1, "docs/ci.md holds one workflow"
    return str(blocks[0])


def _scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(part) for part in text[1:-1].split(",") if part.strip()]
    return text


def parse_yaml(text: str) -> Any:
    """The block-style subset of YAML the workflow uses (mappings, lists, `|` scalars)."""
    lines = [
        (len(line) - len(line.lstrip(" ")), line.strip())
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    raw = text.splitlines()
    value, end = _block(lines, raw, 0, 0)
    assert end == len(lines), f"unparsed from line {end}"
    return value


def _block(lines: list[tuple[int, str]], raw: list[str], i: int, indent: int) -> tuple[Any, int]:
    if lines[i][1].startswith("- "):
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
            # A list item is a mapping whose first key sits after the dash.
            inner = indent + 2
            lines[i] = (inner, lines[i][1][2:])
            item, i = _block(lines, raw, i, inner)
            items.append(item)
        return items, i
    mapping: dict[str, Any] = {}
    while i < len(lines) and lines[i][0] == indent:
        key, _, rest = lines[i][1].partition(":")
        rest = rest.strip()
        i += 1
        if rest == "|":
            body = []
            while i < len(lines) and lines[i][0] > indent:
                body.append(lines[i])
                i += 1
            base = min(n for n, _ in body)
            mapping[key] = "".join(" " * (n - base) + t + "\n" for n, t in body)
        elif rest:
            mapping[key] = _scalar(rest)
        else:
            mapping[key], i = _block(lines, raw, i, lines[i][0])
    return mapping, i


def evaluate(text: str, context: dict[str, Any]) -> str:
    """GitHub's `${{ a || b || 'literal' }}`, for the expressions the workflow uses."""

    def one(match: re.Match[str]) -> str:
        for term in match.group(1).split("||"):
            term = term.strip()
            if term.startswith("'"):
                value: Any = term.strip("'")
            else:
                value = context
                for part in term.split("."):
                    value = value.get(part) if isinstance(value, dict) else None
            if value:
                return str(value)
        return ""

    return re.sub(r"\$\{\{(.*?)\}\}", one, text)


# ---- running it --------------------------------------------------------------------------------


@dataclass
class JobResult:
    ok: bool
    failed_step: str | None
    output: str


def checkout(target: Path, url: str, ref: str) -> None:
    """What actions/checkout does with fetch-depth 0."""
    target.mkdir(parents=True, exist_ok=True)
    git("init", "-q", str(target))
    git("-C", str(target), "remote", "add", "origin", url)
    git(
        "-C",
        str(target),
        "fetch",
        "--prune",
        "--no-recurse-submodules",
        "origin",
        "+refs/heads/*:refs/remotes/origin/*",
        "+refs/tags/*:refs/tags/*",
    )
    git("-C", str(target), "checkout", "-q", "--force", "-B", ref, f"refs/remotes/origin/{ref}")


def run_job(
    workflow: dict[str, Any],
    workspace: Path,
    repos: dict[str, Path],
    this_repo: Path,
    event: dict[str, Any],
) -> JobResult:
    context: dict[str, Any] = {"inputs": event.get("inputs", {}), "github": {"event": event}}
    env = {k: evaluate(str(v), context) for k, v in workflow["env"].items()}
    context["env"] = env
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    shell_env = {
        **os.environ,
        **env,
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }
    log = []
    for step in job["steps"]:
        name = step.get("name") or step.get("uses") or step["run"]
        with_ = {k: evaluate(str(v), context) for k, v in step.get("with", {}).items()}
        uses = step.get("uses")
        if uses == "actions/checkout@v4":
            if "repository" in with_:
                assert with_["fetch-depth"] == "0", "the store needs its whole history"
                checkout(workspace / with_["path"], str(repos[with_["repository"]]), with_["ref"])
            else:
                checkout(workspace, str(this_repo), "main")
            continue
        if uses == "actions/setup-python@v5":
            assert with_["python-version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
            continue
        assert uses is None, f"unknown action {uses}"
        script = evaluate(step["run"], context)
        if script.strip() == "pip install mindgit":
            continue  # the package under test is installed in this interpreter's environment
        cwd = workspace / step.get("working-directory", ".")
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd,
            env=shell_env,
            capture_output=True,
            text=True,
        )
        log.append(f"## {name}\n{proc.stdout}{proc.stderr}")
        if proc.returncode != 0:
            return JobResult(False, name, "".join(log))
    return JobResult(True, None, "".join(log))


# ---- the scenario ------------------------------------------------------------------------------


@pytest.fixture
def github(tmp_path: Path) -> dict[str, Any]:
    """A store's repository as GitHub would hold it, and the CI repository beside it."""
    store = init_store(tmp_path / "node", "alpha")
    store.fork("lab")
    store.set_genes([Gene.make(f"x{i}", "float", 1.5 - i, min=-5.12, max=5.12) for i in range(3)])
    result = start_run(store, str(RASTRIGIN), RunParams(population=8, generations=5, seed=2))
    assert result.result_commit is not None
    minds = tmp_path / "github" / "minds.git"
    git("init", "-q", "--bare", "--initial-branch=main", str(minds))
    publish(store, minds)
    ci = tmp_path / "github" / "minds-ci"
    git("init", "-q", "--initial-branch=main", str(ci))
    (ci / "allowed_signers").write_text(store.trust.export())
    workflows = ci / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "verify-minds.yml").write_text(workflow_text())
    git("-C", str(ci), "add", ".")
    git("-C", str(ci), "commit", "-q", "-m", "CI for the minds")
    return {"store": store, "run": result.run_id, "minds": minds, "ci": ci}


def publish(store: Store, remote: Path) -> None:
    git(
        "--git-dir",
        str(store.path),
        "push",
        "-q",
        "--force",
        str(remote),
        "refs/heads/*:refs/heads/*",
        "refs/runs/*:refs/runs/*",
        "refs/fitness/*:refs/fitness/*",
    )


def job(github: dict[str, Any], tmp_path: Path, name: str, event: dict[str, Any]) -> JobResult:
    workflow = parse_yaml(workflow_text())
    return run_job(workflow, tmp_path / name, {STORE_SLUG: github["minds"]}, github["ci"], event)


def test_the_workflow_parses_as_github_reads_it() -> None:
    workflow = parse_yaml(workflow_text())
    assert set(workflow["on"]) == {"workflow_dispatch", "repository_dispatch", "schedule"}
    steps = workflow["jobs"]["verify"]["steps"]
    assert [s.get("uses") for s in steps[:3]] == [
        "actions/checkout@v4",
        "actions/checkout@v4",
        "actions/setup-python@v5",
    ]
    assert (
        "mindgit verify --trust ../allowed_signers --since origin/main --recompute 20"
        in (steps[-1]["run"])
    )
    import yaml  # type: ignore[import-untyped]  # a dev dependency; it ships no type hints

    theirs = yaml.safe_load(workflow_text())
    assert len(theirs["jobs"]["verify"]["steps"]) == len(steps)


def test_an_experiment_is_verified_and_its_claims_recomputed(
    github: dict[str, Any], tmp_path: Path
) -> None:
    result = job(github, tmp_path, "dispatch", {"inputs": {"experiment": "lab"}})
    assert result.ok, result.output
    assert "6 of 6 fitness claims recomputed, 0 failed" in result.output


def test_the_nightly_run_checks_everything(github: dict[str, Any], tmp_path: Path) -> None:
    result = job(github, tmp_path, "nightly", {"schedule": "17 3 * * *"})
    assert result.ok, result.output
    assert "6 of 6 fitness claims recomputed, 0 failed" in result.output


def test_a_tampered_claim_fails_the_job(github: dict[str, Any], tmp_path: Path) -> None:
    store: Store = github["store"]

    def nudge(record: GenerationRecord) -> GenerationRecord:
        i = worst(record)
        ind = record.individuals[i]
        assert ind.score is not None
        lie = math.nextafter(ind.score, math.inf)
        return with_individual(record, i, Individual(ind.state, lie, ind.parents, None))

    bad = tamper_generation(store, github["run"], nudge)
    publish(store, github["minds"])
    result = job(github, tmp_path, "tampered", {"client_payload": {"experiment": "lab"}})
    assert not result.ok
    assert result.failed_step == "Verify signatures, schema and CIDs; re-run 20 fitness claims"
    assert f"FAIL {bad[:12]} individual " in result.output
    assert "fitness claims recomputed, 1 failed" in result.output
