"""Review M: `git rebase`, `git cherry-pick` and `git revert` through the driver find the thoughts
the replayed commit brings.

git names no commit to the driver there, and writes CHERRY_PICK_HEAD or REBASE_HEAD only after
the merge (when it stops), so a thought the picked commit adds was in none of the commits the
driver read: a plain rebase of a branch that added a note onto a diverged main, a cherry-pick of
a `think` commit, a revert of a `forget`, each stopped with a conflict in manifest.json ("cannot
tell whether it is a private thought shared on one side").
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pygit2

from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from tests.conftest import git
from tests.merge.test_gitdriver import USER, clone


def run_git(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *USER, *args], cwd=work, capture_output=True, text=True)


def manifest(work: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((work / "manifest.json").read_text())
    return data


def thoughts(work: Path) -> set[str]:
    listed = manifest(work)["thoughts"]
    assert isinstance(listed, list)
    return {t["/"] for t in listed}


def gene(work: Path, name: str) -> object:
    genome = manifest(work)["genome"]
    assert isinstance(genome, dict)
    return genome[name]["value"]


def a(value: float) -> Gene:
    return Gene.make("a", "float", value)


def test_a_rebase_of_notes_onto_a_diverged_main_goes_through(store: Store, tmp_path: Path) -> None:
    store.set_genes([a(1.0)])
    store.fork("feat", switch=False)
    _, one = store.think("idea one", experiment="feat")
    _, two = store.think("idea two", experiment="feat")
    store.set_genes([a(2.0)])
    work = clone(store, tmp_path / "work")
    git("-C", str(work), "checkout", "-q", "-b", "feat", "origin/feat")

    proc = run_git(work, "rebase", "origin/main")

    assert proc.returncode == 0, proc.stderr
    assert thoughts(work) == {str(one), str(two)}
    assert gene(work, "a") == 2
    assert git("-C", str(work), "status", "--porcelain") == ""


def test_cherry_picks_of_think_commits_go_through(store: Store, tmp_path: Path) -> None:
    store.set_genes([a(1.0)])
    store.fork("feat", switch=False)
    first, one = store.think("idea one", experiment="feat")
    second, two = store.think("idea two", experiment="feat")
    third, three = store.think("idea three", experiment="feat")
    store.set_genes([a(2.0)])
    work = clone(store, tmp_path / "work")

    proc = run_git(work, "cherry-pick", first.id)  # one commit: no sequencer file names it
    assert proc.returncode == 0, proc.stderr
    assert thoughts(work) == {str(one)}
    proc = run_git(work, "cherry-pick", second.id, third.id)  # several: sequencer/todo does
    assert proc.returncode == 0, proc.stderr
    assert thoughts(work) == {str(one), str(two), str(three)}
    assert gene(work, "a") == 2


def test_a_revert_of_a_forget_brings_the_thought_back(store: Store, tmp_path: Path) -> None:
    store.set_genes([a(1.0)])
    _, note = store.think("note")
    forget = store.forget(note)
    store.set_genes([a(2.0)])
    work = clone(store, tmp_path / "work")

    proc = run_git(work, "revert", "--no-edit", forget.id)

    assert proc.returncode == 0, proc.stderr
    assert thoughts(work) == {str(note)}
    assert gene(work, "a") == 2
    assert (work / "thoughts" / str(note)).is_file()


def test_git_merge_does_not_look_past_the_commits_it_merges(store: Store, tmp_path: Path) -> None:
    """`git merge` names its heads: theirs' junk under the name of a note another branch holds
    as it should be still stops the merge (git's tree merge would take the junk)."""
    from mindgit.store import layout
    from mindgit.store.state import make_thought
    from tests.merge.test_gitdriver import git_merge
    from tests.merge.test_private_merge_hostile import commit_tree

    store.set_genes([a(1.0)])
    store.fork("other", switch=False)
    store.fork("keeper", switch=False)
    note = make_thought("what the name says")
    store.think("what the name says", experiment="keeper")  # a good copy on another branch
    store.set_genes([a(2.0)])
    snap = store.snapshot(store.head("other"))
    state = snap.state.with_thoughts(snap.state.thoughts | {note.cid})
    tree, manifest = layout.write_state(store.repo, state, {note.cid: b"junk"}, snap.tree)
    commit_tree(store, "other", tree, manifest.cid)
    work = clone(store, tmp_path / "work")
    head = git("-C", str(work), "rev-parse", "HEAD")

    proc = git_merge(work, "origin/other")

    assert proc.returncode != 0
    assert f"thought {note.cid} is in none of the commits being merged" in proc.stderr
    git("-C", str(work), "merge", "--abort")
    assert git("-C", str(work), "rev-parse", "HEAD") == head


def test_a_private_thought_in_a_tree_read_for_a_note_is_still_not_taken(store: Store) -> None:
    """The trees the driver looks in for notes stay apart from the commits being merged: a
    private thought only they hold is not found, even read after a note found in the same tree
    (which put that tree among the others)."""
    import pytest

    from mindgit.merge.envelopes import EnvelopeReader, ThoughtNotFound
    from mindgit.store import layout
    from mindgit.store.private import think_private

    _, note = store.think("a note")
    _, sealed = think_private(store, "a secret")
    tree = layout.commit_tree(store.repo, store.repo[store.head("main")].peel(pygit2.Commit))
    reader = EnvelopeReader(store.repo, strict=True, more=iter([tree]))

    assert reader.envelopes([note]) == {}  # a note, found in the extra tree
    with pytest.raises(ThoughtNotFound):
        reader.envelopes([sealed])
    # Given as a commit being merged, the same tree answers for both.
    reader = EnvelopeReader(store.repo, strict=True)
    reader.add(tree)
    assert set(reader.envelopes([note, sealed])) == {sealed}
