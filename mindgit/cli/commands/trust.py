"""`mindgit trust`: the nodes whose signatures this node accepts."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import click

from mindgit.cli.options import (
    json_option,
    open_store_from,
    typed_key,
    typed_new_node_name,
    typed_node_name,
)
from mindgit.cli.output import emit_json, info, table

if TYPE_CHECKING:
    from mindgit.errors import UsageError


@click.group()
def trust() -> None:
    """Manage trusted nodes (an OpenSSH allowed_signers file inside the store)."""


@trust.command("add")
@click.argument("key")
@click.option("--name", required=True, help="A name for the node (letters, digits, . _ -).")
@json_option
@click.pass_context
def trust_add(ctx: click.Context, key: str, name: str, as_json: bool) -> None:
    """Trust KEY (a did:key or an `ssh-ed25519 AAAA...` line) under NAME."""
    from mindgit.errors import UsageError
    from mindgit.store.trusting import trust_node

    try:
        public = typed_key(key)
    except UsageError as e:
        raise _key_file_given(key, name, e) from None
    typed_new_node_name(name, "--name")
    node = trust_node(open_store_from(ctx), public, name)
    if as_json:
        emit_json({"name": node.name, "did": node.key.did, "fingerprint": node.key.fingerprint})
    else:
        info(f"trusted {node.name}: {node.key.did}")


def _key_file_given(key: str, name: str, error: UsageError) -> UsageError:
    """``error`` for a KEY that is not a key, told as a file when it names one: the error said
    'a text of N characters (not shown: it may be a private key)' of a path, and hinted at a
    did:key or an OpenSSH line, never at the line the file holds."""
    from mindgit.errors import UsageError, shell_word

    if not os.path.isfile(key):
        return error
    head = b""
    with contextlib.suppress(OSError):
        # O_NONBLOCK: a named pipe put there meanwhile is not waited on.
        fd = os.open(key, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            head = os.read(fd, 64)
        finally:
            os.close(fd)
    path = shell_word(key)
    if head.lstrip().startswith(b"ssh-"):
        hint = f'give the line it holds: `mindgit trust add "$(cat {path})" --name {name}`'
    else:
        # Never a hint to paste a private key on a command line (ps and shell history see it).
        hint = (
            f"give its public key (`ssh-keygen -y -f {path}` prints it for a private key file), "
            "or the did:key that mindgit id prints on that node"
        )
    return UsageError(
        f"not an ed25519 public key: {key!r} is a file; KEY is the key itself",
        hint=hint,
        kind=error.kind,
    )


@trust.command("remove")
@click.argument("node")
@json_option
@click.pass_context
def trust_remove(ctx: click.Context, node: str, as_json: bool) -> None:
    """Stop trusting NODE (a name, did:key or `ssh-ed25519 AAAA...` line); never this node's
    own key."""
    from mindgit.identity.keys import names_a_key

    if names_a_key(node):
        # An OpenSSH line, as trust add takes it, was refused as an invalid node name.
        node = typed_key(node).did
    else:
        typed_node_name(node)
    store = open_store_from(ctx)
    removed = store.untrust(node)
    if as_json:
        emit_json({"name": removed.name, "did": removed.key.did})
    else:
        info(f"no longer trusted: {removed.name} ({removed.key.did})")


@trust.command("list")
@json_option
@click.pass_context
def trust_list(ctx: click.Context, as_json: bool) -> None:
    """Trusted nodes: name, did:key, fingerprint, and what each may sign (a retired key: only
    the history below the tips its rotation named)."""
    store = open_store_from(ctx)
    nodes = store.trust.nodes()
    rows = [
        {
            "name": n.name,
            "did": n.key.did,
            "fingerprint": n.key.fingerprint,
            "heads": None if n.heads is None else list(n.heads),
        }
        for n in nodes
    ]
    if as_json:
        emit_json(rows)
    else:
        # A retired key signs only below the heads its rotation named (docs/privacy.md).
        table(
            "trusted nodes",
            ["name", "did", "fingerprint", "signs"],
            [[n.name, n.key.did, n.key.fingerprint, _signs(n.heads)] for n in nodes],
        )


def _signs(heads: tuple[str, ...] | None) -> str:
    if heads is None:
        return "anything"
    if not heads:
        return "only its rotation"
    return "history below " + ", ".join(h[:12] for h in heads)


@trust.command("export")
@click.pass_context
def trust_export(ctx: click.Context) -> None:
    """Print the trusted keys as an OpenSSH allowed_signers file (for git verify-commit)."""
    store = open_store_from(ctx)
    click.echo(store.trust.export(), nl=False)
