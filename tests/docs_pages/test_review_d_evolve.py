"""docs/evolve.md's list of the damaged run refs `mindgit runs` names beside the runs that read
(review D): a ref file git cannot parse is one of them since 2f351f2, which the page left out."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import ROOT
from tests.docs_pages.shell import sh

PAGE = " ".join((ROOT / "docs" / "evolve.md").read_text().split())


def test_runs_names_a_run_ref_file_git_cannot_parse_and_lists_the_others(tmp_path: Path) -> None:
    assert (
        'a ref file git cannot parse, which `git for-each-ref` leaves out with "ignoring broken '
        'ref") does not hide the others' in PAGE
    )
    r = sh(
        f"""
        mindgit init s --name s >/dev/null
        export MINDGIT_STORE="$PWD/s"
        mindgit genome set x0=3 x1=3 --min -5 --max 5 >/dev/null
        mindgit evolve --fitness {ROOT}/fixtures/fitness/rastrigin.wat -q --generations 2 \\
            --population 4 >/dev/null
        echo junk > s/refs/runs/abcdef123456
        """,
        tmp_path,
    )
    assert r.returncode == 0, r.stderr
    r = sh("mindgit --store s runs", tmp_path)
    assert r.returncode == 1
    assert len(r.stdout.splitlines()) == 1
    assert "refs/runs/abcdef123456 cannot be read" in r.stderr
    r = sh("mindgit --store s runs --json", tmp_path)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["type"] == "DamagedRuns"
    assert [d["ref"] for d in doc["damaged"]] == ["refs/runs/abcdef123456"]
    assert len(doc["runs"]) == 1


def test_the_python_example_runs_on_the_store_its_preamble_makes(tmp_path: Path) -> None:
    """The page showed the Python example with no word of the store it opens: its preamble now
    names it (made as the command line's example makes it), and what it breeds."""
    text = (ROOT / "docs" / "evolve.md").read_text()
    preamble = " ".join(text.split("## From Python\n", 1)[1].split("```python", 1)[0].split())
    [init] = re.findall(r"`(mindgit init /tmp/minds/alpha --name alpha)`", preamble)
    [shell] = re.findall(r"```sh\n(.*?)```", text, re.S)
    genome, _, evolve_line = shell.splitlines()[:3]
    [code] = re.findall(r"```python\n(.*?)```", text, re.S)
    py, cli = tmp_path / "py", tmp_path / "cli"
    r = sh(
        f"""
        {init.replace("/tmp/minds/alpha", str(py))}
        MINDGIT_STORE={py} {genome}
        mindgit init {cli} --name alpha
        export MINDGIT_STORE={cli}
        {genome}
        mindgit fitness add fixtures/fitness/rastrigin.wat
        {evolve_line.split("#")[0]} -q --json > {tmp_path}/cli.json
        """,
        ROOT,
    )
    assert r.returncode == 0, r.stderr
    r = sh(f"python - <<'EOF'\n{code.replace('/tmp/minds/alpha', str(py))}EOF", ROOT)
    assert r.returncode == 0, r.stderr
    run_id, best_score, best_state, _ = r.stdout.splitlines()[-2].split()
    by_cli = json.loads((tmp_path / "cli.json").read_text())
    assert (best_state, float(best_score)) == (by_cli["state"], by_cli["best"])
    assert run_id != by_cli["run"]
