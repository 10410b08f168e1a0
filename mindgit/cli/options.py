"""Options shared by many commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from mindgit.errors import MindgitError

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
experiment_option = click.option(
    "-e",
    "--experiment",
    metavar="NAME",
    default=None,
    help="Target this experiment instead of the current one.",
)


class StoreUnreadable(MindgitError):
    """A store that git itself cannot open: its config or another of its files is damaged."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"cannot open the store: {reason}",
            hint="repair or restore the file it names; `git fsck` in the store says more",
        )
        self.reason = reason


def open_store_from(ctx: click.Context) -> Any:
    """The store named by --store / MINDGIT_STORE / the working directory."""
    import pygit2

    from mindgit.store.repository import open_store

    try:
        return open_store(ctx.find_root().obj.get("store"))
    except pygit2.GitError as e:
        # libgit2 refuses a store whose git config does not parse; that is the store's state,
        # not a bug in mindgit, and every command would otherwise report an internal error.
        raise StoreUnreadable(str(e)) from None
