"""`mindgit share` and `mindgit keys`: private thoughts shared by consent, and key rotation."""

from __future__ import annotations

import click

from mindgit.cli.options import experiment_option, json_option, open_store_from, typed_node
from mindgit.cli.output import emit_json, info, table
from mindgit.errors import shown_path


@click.command()
@click.argument("cid")
@click.option(
    "--with",
    "with_",
    required=True,
    metavar="NODE",
    help="The trusted node (name, did:key or OpenSSH line) that may read the thought from now on.",
)
@experiment_option
@json_option
@click.pass_context
def share(ctx: click.Context, cid: str, with_: str, experiment: str | None, as_json: bool) -> None:
    """Let one more node read the private thought CID (only a recipient can).

    The thought gets a new envelope, and so a new CID, printed on stdout.
    """
    from mindgit.errors import as_usage
    from mindgit.ipld.cid import CID, InvalidCID
    from mindgit.store.private import share as share_thought

    try:
        thought = CID.parse(cid)
    except InvalidCID as e:
        # Typed on the command line: text that is no CID at all is a usage error.
        raise as_usage(e) from None
    typed_node(with_, "--with")
    store = open_store_from(ctx)
    commit, new = share_thought(store, thought, with_, experiment=experiment)
    if as_json:
        emit_json(
            {
                "thought": str(new),
                # The CID as show and log spell it, not as typed (upper case, another base).
                "replaces": str(thought),
                "with": with_,
                "commit": commit.id,
                "experiment": commit.experiment,
                "state": str(commit.manifest),
            }
        )
    else:
        click.echo(str(new))
        info(f"shared with {with_}; the thought is now {new}")


@click.group()
def keys() -> None:
    """This node's keys: rotate them, list them, accept peers' rotations."""


@keys.command("rotate")
@json_option
@click.pass_context
def keys_rotate(ctx: click.Context, as_json: bool) -> None:
    """Replace this node's key; the old one is kept so old private thoughts stay readable.

    The new key is announced on refs/keys/announce in a commit signed by the old key; peers that
    trust the old key accept the new one (`mindgit keys apply`).
    """
    from mindgit.store.rotations import rotate_key

    store = open_store_from(ctx)
    r = rotate_key(store)
    if as_json:
        emit_json(
            {
                "name": r.name,
                "old": r.old.did,
                "new": r.new.did,
                "announcement": r.commit,
                "retired_as": r.retired_as,
                "retired_key": str(r.retired_key),
            }
        )
    else:
        click.echo(r.new.did)
        info(f"rotated {r.name}: old key kept as {r.retired_as} ({shown_path(r.retired_key)})")
        info(f"announced in {r.commit[:12]} on refs/keys/announce; push it to your peers")


@keys.command("list")
@json_option
@click.pass_context
def keys_list(ctx: click.Context, as_json: bool) -> None:
    """This node's current key and the retired keys it still reads private thoughts with.

    A rotation not finished lists its new key as pending. A key file that cannot be used is
    named on stderr after the others are listed (exit 1).
    """
    from mindgit.cli.main import error_json, exit_with, report_error
    from mindgit.store.private import listed_keys

    store = open_store_from(ctx)
    found, broken = listed_keys(store)
    rows = [{"status": k.status, "did": k.public.did, "path": str(k.path)} for k in found]
    if as_json and not broken:
        emit_json(rows)
    elif as_json:
        # As log and show --json with damage: the failed command's one document, holding what
        # was listed as it is on success.
        doc = error_json(str(broken[0]), broken[0].hint, type(broken[0]).__name__)
        doc["keys"] = rows
        doc["damaged"] = [{"path": str(e.path), "error": str(e)} for e in broken]
        emit_json(doc)
    elif rows:
        table("keys", ["status", "did", "file"], [[r["status"], r["did"], r["path"]] for r in rows])
    # One damaged retired key failed the whole listing: each is named after the rest, one line.
    for e in broken:
        report_error(str(e), e.hint, type(e).__name__, as_json=False)
    if broken:
        exit_with(1)


@keys.command("apply")
@click.argument("revs", nargs=-1, required=True)
@json_option
@click.pass_context
def keys_apply(ctx: click.Context, revs: tuple[str, ...], as_json: bool) -> None:
    """Accept peers' key rotations from REVS (e.g. a fetched refs/keys/... ref).

    Only rotations signed by a trusted node's current key are accepted; any other is refused
    and nothing changes.
    """
    from mindgit.cli.options import typed_rev
    from mindgit.store.repository import UnknownRef
    from mindgit.store.rotations import apply_rotations
    from mindgit.sync.peers import follow_rotations

    for rev in revs:
        typed_rev(rev, "REVS")
    store = open_store_from(ctx)
    try:
        outcomes = apply_rotations(store, revs)
    except UnknownRef as e:
        # The hint named `mindgit experiments`, which lists no key chain.
        raise UnknownRef(
            e.rev,
            hint="fetch a node's key chain first: git fetch <peer> refs/keys/announce, then "
            "`mindgit keys apply FETCH_HEAD` (pull and sync fetch and apply them)",
        ) from None
    follow_rotations(store, outcomes)  # a peer expected to sign with a replaced key
    if as_json:
        emit_json(
            [
                {
                    "commit": o.commit,
                    "status": o.status,
                    "name": o.name,
                    "old": o.old.did if o.old else None,
                    "new": o.new.did if o.new else None,
                }
                for o in outcomes
            ]
        )
        return
    for o in outcomes:
        new = o.new.did if o.new else "-"
        info(f"{o.commit[:12]}  {o.status:8} {o.name or '-'}  {new}")
