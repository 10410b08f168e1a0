"""Hermetic test environment: no user or system git config, a private HOME, a pinned identity."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_AUTHOR_NAME", "mindgit-test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@mindgit.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "mindgit-test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@mindgit.invalid")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    monkeypatch.delenv("MINDGIT_STORE", raising=False)
    monkeypatch.delenv("GIT_DIR", raising=False)
    yield
