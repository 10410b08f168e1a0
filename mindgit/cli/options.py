"""Options shared by many commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
experiment_option = click.option(
    "-e",
    "--experiment",
    metavar="NAME",
    default=None,
    help="Target this experiment instead of the current one.",
)


def open_store_from(ctx: click.Context) -> Any:
    """The store named by --store / MINDGIT_STORE / the working directory."""
    from mindgit.store.repository import open_store

    return open_store(ctx.find_root().obj.get("store"))
