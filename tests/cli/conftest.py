from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from mindgit.cli.main import run


@dataclass
class Result:
    code: int
    out: str
    err: str


Mg = Callable[..., Result]


@pytest.fixture
def mg(capsys: pytest.CaptureFixture[str]) -> Mg:
    """Run `mindgit ARGS...` in-process; returns exit code, stdout, stderr."""

    def call(*args: str) -> Result:
        capsys.readouterr()
        code = run(list(args))
        cap = capsys.readouterr()
        return Result(code, cap.out, cap.err)

    return call
