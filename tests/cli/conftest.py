"""The `mg` fixture lives in tests/conftest.py; it and its types are re-exported for old imports."""

from __future__ import annotations

from tests.conftest import Mg, Result, mg

__all__ = ["Mg", "Result", "mg"]
