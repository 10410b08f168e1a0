"""How a store reaches its peers is the user's git config: the store's own (`git config
url.<base>.insteadOf`, `http.proxy`, `credential.helper`, `core.sshCommand`...) and their global
one, for a pull as for a push.

Bugs: a pull's git runs in the quarantine repository, whose config is not the store's, so every
such setting of the store was ignored by pull (and sync's pull) while push honoured it; and
mindgit set GIT_SSH_COMMAND, which git puts before `core.sshCommand`, so a configured ssh
command (a key, a jump host) was never run, by pull or push, from the store's config or the
global one."""

from __future__ import annotations

from pathlib import Path

import pytest

from mindgit.store.repository import Store
from tests.conftest import Mg, git
from tests.sync.conftest import Nodes
from tests.sync.daemons import closed_port


def test_a_url_rewrite_in_the_stores_config_serves_pull_and_push(pair: Nodes, mg: Mg) -> None:
    alpha, beta = pair["alpha"], pair["beta"]
    beta.fork("dreams")
    beta.think("dreams of flight")
    a = ("--store", str(alpha.path))
    assert mg(*a, "remote", "add", "mirror", "nodes:beta").code == 0
    git(f"--git-dir={alpha.path}", "config", f"url.{pair.base}/.insteadOf", "nodes:")

    r = mg(*a, "pull", "mirror")
    assert r.code == 0, r
    assert alpha.repo.references.get("refs/heads/dreams") is not None
    alpha.think("alpha's answer", experiment="dreams")
    r = mg(*a, "push", "mirror", "dreams")
    assert r.code == 0, r
    assert (
        beta.repo.references["refs/heads/dreams"].target
        == alpha.repo.references["refs/heads/dreams"].target
    )


def _recording_ssh(tmp_path: Path) -> tuple[Path, Path]:
    """An ssh command that writes down each time it runs, then fails as a refused one would."""
    log = tmp_path / "ssh-calls"
    script = tmp_path / "my-ssh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "my-ssh: refused" >&2\nexit 255\n')
    script.chmod(0o755)
    return script, log


def _runs_the_users_ssh(mg: Mg, store: Store, log: Path) -> None:
    a = ("--store", str(store.path))
    url = f"ssh://127.0.0.1:{closed_port()}/srv/beta"
    assert mg(*a, "remote", "add", "beta-ssh", url).code == 0
    for command in ("pull", "push"):
        log.unlink(missing_ok=True)
        r = mg(*a, command, "beta-ssh", "--timeout", "20")
        assert r.code == 1, r
        assert log.exists(), f"{command}: the configured ssh command never ran: {r.err}"


def test_the_stores_core_ssh_command_is_run(nodes: Nodes, mg: Mg, tmp_path: Path) -> None:
    alpha = nodes.make("alpha")
    script, log = _recording_ssh(tmp_path)
    git(f"--git-dir={alpha.path}", "config", "core.sshCommand", str(script))
    _runs_the_users_ssh(mg, alpha, log)


def test_a_global_core_ssh_command_is_run(
    nodes: Nodes, mg: Mg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alpha = nodes.make("alpha")
    script, log = _recording_ssh(tmp_path)
    glob = tmp_path / "gitconfig"
    glob.write_text(f"[core]\n\tsshCommand = {script}\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(glob))
    _runs_the_users_ssh(mg, alpha, log)
