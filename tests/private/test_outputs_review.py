"""The output paths test_outputs does not walk, with a private thought carried through forks,
a share, an evolution run and merges: never its text or tags, and it arrives intact.

merge (text, --json, --dry-run), forget, share (text and --json), evolve, runs, lineage,
experiments, and the refusals a careless user meets. The thought must reach both recipients
intact at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

from mindgit.ipld.cid import CID
from mindgit.store.private import reveal, think_private
from mindgit.store.repository import init_store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes
from tests.private.conftest import fetch

SECRET = "the vault code is 4417 c0ffee"
SECRET_TAG = "only-for-beta-9a1b"
CANARY = "a public canary thought 77e1d0"
NEEDLES = (SECRET, SECRET_TAG, "vault code")


def _hidden(*texts: str) -> bool:
    return not any(n in t for n in NEEDLES for t in texts)


def test_merges_runs_and_refusals_show_no_plaintext_and_carry_the_thought(
    tmp_path: Path, mg: Mg
) -> None:
    alpha, beta, gamma = (init_store(tmp_path / n, n) for n in ("alpha", "beta", "gamma"))
    for s in (alpha, beta, gamma):
        for o in (alpha, beta, gamma):
            if o is not s:
                s.trust.add(o.public_key, o.name)
    alpha.set_genes(float_genes(4))
    _, cid = think_private(alpha, SECRET, [SECRET_TAG], ["beta"])
    alpha.think(CANARY)
    mine = ("--store", str(alpha.path))

    def run(*args: str, code: int = 0) -> str:
        r = mg(*mine, *args)
        assert r.code == code, (args, r.err)
        assert _hidden(r.out, r.err), args
        return r.out

    run("fork", "side")
    shared = json.loads(run("share", str(cid), "--with", "gamma", "--json"))["thought"]
    run("switch", "main")
    run("fork", "other")
    run("switch", "main")
    out = run(
        "evolve",
        "--fitness",
        str(RASTRIGIN),
        "--generations",
        "2",
        "--population",
        "4",
        "-q",
        "--json",
    )
    run_id = json.loads(out)["run"]
    args: tuple[str, ...]
    for args in (
        ("runs",),
        ("runs", "--json"),
        ("lineage", run_id),
        ("experiments",),
        ("experiments", "--json"),
        ("merge", "side", "--dry-run"),
        ("merge", "side", "--dry-run", "--json"),
    ):
        run(*args)
    run("merge", "side", "--json")
    run("merge", "other")
    # The refusals a careless user meets say nothing of the text either.
    run("think", SECRET, "--to", "beta", code=2)
    run("think", SECRET, "--private", "--to", "nobody", code=1)
    run("think", SECRET, "--private", "--to", "beta.retired-1", code=1)
    run("share", shared, "--with", "gamma", code=1)  # gamma reads it already
    run("share", str(cid), "--with", "gamma", code=1)  # replaced by the share, merged in

    # Through the fork, the share, a run and two merges: one envelope, the shared one, and
    # both its old recipient and its new one read it.
    thoughts = alpha.snapshot().state.thoughts
    new = CID.parse(shared)
    assert cid not in thoughts and new in thoughts
    assert reveal(alpha, new)["text"] == SECRET
    for node in (beta, gamma):
        fetch(node, alpha, "+refs/heads/main:refs/heads/alpha")
        assert reveal(node, new, "refs/heads/alpha")["tags"] == [SECRET_TAG]

    # A node that is no recipient sees the public thought (the control) and not the private one.
    delta = init_store(tmp_path / "delta", "delta")
    fetch(delta, alpha, "+refs/heads/main:refs/heads/alpha")
    shown = mg("--store", str(delta.path), "show", "refs/heads/alpha")
    assert CANARY in shown.out and _hidden(shown.out, shown.err)
    # Forgetting it says nothing of it either.
    run("forget", shared, "--json")
    assert shared not in run("show", "--json")
