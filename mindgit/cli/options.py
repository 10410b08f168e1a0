"""Options shared by many commands, declared once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mindgit.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


def typed_experiment_name(name: str, flag: str | None = None) -> str:
    """An experiment name typed on the command line (after ``flag``, if one), checked before
    the store is opened: a name no experiment can have is a usage error (exit 2); an unknown
    one is the command's own error (exit 1)."""
    from mindgit.store.refs import RefError
    from mindgit.store.repository import check_experiment_name

    try:
        return check_experiment_name(name)
    except RefError as e:
        message = str(e) if flag is None else f"{flag} {name!r} is not an experiment name ({e})"
        raise UsageError(
            message,
            hint="an experiment name is a git branch name, e.g. dreamer",
            kind=type(e).__name__,
        ) from None


def experiment_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """:func:`typed_experiment_name` as a click callback, for ``-e`` and NAME arguments."""
    if value is None:
        return None
    flag = param.opts[-1] if isinstance(param, click.Option) else None
    return typed_experiment_name(value, flag)


experiment_option = click.option(
    "-e",
    "--experiment",
    metavar="NAME",
    default=None,
    callback=experiment_name,
    help="Target this experiment instead of the current one.",
)


def open_store_from(ctx: click.Context) -> Any:
    """The store named by --store / MINDGIT_STORE / the working directory."""
    from mindgit.store.repository import open_store

    return open_store(ctx.find_root().obj.get("store"))


class InsideAStore(UsageError):
    """A file or store a command would write among a store's own files."""

    def __init__(self, what: str, path: Path, store: Path) -> None:
        super().__init__(
            f"{what} {path} is inside the store {store}: writing there would change the store; "
            "nothing was written",
            hint="give a path outside the store's directory",
        )
        self.path = path
        self.store = store


def refuse_inside_store(what: str, path: Path, store: Path) -> None:
    """Refuse to write ``path`` when it is ``store`` or lies under it: a CAR written over the
    store's HEAD, or an agent file over its config, leaves a store that no longer opens."""
    target = path.resolve()
    root = store.resolve()
    if target == root or root in target.parents:
        raise InsideAStore(what, path, store)


def refuse_inside_any_store(what: str, path: Path) -> None:
    """Refuse to make a store at ``path`` inside another store's directory (git reads a store
    made under refs/heads/ as experiments, and fsck reports its files as broken refs)."""
    from mindgit.store.repository import is_store

    for parent in path.resolve().parents:
        if is_store(parent):
            raise InsideAStore(what, path, parent)
