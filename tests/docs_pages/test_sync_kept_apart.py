"""docs/sync.md on experiments a pull keeps apart, as a user meets them: a `conflict` no fitness
decides is merged by the next pull given a module; one merged by hand with the page's
`mindgit merge refs/peers/...` line is then pushed; and two unrelated `main`s make every `sync`
exit 1 while `pull` and a `push` naming the shared experiment exit 0."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import FIXTURES, ROOT, git
from tests.docs_pages.shell import sh

PAGE = (ROOT / "docs" / "sync.md").read_text()
MERGE = re.search(r"`(mindgit merge refs/peers/beta/heads/dreams [^`]*)`", PAGE)
RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"


def ok(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    r = sh(script, cwd)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def diverged(tmp_path: Path) -> None:
    """alpha and beta share `dreams`, then each sets gene x differently on it."""
    ok(
        f"""
        mindgit init alpha --name alpha > alpha.did
        mindgit init beta --name beta > beta.did
        mindgit --store alpha trust add "$(cat beta.did)" --name beta
        mindgit --store beta trust add "$(cat alpha.did)" --name alpha
        mindgit --store alpha remote add beta "$PWD/beta" --node beta
        mindgit --store beta remote add alpha "$PWD/alpha" --node alpha
        mindgit --store alpha fitness add {RASTRIGIN}
        mindgit --store alpha fork dreams
        mindgit --store alpha genome set x=1 --min -5 --max 5
        mindgit --store alpha push beta dreams
        mindgit --store beta genome set -e dreams x=2
        mindgit --store alpha genome set -e dreams x=3
        """,
        tmp_path,
    )


def heads(tmp_path: Path, ref: str) -> list[str]:
    return [
        git("--git-dir", str(tmp_path / n), "rev-parse", ref).strip() for n in ("alpha", "beta")
    ]


def test_the_page_names_the_merge_line_run_here() -> None:
    assert MERGE is not None
    assert (
        MERGE.group(1) == "mindgit merge refs/peers/beta/heads/dreams --into dreams --fitness NAME"
    )
    assert "`--allow-unrelated` for two histories with no common commit" in PAGE


def test_a_conflict_no_fitness_decides_is_merged_by_the_next_pull_given_a_module(
    tmp_path: Path,
) -> None:
    diverged(tmp_path)
    r = ok("mindgit --store alpha pull beta", tmp_path)
    assert re.search(r"^conflict\trefs/heads/dreams\t.*no fitness decides", r.stdout, re.M)
    r = ok("mindgit --store alpha pull beta --fitness rastrigin", tmp_path)
    assert re.search(r"^merged\trefs/heads/dreams\t", r.stdout, re.M), r.stdout
    # The same with the setting, once, instead of the flag.
    ok("mindgit --store beta genome set -e dreams x=4", tmp_path)
    ok("mindgit --store alpha genome set -e dreams x=-4", tmp_path)
    ok("mindgit --store alpha config set fitness rastrigin", tmp_path)
    r = ok("mindgit --store alpha pull beta", tmp_path)
    assert re.search(r"^merged\trefs/heads/dreams\t", r.stdout, re.M), r.stdout


def test_the_pages_merge_by_hand_then_push_brings_it_in(tmp_path: Path) -> None:
    assert MERGE is not None
    diverged(tmp_path)
    ok("mindgit --store alpha pull beta", tmp_path)  # conflict: kept apart
    r = sh("mindgit --store alpha push beta dreams", tmp_path)
    # Not "pull first to merge" (the pull just kept it apart): the merge line the page gives.
    assert r.returncode == 1 and "pull first" not in r.stdout + r.stderr
    # The page's line, with the --store typed here (as the CLI gives it).
    merge = f"mindgit --store alpha {MERGE.group(1)[len('mindgit ') :]}"
    assert f"`{merge}`" in r.stdout + r.stderr
    ok(merge.replace("NAME", "rastrigin"), tmp_path)
    r = ok("mindgit --store alpha push beta dreams", tmp_path)
    assert re.search(r"^pushed\trefs/heads/dreams\t", r.stdout, re.M), r.stdout
    a, b = heads(tmp_path, "refs/heads/dreams")
    assert a == b


def test_unrelated_mains_fail_every_sync_and_pull_and_a_named_push_do_not(
    tmp_path: Path,
) -> None:
    diverged(tmp_path)
    ok("mindgit --store alpha pull beta --fitness rastrigin", tmp_path)  # dreams merged
    ok('mindgit --store alpha think "alpha on main"', tmp_path)
    ok('mindgit --store beta think "beta on main"', tmp_path)
    for _ in range(2):  # every sync, not only the first
        r = sh("mindgit --store alpha sync", tmp_path)
        assert r.returncode == 1
        assert re.search(r"^beta\tpull\tunrelated\trefs/heads/main\t", r.stdout, re.M), r.stdout
        assert re.search(r"^beta\tpush\tdiverged\trefs/heads/main\t", r.stdout, re.M), r.stdout
        assert re.search(r"^beta\tpush\tpushed\trefs/heads/dreams\t", r.stdout, re.M) or re.search(
            r"^beta\tpush\tup-to-date\trefs/heads/dreams\t", r.stdout, re.M
        ), r.stdout
        assert "1 ref not pushed (see above)" in r.stderr and "failed: beta" not in r.stderr
    r = ok("mindgit --store alpha pull beta", tmp_path)
    assert re.search(r"^unrelated\trefs/heads/main\t", r.stdout, re.M), r.stdout
    ok("mindgit --store alpha think 'more dreams' -e dreams", tmp_path)
    r = ok("mindgit --store alpha push beta dreams", tmp_path)
    assert "refs/heads/main" not in r.stdout
    a, b = heads(tmp_path, "refs/heads/dreams")
    assert a == b
