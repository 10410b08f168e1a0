"""Review M: the git merge driver and `mindgit merge` write the same merged manifest (Hypothesis).

For stores whose ``main`` and ``dreamer`` diverge from one base (genes kept, changed, removed or
added on each side; notes added on each), the driver, handed the three manifests as git hands
them (and finding the notes in the store's commits), writes the manifest `mindgit merge`
plans, with the same decisions; and planning it again gives the same again.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given

from mindgit.ipld.cid import CID
from mindgit.merge import merge_bases, plan_merge
from mindgit.merge.gitdriver import merge_files
from mindgit.store.repository import Store
from tests.merge.test_properties import SETTINGS, Genes, build, sides


def manifest_file(store: Store, commit: str, path: Path) -> Path:
    path.write_bytes(store.snapshot(commit).manifest.data)
    return path


@SETTINGS
@given(sides())
def test_the_driver_writes_what_mindgit_merge_plans(
    drawn: tuple[Genes, Genes, Genes, frozenset[int], frozenset[int]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = build(root / "store", drawn)
        store.repo.config["mindgit.fitness"] = "rastrigin"
        ours, theirs = store.head("main"), store.head("dreamer")
        (base,) = merge_bases(store.repo, ours, theirs)
        if ours == theirs or store.repo.descendant_of(ours, theirs):
            return  # nothing for git to merge
        if store.repo.descendant_of(theirs, ours):
            return  # git fast-forwards, calling no driver
        plan = plan_merge(store, "dreamer")
        again = plan_merge(store, "dreamer")
        assert again.outcome.manifest == plan.outcome.manifest
        assert again.outcome.decisions == plan.outcome.decisions

        a = manifest_file(store, ours, root / "A")
        result = merge_files(
            manifest_file(store, base, root / "O"),
            a,
            manifest_file(store, theirs, root / "B"),
            repo_dir=store.path,
        )

        assert result.manifest == plan.outcome.manifest
        assert CID.of(a.read_bytes()) == plan.outcome.manifest
        assert result.decisions == plan.outcome.decisions
        assert result.module == plan.outcome.module
