"""Every registered command loads and documents itself; the top-level help lists them all."""

from __future__ import annotations

import pytest

from mindgit.cli.main import COMMANDS
from tests.conftest import Mg


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(mg: Mg, name: str) -> None:
    r = mg(name, "--help")
    assert r.code == 0, r.err
    assert "Usage: mindgit " + name in r.out


def test_top_level_help_lists_every_command_but_the_hidden_hook(mg: Mg) -> None:
    r = mg("--help")
    assert r.code == 0
    listed = {
        line.split()[0] for line in r.out.split("Commands:", 1)[1].splitlines() if line.strip()
    }
    assert listed == set(COMMANDS) - {"hook"}


def test_config_help_names_every_setting(mg: Mg) -> None:
    from mindgit.store.settings import SETTINGS

    text = " ".join(mg("config", "--help").out.split())
    assert [k for k in SETTINGS if k not in text] == []
