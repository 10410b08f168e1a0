"""Review R2 (s18): merge in a store and under git.

A damaged run ref (``refs/runs/X`` naming a commit that is no generation of run X: a peer's
ref, fetched with plain git into a clone by git-setup's ``+refs/runs/*`` refspec) stopped every
merge with a conflict, even one where no run can count: the module named (``--fitness``, or
``mindgit.fitness``) and the direction set (``mindgit.minimize``). docs/merge.md says the runs
are read then only when ``mindgit.minimize`` is not set.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg, git
from tests.merge.conftest import diverge, x
from tests.merge.test_gitdriver import USER, clone, git_merge


def _conflict_and_bogus_run(store: Store) -> None:
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 1.5)])
    # A run ref naming a commit that holds no run: read_run refuses it.
    store.repo.references.create("refs/runs/bogus", store.head("main"))


@pytest.mark.parametrize("how", ["--fitness", "config"])
def test_a_damaged_run_ref_does_not_stop_a_merge_no_run_decides(
    rastrigin: Store, mg: Mg, how: str
) -> None:
    store = rastrigin
    _conflict_and_bogus_run(store)
    store.config_set("mindgit.minimize", "false")
    args = ["--fitness", "rastrigin"] if how == "--fitness" else []
    if how == "config":
        store.config_set("mindgit.fitness", "rastrigin")

    r = mg("--store", str(store.path), "merge", "dreamer", *args)

    assert r.code == 0, r.err
    assert "refs/runs/bogus" not in r.err
    merged = store.state().genome.genes
    assert [(g.name, g.value) for g in merged] == [("x0", 0.0)]  # rastrigin: 0 beats 1


def test_a_damaged_run_ref_still_stops_a_merge_a_run_may_decide(rastrigin: Store, mg: Mg) -> None:
    # With no minimize set, this node's latest run gives the direction: a run ref that cannot
    # be read is refused, not passed over, as before (nothing written).
    store = rastrigin
    _conflict_and_bogus_run(store)
    head = store.head("main")

    r = mg("--store", str(store.path), "merge", "dreamer", "--fitness", "rastrigin")

    assert r.code == 1
    assert "refs/runs/bogus" in r.err
    assert "to merge without reading the runs, name the module" in r.err
    assert store.head("main") == head


def test_git_merge_in_a_clone_with_a_fetched_damaged_run_ref(
    rastrigin: Store, tmp_path: Path
) -> None:
    store = rastrigin
    _conflict_and_bogus_run(store)
    work = clone(store, tmp_path / "work")  # git-setup fetches refs/runs/* as they are
    assert git("-C", str(work), "rev-parse", "--verify", "-q", "refs/runs/bogus").strip()
    git("-C", str(work), "config", "mindgit.fitness", "rastrigin")
    git("-C", str(work), "config", "mindgit.minimize", "false")

    proc = git_merge(work, "origin/dreamer")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '"value":0' in (work / "manifest.json").read_text()


def test_an_octopus_that_fast_forwards_first_stops_on_a_text_conflict(
    store: Store, tmp_path: Path
) -> None:
    # docs/merge.md said an octopus of two heads that changed the state always stopped with the
    # clone as it was (exit 2): with HEAD behind the first head, git fast-forwards to it and
    # leaves the second head's merge of manifest.json as a text conflict (exit 1), which
    # `git merge --abort` undoes.
    from mindgit.store.genome import Gene

    store.set_genes([Gene.make("a", "float", 1.0)])
    store.fork("b", switch=False)
    store.fork("c", switch=False)
    store.set_genes([Gene.make("a", "float", 2.0)], experiment="b")
    store.think("on c", experiment="c")
    work = clone(store, tmp_path / "work")
    head = git("-C", str(work), "rev-parse", "HEAD")

    proc = subprocess.run(
        ["git", *USER, "merge", "--no-edit", "origin/b", "origin/c"],
        cwd=work,
        capture_output=True,
        text=True,
    )

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Should not be doing an octopus" not in proc.stdout + proc.stderr
    assert "<<<<<<<" in (work / "manifest.json").read_text()
    git("-C", str(work), "merge", "--abort")
    assert git("-C", str(work), "rev-parse", "HEAD") == head
    assert git("-C", str(work), "status", "--porcelain") == ""


def _driver(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`mindgit merge-driver ARGS...` in a process of its own, within 4 GiB of address space
    (a driver that reads /dev/zero whole runs out there, not on the machine)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    return subprocess.run(
        [sys.executable, "-m", "mindgit", "merge-driver", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        stdin=subprocess.DEVNULL,
    )


def _manifests(store: Store, tmp_path: Path) -> tuple[Path, Path, Path]:
    store.set_genes([x("x0", 1.5)])
    work = clone(store, tmp_path / "work")
    base = tmp_path / "base.json"
    base.write_bytes((work / "manifest.json").read_bytes())
    ours = tmp_path / "ours.json"
    ours.write_bytes(base.read_bytes())
    return work, base, ours


def test_the_driver_refuses_a_fifo_rather_than_wait_for_a_writer(
    store: Store, tmp_path: Path
) -> None:
    work, base, ours = _manifests(store, tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    before = ours.read_bytes()

    proc = _driver(str(base), str(ours), str(fifo), cwd=work, timeout=30)

    assert proc.returncode == 1, proc.stderr
    assert "not a regular file" in proc.stderr
    assert ours.read_bytes() == before


def test_the_driver_reads_no_more_than_a_blob_of_dev_zero(store: Store, tmp_path: Path) -> None:
    work, base, ours = _manifests(store, tmp_path)
    before = ours.read_bytes()

    proc = _driver(str(base), str(ours), "/dev/zero", cwd=work)

    assert proc.returncode == 1, proc.stderr
    assert "over the limit of a blob" in proc.stderr
    assert "internal error" not in proc.stderr
    assert ours.read_bytes() == before


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
def test_the_driver_writes_over_no_device_given_as_ours(store: Store, tmp_path: Path) -> None:
    # A copy of /dev/null (1, 3) as %A: written "beside it and renamed over it", the device
    # node was replaced by a file (as root, /dev/null itself).
    work, base, _ = _manifests(store, tmp_path)
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))

    proc = _driver(str(base), str(null), str(base), cwd=work)

    assert proc.returncode == 1, proc.stderr
    assert "not a regular file" in proc.stderr
    assert stat.S_ISCHR(null.stat().st_mode)
    assert not list(tmp_path.glob(".null.*"))  # no temporary file left beside it
    # Nor when a failed merge of merge bases leaves its mark in %A.
    proc = _driver("--virtual-base", str(base), str(null), str(base), cwd=work)
    assert proc.returncode == 1, proc.stderr
    assert stat.S_ISCHR(null.stat().st_mode)
    assert not list(tmp_path.glob(".null.*"))
    # /dev/null as %O is an empty base (no common ancestor), as before.
    assert _driver("/dev/null", str(base), str(base), cwd=work).returncode == 0


def test_git_am_of_a_note_no_commit_here_holds_stops_on_a_conflict(
    store: Store, tmp_path: Path
) -> None:
    # docs/merge.md: `git am -3` calls the driver with no commit named; a note whose commit
    # this clone does not hold stops it, and `git am --abort` undoes it.

    store.set_genes([x("x0", 1.5)])
    store.fork("dreamer", switch=False)
    store.set_genes([x("x1", 2.0)], experiment="dreamer")
    store.think("only in a mail", experiment="dreamer")
    store.set_genes([x("x0", 1.0)])
    patches = tmp_path / "patches"
    git("--git-dir", str(store.path), "format-patch", "-q", "-1", "dreamer", "-o", str(patches))
    # The mailed commit is in no ref of the clone: the sender's branch is not there.
    git("--git-dir", str(store.path), "update-ref", "refs/heads/dreamer", "dreamer~1")
    git("--git-dir", str(store.path), "reflog", "expire", "--expire=now", "--all")
    git("--git-dir", str(store.path), "gc", "-q", "--prune=now")
    work = clone(store, tmp_path / "work")
    head = git("-C", str(work), "rev-parse", "HEAD")

    proc = subprocess.run(
        ["git", *USER, "am", "-3", *sorted(str(p) for p in patches.iterdir())],
        cwd=work,
        capture_output=True,
        text=True,
    )

    assert proc.returncode != 0
    assert "cannot tell whether it is a private thought" in proc.stderr
    git("-C", str(work), "am", "--abort")
    assert git("-C", str(work), "rev-parse", "HEAD") == head
    assert git("-C", str(work), "status", "--porcelain") == ""


def test_rebase_apply_is_decided_by_config_not_by_the_rebased_branchs_run(
    rastrigin: Store, tmp_path: Path
) -> None:
    # docs/merge.md: `git rebase --apply` detaches HEAD and writes rebase-apply/head-name only
    # when it stops, so the driver cannot tell which branch's runs choose: a conflict main's
    # run decides under `git merge` stops it; mindgit.fitness decides it.
    from mindgit.evolve.run import start_run
    from mindgit.store.generation import RunParams

    store = rastrigin
    store.set_genes([x(f"x{i}", 1.5) for i in range(3)])
    start_run(store, "rastrigin", RunParams(population=4, generations=2, seed=5))
    work = clone(store, tmp_path / "work")
    store.set_genes([x("x0", 2.0)])  # the store's main moves on
    git("-C", str(work), "fetch", "-q", "origin")
    manifest = work / "manifest.json"
    one_five = '"x0":{"max":5.12,"min":-5.12,"type":"float","value":1.5}'
    assert one_five in manifest.read_text()
    manifest.write_text(manifest.read_text().replace(one_five, one_five.replace("1.5", "0")))
    git("-C", str(work), *USER, "commit", "-q", "-am", "x0=0")

    def rebase(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *USER, "rebase", *args], cwd=work, capture_output=True, text=True
        )

    stopped = rebase("--apply", "origin/main")
    assert stopped.returncode != 0
    assert "no fitness module decides" in stopped.stderr
    assert rebase("--abort").returncode == 0
    git("-C", str(work), "config", "mindgit.fitness", "rastrigin")

    proc = rebase("--apply", "origin/main")

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(config mindgit.fitness)" in proc.stderr
    assert '"x0":{"max":5.12,"min":-5.12,"type":"float","value":0}' in manifest.read_text()


def test_the_driver_says_a_module_is_missing_from_the_clone(store: Store, tmp_path: Path) -> None:
    # The store's words ("in this store", `mindgit fitness list`, `mindgit fitness add FILE`)
    # named commands that read no clone.
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 1.5)])
    work = clone(store, tmp_path / "work")
    git("-C", str(work), "config", "mindgit.fitness", "nosuch")
    head = git("-C", str(work), "rev-parse", "HEAD")

    proc = git_merge(work, "origin/dreamer")

    assert proc.returncode != 0
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("mindgit: error:"))
    assert "no fitness module named 'nosuch' in this clone (refs/fitness/*)" in line
    assert "`git fetch`" in line
    assert "mindgit fitness add" not in line
    git("-C", str(work), "merge", "--abort")
    assert git("-C", str(work), "rev-parse", "HEAD") == head


def test_the_driver_hints_a_clones_settings_when_every_candidate_fails(
    store: Store, tmp_path: Path
) -> None:
    # The hint was a store's: `mindgit config set fuel N` (no store here) and --fitness (which
    # `git merge` does not take).
    from tests.merge.conftest import HOSTILE

    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x0", 0.0)], start=[x("x0", 1.5)])
    work = clone(store, tmp_path / "work")
    git("-C", str(work), "config", "mindgit.fitness", str(HOSTILE / "divide_by_zero.wat"))

    proc = git_merge(work, "origin/dreamer")

    assert proc.returncode != 0
    line = next(ln for ln in proc.stderr.splitlines() if ln.startswith("mindgit: error:"))
    assert "failed on all 2 candidate merge(s)" in line
    assert "`git config mindgit.fuel N`" in line
    assert "`git config mindgit.fitness NAME|CID|PATH`" in line
    assert "mindgit config set" not in line and "(--fitness)" not in line


def _without_thought_file(store: Store, rev: str, cid: str, name: str) -> str:
    """A commit on ``rev`` whose manifest still links thought ``cid`` and whose tree does not
    hold its file (a peer's history, fetched with plain git), as branch ``name``."""
    where = ("--git-dir", str(store.path))
    thoughts = git(*where, "rev-parse", f"{rev}^{{tree}}:thoughts").strip()
    kept = "".join(
        ln + "\n" for ln in git(*where, "ls-tree", thoughts).splitlines() if cid not in ln
    )
    sub = git(*where, "mktree", input=kept.encode()).strip()
    top = "".join(
        ln + "\n"
        for ln in git(*where, "ls-tree", rev).splitlines()
        if not ln.endswith("\tthoughts")
    )
    tree = git(*where, "mktree", input=(top + f"040000 tree {sub}\tthoughts\n").encode()).strip()
    commit = git(
        *where,
        "-c",
        "user.name=p",
        "-c",
        "user.email=p@x",
        "commit-tree",
        tree,
        "-p",
        rev,
        "-m",
        "lost",
    ).strip()
    git(*where, "update-ref", f"refs/heads/{name}", commit)
    return commit


@pytest.mark.parametrize("fast_forward", [False, True])
def test_a_thought_theirs_links_and_does_not_hold_names_the_commit(
    store: Store, mg: Mg, fast_forward: bool
) -> None:
    # It said "thought X is not in tree T", a tree the user never named, with no hint.
    store.think("shared")
    store.fork("q", switch=False)
    lost = str(store.think("to lose", experiment="q")[1])
    if not fast_forward:
        store.think("main side")
    commit = _without_thought_file(store, "q", lost, "q2")
    head = store.head("main")

    r = mg("--store", str(store.path), "merge", "q2")

    assert r.code == 1
    assert f"the tree of {commit[:12]}, which the merge takes it from; nothing was changed" in r.err
    assert f"verify {commit[:12]}`" in r.err
    assert store.head("main") == head


def test_git_merge_s_resolve_calls_no_driver(store: Store, tmp_path: Path) -> None:
    # docs/merge.md: the resolve strategy merges manifest.json as text (git-merge-one-file).
    diverge(store, ours=[x("x0", 1.0)], theirs=[x("x1", 0.0)], start=[x("x0", 1.5), x("x1", 1.5)])
    work = clone(store, tmp_path / "work")
    head = git("-C", str(work), "rev-parse", "HEAD")

    proc = subprocess.run(
        ["git", *USER, "merge", "--no-edit", "-s", "resolve", "origin/dreamer"],
        cwd=work,
        capture_output=True,
        text=True,
    )

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "mindgit:" not in proc.stderr  # no driver ran
    assert "<<<<<<<" in (work / "manifest.json").read_text()
    git("-C", str(work), "merge", "--abort")
    assert git("-C", str(work), "rev-parse", "HEAD") == head
    assert git_merge(work, "origin/dreamer").returncode == 0  # the default strategy merges
