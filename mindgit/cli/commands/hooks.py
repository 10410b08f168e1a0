"""`mindgit hooks install` and the hidden `mindgit hook NAME` the installed scripts run."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mindgit.cli.options import json_option, open_store_from
from mindgit.cli.output import emit_json, info, warn
from mindgit.errors import one_line, shown_path

if TYPE_CHECKING:
    import pygit2

    from mindgit.store.verify import Problem


@click.group()
def hooks() -> None:
    """Git hooks that refuse pushes of commits mindgit would not accept (docs/hooks.md)."""


@hooks.command("install")
@click.option(
    "--server",
    "server_given",
    metavar="PATH",
    type=click.Path(file_okay=False),
    help="Guard this shared git repository (pre-receive) instead of this store (pre-push).",
)
@click.option(
    "--trust",
    "trust_given",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="The allowed-signers file the server trusts (default: this store's trusted nodes).",
)
@click.option(
    "--update-hook",
    is_flag=True,
    help="With --server: install the per-ref `update` hook instead of `pre-receive`.",
)
@click.option(
    "--allow-rewind/--no-allow-rewind",
    default=None,
    help="With --server: accept non-fast-forward pushes (default: refuse).",
)
@click.option(
    "--allow-delete/--no-allow-delete",
    default=None,
    help="With --server: accept ref deletions (default: refuse).",
)
@click.option(
    "--max-object-bytes",
    metavar="SIZE",
    help="With --server: the largest object a push may bring (default 32M).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace a hook that mindgit did not write; install into a core.hooksPath that git's "
    "global or system config sets for other repositories too.",
)
@json_option
@click.pass_context
def hooks_install(
    ctx: click.Context,
    server_given: str | None,
    trust_given: str | None,
    update_hook: bool,
    allow_rewind: bool | None,
    allow_delete: bool | None,
    max_object_bytes: str | None,
    force: bool,
    as_json: bool,
) -> None:
    """Install the pre-push hook into this store, or (--server) pre-receive into a shared repo."""
    from dataclasses import replace

    from mindgit.errors import MindgitError, UsageError
    from mindgit.sync import hooks as lib

    # An empty path is the working directory: `--server "$REPO"` with REPO unset gated
    # whatever repository the command ran in, and `--trust ""` read the directory ".".
    if server_given == "":
        raise UsageError("--server is empty: give the path of the shared git repository")
    if trust_given == "":
        raise UsageError("--trust is empty: give an allowed-signers file")
    server = None if server_given is None else Path(server_given)
    trust_file = None if trust_given is None else Path(trust_given)
    server_only = {
        "--trust": trust_file is not None,
        "--update-hook": update_hook,
        "--allow-rewind": allow_rewind is not None,
        "--allow-delete": allow_delete is not None,
        "--max-object-bytes": max_object_bytes is not None,
    }
    if server is None:
        misplaced = [name for name, given in server_only.items() if given]
        if misplaced:
            # "--trust only go with": "can" fits one option and several.
            raise UsageError(f"{', '.join(misplaced)} can only go with --server PATH")
        store = open_store_from(ctx)
        path = lib.install_hook(store.repo, "pre-push", sys.executable, force=force)
        if as_json:
            emit_json({"hooks": [str(path)]})
        else:
            info(f"installed {shown_path(path)}")
        return

    trust_text = None
    # Looked for in the repository's git dir, where the hook reads it: looked for under the
    # path given, a work tree's (`git init`, not --bare), it was never found there, and
    # every install replaced the server's trust with this store's.
    if trust_file is None and not lib.has_server_trust(server):
        # No trust given and none there yet: the server trusts what this store trusts.
        try:
            trust_text = open_store_from(ctx).trust.export()
        except MindgitError:
            trust_text = None
    policy = None
    if allow_rewind is not None or allow_delete is not None or max_object_bytes is not None:
        import pygit2

        from mindgit.evolve.fitness import parse_size

        try:
            # Only what is kept is read: `--allow-rewind` mends a bad mindgit.allowRewind
            # rather than failing on it.
            replaced = [
                key
                for key, given in (
                    (lib.CONFIG_REWIND, allow_rewind),
                    (lib.CONFIG_DELETE, allow_delete),
                    (lib.CONFIG_MAX_OBJECT, max_object_bytes),
                )
                if given is not None
            ]
            # Opened as install_server opens it: a SHA-256 repository was "not a git
            # repository" here, and UnsupportedObjectFormat without a policy flag.
            current = lib.read_policy(lib.server_repository(server), skip=replaced)
        except pygit2.GitError:
            raise lib.NotARepository(server) from None
        policy = replace(
            current,
            allow_rewind=current.allow_rewind if allow_rewind is None else allow_rewind,
            allow_delete=current.allow_delete if allow_delete is None else allow_delete,
            max_object_bytes=(
                current.max_object_bytes
                if max_object_bytes is None
                else parse_size(max_object_bytes, "--max-object-bytes")
            ),
        )
    done = lib.install_server(
        server,
        trust_file=trust_file,
        trust_text=trust_text,
        python=sys.executable,
        hooks=("update",) if update_hook else ("pre-receive",),
        policy=policy,
        force=force,
    )
    if as_json:
        emit_json(
            {
                "hooks": [str(p) for p in done.hooks],
                "trust_file": str(done.trust_file),
                "trusted": done.trusted,
                "allow_rewind": done.policy.allow_rewind,
                "allow_delete": done.policy.allow_delete,
                "max_object_bytes": done.policy.max_object_bytes,
                "other_hooks": [str(p) for p in done.others],
            }
        )
    else:
        for p in done.hooks:
            info(f"installed {shown_path(p)}")
        info(f"trusting {done.trusted} node(s) from {shown_path(done.trust_file)}")
    for p in done.others:
        # Said with --json too (on stderr): `--update-hook` is "instead of pre-receive", and a
        # pre-receive left in place refuses whole pushes, so the update hook's per-ref
        # refusals never happen.
        effect = (
            "it refuses a whole push before the update hook judges any ref"
            if p.name == "pre-receive"
            else "git runs it on each ref pre-receive accepted, a second check of each"
        )
        warn(
            f"{p}, mindgit's {p.name} hook, is still installed and runs too: {effect}; remove it "
            "if this hook is to be the only one"
        )


@click.command(hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("name", type=click.Choice(["pre-receive", "update", "pre-push"]))
@click.argument("args", nargs=-1)
def hook(name: str, args: tuple[str, ...]) -> None:
    """Run git hook NAME (git calls this through the scripts `mindgit hooks install` writes)."""
    from mindgit.cli.main import exit_with
    from mindgit.errors import UsageError
    from mindgit.sync import hooks as lib

    if name == "pre-receive":
        repo = _hook_repository(name)
        problems = lib.pre_receive(repo, lib.parse_ref_updates(name, _input_lines()))
    elif name == "update":
        if len(args) != 3:
            raise UsageError("the update hook takes <ref> <old> <new>")
        problems = lib.update(_hook_repository(name), *args)
    else:
        problems = _pre_push(args)
    lines = lib.report(problems)
    for line in lines:
        click.echo(line, err=True)
    if name == "pre-push":
        lib.tell_pusher(lines)
    if problems:
        exit_with(1)


def _pre_push(args: tuple[str, ...]) -> list[Problem]:
    from mindgit.errors import MindgitError, UsageError
    from mindgit.store.repository import NotAStore, Store
    from mindgit.sync import hooks as lib

    if len(args) != 2:
        raise UsageError("the pre-push hook takes <remote name> <remote url>")
    try:
        where = Path(os.environ.get("GIT_DIR") or ".")
        try:
            store = Store(where)
        except NotAStore:
            raise lib.HookOutsideRepository("pre-push", where) from None
        # Only the size limit applies to a push from here: a server-only switch set wrongly in
        # this store must not stop it.
        policy = lib.read_policy(store.repo, skip=(lib.CONFIG_REWIND, lib.CONFIG_DELETE))
        return lib.pre_push(
            store.repo,
            store.trust,
            lib.parse_pushed_refs(_input_lines()),
            max_object_bytes=policy.max_object_bytes,
        )
    except MindgitError as e:
        # Said on stderr at the CLI's edge, as ever; the `mindgit push` running the hook is
        # told too, in the words stderr shows.
        said = str(e) if not e.hint else f"{e} (hint: {e.hint})"
        lib.tell_pusher([f"mindgit: error: {one_line(said)}"])
        raise


def _hook_repository(name: str) -> pygit2.Repository:
    from mindgit.sync import hooks as lib

    try:
        return lib.open_repository()
    except lib.NotARepository as e:
        # Run by hand from a shell: said to be a hook, and how git comes to run it.
        raise lib.HookOutsideRepository(name, e.path) from None


def _input_lines() -> list[str]:
    # git hands ref names over as bytes, UTF-8 or not: read them so that, whatever the locale
    # says, a name that is not UTF-8 is refused by name instead of failing the hook.
    return sys.stdin.buffer.read().decode("utf-8", "surrogateescape").split("\n")
