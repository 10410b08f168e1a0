"""mindgit: version control for the state of AI agents, built on git.

The public API is loaded on first use, so ``import mindgit`` stays cheap::

    import mindgit
    store = mindgit.open_store("/tmp/minds/alpha")
    store.think("the garden is quiet at dawn", ["observation"])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mindgit.errors import MindgitError
    from mindgit.store.repository import Store, init_store, open_store

__all__ = ["MindgitError", "Store", "init_store", "open_store"]

_LAZY = {
    "MindgitError": "mindgit.errors",
    "Store": "mindgit.store.repository",
    "init_store": "mindgit.store.repository",
    "open_store": "mindgit.store.repository",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mindgit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
