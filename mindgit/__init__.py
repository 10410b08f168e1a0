"""mindgit: version control for the state of AI agents, built on git."""

from __future__ import annotations

__version__ = "0.1.0"
