"""docs/fitness-abi.md's example input is what a store hands a module, byte for byte."""

from __future__ import annotations

import re
from pathlib import Path

from mindgit.sandbox.module import FitnessModule
from mindgit.store.genome import Gene
from mindgit.store.repository import init_store
from tests.conftest import FIXTURES, ROOT, git

DOC = (ROOT / "docs" / "fitness-abi.md").read_text()


def test_the_example_manifest_is_a_real_one(tmp_path: Path) -> None:
    (shown,) = re.findall(r"```json\n(.*?)\n```", DOC, re.S)
    store = init_store(tmp_path / "alpha", "alpha")
    _, cid = store.think("the garden is quiet at dawn", [])
    commit = store.set_genes(
        [
            Gene.make("x0", "float", 0.5, min=-5.12, max=5.12),
            Gene.make("x1", "float", 2.0, min=-5.12, max=5.12),
        ]
    )
    manifest = git("--git-dir", str(store.path), "show", f"{commit.id}:manifest.json")
    # The page elides the CID after its multibase-and-codec prefix; the rest is exact.
    assert str(cid).startswith("baguqeera")
    assert manifest == shown.replace("baguqeera...", str(cid))
    # And the shipped Rastrigin scores it: -(2*10 + (0.25 + 10) + (4 - 10)).
    module = FitnessModule.load((FIXTURES / "fitness" / "rastrigin.wat").read_bytes())
    assert module.score(manifest.encode()) == -24.25
