"""Review R4: `mindgit push` from a store whose own pre-push hook (`mindgit hooks install`)
refuses: said as the hook's refusal, not as the peer's failure with a hint to check its URL."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from mindgit.sync.pull import pull
from tests.conftest import Result
from tests.sync.conftest import Nodes

Mg = Callable[..., Result]


def bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "--initial-branch=main", str(path)], check=True)
    return path


def heads(gitdir: Path) -> list[str]:
    out = subprocess.run(
        ["git", "--git-dir", str(gitdir), "for-each-ref", "--format=%(refname)", "refs/heads"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_a_push_the_stores_pre_push_hook_refuses_is_said_to_be_the_hooks(
    pair: Nodes, mg: Mg, tmp_path: Path
) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    store = ("--store", str(alpha.path))
    assert mg(*store, "hooks", "install").code == 0
    server = bare(tmp_path / "shared.git")
    assert mg(*store, "remote", "add", "shared", str(server)).code == 0
    beta.fork("ideas")
    beta.think("beta's idea", experiment="ideas")
    pull(alpha, "beta")
    assert mg(*store, "push", "shared", "ideas").code == 0
    # alpha stops trusting beta, then builds on beta's work, which the server already holds:
    # mindgit's own check sends alpha's commit alone; the hook checks the new ref's whole
    # history, beta's commits too.
    alpha.trust.remove("beta")
    alpha.fork("more", start="ideas")
    alpha.think("alpha's own", experiment="more")
    res = mg(*store, "push", "shared", "more", "--json")
    assert res.code == 1
    err = json.loads(res.out)
    assert err["type"] == "PrePushRefused", err  # was TransportError
    assert err["error"].startswith("push to shared refused by this store's pre-push hook: ")
    assert "signed by untrusted key " + beta.public_key.did in err["error"]
    assert "check the URL" not in err["hint"], err["hint"]
    assert f"mindgit --store {alpha.path} hooks install" in err["hint"], err["hint"]
    assert "refs/heads/more" not in heads(server)
    text = mg(*store, "push", "shared", "more")
    assert text.code == 1 and "refused by this store's pre-push hook" in text.err
    assert "(shared)" not in text.err and "failed to push some refs" not in text.err


def test_a_bad_size_limit_the_hook_reads_is_said_with_the_hooks_own_hint(
    pair: Nodes, mg: Mg, tmp_path: Path
) -> None:
    alpha = pair["alpha"]
    store = ("--store", str(alpha.path))
    assert mg(*store, "hooks", "install").code == 0
    server = bare(tmp_path / "shared.git")
    assert mg(*store, "remote", "add", "shared", str(server)).code == 0
    subprocess.run(
        ["git", "--git-dir", str(alpha.path), "config", "mindgit.maxObjectBytes", "1e3"], check=True
    )
    res = mg(*store, "push", "shared", "--json")
    assert res.code == 1
    err = json.loads(res.out)
    assert err["type"] == "PrePushRefused"
    assert err["error"] == (
        "push to shared refused by this store's pre-push hook: config mindgit.maxObjectBytes = "
        "'1e3' must be a size such as 134217728, 128M or 64k"
    )
    assert err["hint"].startswith("fix it with `git --git-dir ")  # the hook's, said once
    assert heads(server) == []
