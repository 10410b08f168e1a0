"""Sync commands: remote (add, remove, list), push, pull, sync, peers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mindgit.cli.housekeeping import housekeep
from mindgit.cli.options import (
    json_option,
    open_store_from,
    typed_node,
    typed_store_words,
    with_typed_store,
)
from mindgit.cli.output import emit_json, info, table, warn
from mindgit.errors import MindgitError, counted, one_line
from mindgit.store.settings import MAX_SYNC_TIMEOUT, read_setting

if TYPE_CHECKING:
    from mindgit.store.repository import Store
    from mindgit.sync.outcomes import Event, PeerSync, PullReport, PushReport, RefOutcome
    from mindgit.sync.peers import PeerStatus

F = TypeVar("F", bound=Callable[..., Any])


def _timeout_option(f: F) -> F:
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0.1),
        default=None,
        metavar="SECONDS",
        help=(
            "Give up on a peer once its answers took this long in all (default: config "
            "mindgit.syncTimeout, else 60)."
        ),
    )(f)


def _verbose_option(f: F) -> F:
    return click.option("-v", "--verbose", is_flag=True, help="Report each step on stderr.")(f)


def _merge_options(f: F) -> F:
    f = click.option(
        "--allow-rewind",
        is_flag=True,
        help="Accept a peer's ref that moved backwards from the last head seen from it.",
    )(f)
    return click.option(
        "--fitness",
        metavar="NAME|CID|PATH",
        default=None,
        help="Fitness module (a stored module's name or CID, or a .wat/.wasm file) that decides "
        "merges of diverged experiments.",
    )(f)


def _timeout(store: Store, given: float | None) -> float:
    from mindgit.errors import UsageError
    from mindgit.sync.transport import DEFAULT_TIMEOUT

    if given is not None:
        # FloatRange lets inf and nan through, and neither bounds a wait.
        if not math.isfinite(given):
            raise UsageError(f"--timeout must be a finite number of seconds, not {given}")
        if given > MAX_SYNC_TIMEOUT:
            # The wait ends up in poll(), in milliseconds held in a C int.
            raise UsageError(
                f"--timeout {given:.15g} is over the limit of {MAX_SYNC_TIMEOUT} seconds"
            )
        return given
    # Read as `config set` checks it: whole seconds, within what poll() can wait (bad data in
    # the config is BadConfigValue, exit 1).
    configured = read_setting(store.config_get, "synctimeout")
    return DEFAULT_TIMEOUT if configured is None else float(configured)


def _progress(verbose: bool) -> Callable[[Event], None]:
    def show(event: Event) -> None:
        # Waiting for another pull or push with the peer is shown even without -v: up to 30 s
        # of silence looked like a hang.
        if verbose or event.step == "wait":
            from mindgit.errors import URL_SHOWN_MAX, cut_words, one_line

            # A step names the peer's URL ("fetching from <url>"), which no bound keeps short
            # when set by hand in the store's config: cut as an error's URL is.
            # One line: a URL set by hand in the config may hold a newline.
            info(f"{event.peer}: {one_line(cut_words(event.message, word=URL_SHOWN_MAX))}")

    return show


def _short(oid: str | None) -> str:
    return oid[:12] if oid else "-"


def _ref_json(r: RefOutcome) -> dict[str, Any]:
    return {
        "ref": r.ref,
        "status": r.status,
        "theirs": r.theirs,
        "before": r.before,
        "after": r.after,
        "detail": r.detail,
    }


def _ref_rows(refs: Sequence[RefOutcome]) -> list[list[Any]]:
    ctx = click.get_current_context(silent=True)
    return [
        [r.status, r.ref, _short(r.before), _short(r.after), with_typed_store(r.detail, ctx) or ""]
        for r in refs
    ]


def _said(detail: str | None) -> str:
    """A ref's detail as a line says it: one line, the commands in it given the typed --store
    (run as written they read no store, or another)."""
    return one_line(with_typed_store(detail, click.get_current_context(silent=True)) or "")


def _pull_json(report: PullReport) -> dict[str, Any]:
    from mindgit.errors import shown_url

    return {
        "peer": report.peer,
        "url": shown_url(report.url),
        "verified": report.verified,
        "refs": [_ref_json(r) for r in report.refs],
        "rotations": [
            {
                "commit": o.commit,
                "status": o.status,
                "old": o.old.did if o.old else None,
                "new": o.new.did if o.new else None,
                "name": o.name,
                "reason": o.reason,
            }
            for o in report.rotations
        ],
    }


def _push_json(report: PushReport) -> dict[str, Any]:
    from mindgit.errors import shown_url

    return {
        "peer": report.peer,
        "url": shown_url(report.url),
        "ok": report.ok,
        "refs": [_ref_json(r) for r in report.refs],
        "remote": report.remote_messages,
    }


def _say_pull(report: PullReport) -> None:
    table(
        f"pull {report.peer}",
        ["status", "ref", "before", "after", "detail"],
        _ref_rows(report.refs),
    )
    for o in report.rotations:
        if o.status == "applied":
            info(
                f"{report.peer}: key rotation applied: {o.name} now uses {o.new.did if o.new else '?'}"
            )
    for r in report.attention:
        info(f"{report.peer}: {r.ref} {r.status}: {_said(r.detail)}")
    info(f"pulled from {report.peer}: {counted(len(report.changed), 'ref')} changed")


def _say_push(report: PushReport) -> None:
    table(
        f"push {report.peer}",
        ["status", "ref", "before", "after", "detail"],
        _ref_rows(report.refs),
    )
    if report.remote_messages:
        for line in report.remote_messages.splitlines():
            info(f"{report.peer}: remote: {one_line(line)}")
    for r in report.failed:
        info(f"{report.peer}: {r.ref} not pushed ({r.status}): {_said(r.detail)}")
    sent = sum(1 for r in report.refs if r.status in ("created", "pushed"))
    info(
        f"pushed to {report.peer}: {counted(sent, 'ref')} updated, {len(report.failed)} not pushed"
    )


# -- remote ----------------------------------------------------------------------------------


@click.group()
def remote() -> None:
    """Manage peers: git remotes of other nodes."""


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option(
    "--node",
    metavar="NAME|DID",
    default=None,
    help="The node expected at this URL: a trusted node's name, its did:key, or its OpenSSH "
    "public key line (ssh-ed25519 AAAA...).",
)
@json_option
@click.pass_context
def remote_add(ctx: click.Context, name: str, url: str, node: str | None, as_json: bool) -> None:
    """Add peer NAME at URL (a path, file://, ssh://, git:// or https:// URL)."""
    from mindgit.errors import message_url, shown_url
    from mindgit.identity.keys import PublicKey
    from mindgit.sync.peers import add_peer

    if node is not None:
        typed_node(node, "--node")
    store = open_store_from(ctx)
    if node is not None:
        # The node's trust, said below, is read before the peer is written: a trust file that
        # cannot be read failed the command (exit 1) only after the peer was added, and its
        # retry was refused as PeerExists.
        store.trust.nodes()
    peer = add_peer(store, name, url, node=node)
    found = None if peer.node is None else store.trust.find(PublicKey.parse(peer.node))
    # What the text says of a node not trusted yet, and the line to run: --json said neither.
    trust_add = (
        None
        if peer.node is None or found is not None
        else f"mindgit {typed_store_words(ctx)}trust add {peer.node} --name {peer.name}"
    )
    if as_json:
        emit_json(
            {
                "name": peer.name,
                "url": shown_url(peer.url),
                "node": peer.node,
                "trusted_as": None if found is None else found.name,
                "trust_add": trust_add,
            }
        )
        return
    # Cut past 160 characters as errors cut it (the 4,096 `remote add` takes made a line as
    # long); `remote list` shows it whole.
    info(f"added peer {peer.name}: {one_line(message_url(peer.url))}")
    if trust_add is not None:
        info(f"{peer.node} is not trusted yet; to accept what it signs: {trust_add}")


@remote.command("remove")
@click.argument("name")
@json_option
@click.pass_context
def remote_remove(ctx: click.Context, name: str, as_json: bool) -> None:
    """Forget peer NAME: its remote, last-seen heads and recorded state."""
    from mindgit.errors import message_url, shown_url
    from mindgit.sync.peers import remove_peer, typed_peer_name

    typed_peer_name(name)
    peer = remove_peer(open_store_from(ctx), name)
    if as_json:
        emit_json({"name": peer.name, "url": shown_url(peer.url), "node": peer.node})
    else:
        info(f"removed peer {peer.name} ({one_line(message_url(peer.url))})")


@remote.command("list")
@json_option
@click.pass_context
def remote_list(ctx: click.Context, as_json: bool) -> None:
    """Peers: name, URL, expected node."""
    from mindgit.errors import shown_url
    from mindgit.sync.peers import list_peers

    peers = list_peers(open_store_from(ctx))
    if as_json:
        emit_json([{"name": p.name, "url": shown_url(p.url), "node": p.node} for p in peers])
    else:
        rows = [[p.name, shown_url(p.url), p.node or ""] for p in peers]
        table("peers", ["name", "url", "node"], rows)


# -- push, pull, sync ------------------------------------------------------------------------


@click.command()
@click.argument("peer")
@click.argument("experiments", nargs=-1)
@_timeout_option
@_verbose_option
@json_option
@click.pass_context
def push(
    ctx: click.Context,
    peer: str,
    experiments: tuple[str, ...],
    timeout: float | None,
    verbose: bool,
    as_json: bool,
) -> None:
    """Push EXPERIMENTS (default: all) with their runs, fitness modules and key chains to PEER.

    Only fast-forwards; every commit is verified before it is sent. Exit 1 if a ref was not pushed.
    """
    from mindgit.cli.main import exit_with
    from mindgit.cli.options import typed_experiment_name
    from mindgit.sync.peers import typed_peer_name
    from mindgit.sync.push import push as push_to

    # Names nothing could be are the command line's fault (exit 2), said before the store opens.
    typed_peer_name(peer)
    for experiment in experiments:
        typed_experiment_name(experiment)
    store = open_store_from(ctx)
    report = push_to(
        store, peer, experiments, timeout=_timeout(store, timeout), on_event=_progress(verbose)
    )
    if as_json:
        emit_json(_push_json(report))
    else:
        _say_push(report)
    if not report.ok:
        exit_with(1)


@click.command()
@click.argument("peer")
@_merge_options
@_timeout_option
@_verbose_option
@json_option
@click.pass_context
def pull(
    ctx: click.Context,
    peer: str,
    fitness: str | None,
    allow_rewind: bool,
    timeout: float | None,
    verbose: bool,
    as_json: bool,
) -> None:
    """Fetch PEER's experiments, runs, modules and key chains; verify all; then accept.

    One commit that does not verify refuses the whole update and changes nothing (exit 1).
    A ref kept apart (status `conflict` or `unrelated`: ours kept, theirs at
    refs/peers/PEER/...) does not fail the pull, which brought in all it could: it exits 0
    and names each such ref on stderr (an experiment with the merge that brings it in); with
    --json, look for those statuses in "refs".
    """
    from mindgit.cli.options import check_fitness_option
    from mindgit.sync.fitness_check import check_fitness_reachable
    from mindgit.sync.peers import typed_peer_name
    from mindgit.sync.pull import pull as pull_from
    from mindgit.sync.transport import Budget

    typed_peer_name(peer)
    check_fitness_option(fitness)
    store = open_store_from(ctx)
    # The peer's listing, if the module is looked for there, spends from the pull's time.
    budget = Budget.of(_timeout(store, timeout))
    check_fitness_reachable(store, fitness, [peer], budget)
    report = pull_from(
        store,
        peer,
        allow_rewind=allow_rewind,
        fitness=fitness,
        timeout=budget,
        on_event=_progress(verbose),
    )
    if as_json:
        emit_json(_pull_json(report))
    else:
        _say_pull(report)
    housekeep(store)


def _sync_json(result: PeerSync) -> dict[str, Any]:
    from mindgit.errors import shown_url

    return {
        "peer": result.peer,
        "url": shown_url(result.url),
        # As the text summary counts them: a peer is ok when it was reached and its pull and push
        # ran; a ref its push could not move, or its pull kept apart, is listed below, not a
        # failed peer (``PeerSync.ok`` counts a ref not pushed too, as the exit code does).
        "ok": result.error is None,
        "not_pushed": [_ref_json(r) for r in result.push.failed] if result.push else [],
        "kept_apart": [_ref_json(r) for r in result.pull.attention] if result.pull else [],
        "error": None if result.error is None else str(result.error),
        "hint": None if result.error is None else result.error.hint,
        # Which error, as a failing `pull` or `push --json` names it (PeerTimeout,
        # PeerUnreachable, PeerNotTrusted...): a script had only the message to go by.
        "type": None
        if result.error is None
        else getattr(result.error, "kind", None) or type(result.error).__name__,
        "pull": _pull_json(result.pull) if result.pull else None,
        "push": _push_json(result.push) if result.push else None,
    }


@click.command("sync")
@click.argument("peers", nargs=-1)
@_merge_options
@_timeout_option
@_verbose_option
@json_option
@click.pass_context
def sync(
    ctx: click.Context,
    peers: tuple[str, ...],
    fitness: str | None,
    allow_rewind: bool,
    timeout: float | None,
    verbose: bool,
    as_json: bool,
) -> None:
    """Pull from and push to PEERS (default: every peer). A failing peer is reported and the
    others go on; exit 1 if any peer failed or any ref was not pushed. With --json, a peer's
    "ok" says it was reached, pulled from and pushed to; refs not pushed are in its
    "not_pushed", refs its pull kept apart in its "kept_apart"."""
    from mindgit.cli.main import exit_with
    from mindgit.cli.options import check_fitness_option
    from mindgit.sync.peers import typed_peer_name
    from mindgit.sync.session import sync as sync_all

    for name in peers:
        typed_peer_name(name)
    check_fitness_option(fitness)
    store = open_store_from(ctx)
    seconds = _timeout(store, timeout)
    # sync_all refuses a --fitness named nowhere before anything is fetched, each peer asked
    # spending from its own budget (it was asked here with a whole timeout of its own).
    results = sync_all(
        store,
        peers or None,
        allow_rewind=allow_rewind,
        fitness=fitness,
        timeout=seconds,
        on_event=_progress(verbose),
    )
    if as_json:
        emit_json([_sync_json(r) for r in results])
    else:
        rows = []
        for r in results:
            if r.pull is not None:
                rows += [[r.peer, "pull", *row] for row in _ref_rows(r.pull.refs)]
            if r.push is not None:
                rows += [[r.peer, "push", *row] for row in _ref_rows(r.push.refs)]
        table("sync", ["peer", "step", "status", "ref", "before", "after", "detail"], rows)
        for r in results:
            # What a pull kept apart is said even when the push after it failed: it was in
            # --json's "kept_apart", and the text named the failure alone.
            for ref in r.pull.attention if r.pull is not None else ():
                info(f"{r.peer}: {ref.ref} {ref.status}: {_said(ref.detail)}")
            if r.error is not None:
                hint = f" (hint: {_said(r.error.hint)})" if r.error.hint else ""
                info(f"mindgit: peer {r.peer} failed: {one_line(str(r.error))}{hint}")
            else:
                assert r.pull is not None and r.push is not None
                # Why a server refused (its hook's words), as `push` shows it: sync showed
                # only git's "pre-receive hook declined".
                for line in r.push.remote_messages.splitlines() if r.push.failed else ():
                    info(f"{r.peer}: remote: {one_line(line)}")
                for ref in r.push.failed:
                    info(f"{r.peer}: {ref.ref} not pushed ({ref.status}): {_said(ref.detail)}")
        # A peer failed when its pull or push stopped with an error; refs its push refused
        # (a ref kept apart, a hook's refusal) are counted as such: "failed: beta" after
        # everything else was pulled and pushed sent the user looking for a broken peer.
        failed = [r.peer for r in results if r.error is not None]
        unpushed = sum(len(r.push.failed) for r in results if r.push is not None)
        if not results:
            # "synced with 0 of 0 peers" read as a sync that happened.
            info(
                f"no peers to sync with; add one with `mindgit {typed_store_words(ctx)}remote add NAME URL`"
            )
        else:
            info(
                f"synced with {len(results) - len(failed)} of {counted(len(results), 'peer')}"
                + (f"; {counted(unpushed, 'ref')} not pushed (see above)" if unpushed else "")
                + (f"; failed: {', '.join(failed)}" if failed else "")
            )
    # As after a pull: what the peers brought may have passed git's pack limits.
    housekeep(store)
    if any(not r.ok for r in results):
        exit_with(1)


# -- peers -----------------------------------------------------------------------------------


def _age(seconds: float) -> str:
    # Whole units passed, as ages are told: rounded, 3,599 s read "60m" and 86,399 s "24h".
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _status_json(s: PeerStatus, now: float) -> dict[str, Any]:
    from mindgit.errors import scrub, shown_url

    seen = []
    for ref, commit in sorted(s.marks.items()):
        times = s.state.seen.get(ref)
        known = times is not None and times.commit == commit
        seen.append(
            {
                "ref": ref,
                "commit": commit,
                "first_seen": times.first if known and times else None,
                "last_seen": times.last if known and times else None,
                # Never below 0: a clock set back made a head seen "in the future".
                "age_seconds": max(0.0, now - times.last) if known and times else None,
            }
        )
    err = s.state.last_error
    return {
        "name": s.peer.name,
        "url": shown_url(s.peer.url),
        "node": s.peer.node,
        "trusted_as": s.trusted_as,
        "last_pull": s.state.last_pull,
        "last_push": s.state.last_push,
        "last_error": None
        if err is None
        # Scrubbed again: a state file written by an older mindgit may hold the credentials.
        else {"at": err.at, "operation": err.operation, "message": scrub(err.message, s.peer.url)},
        "seen": seen,
    }


def _a_key(node: str) -> bool:
    # A node set by hand in the config that is no did:key (remote add refuses one) is no key to
    # trust: `trust add` of it would be refused too, and the line handed the config's text on
    # as a command to run.
    from mindgit.identity.keys import PublicKey

    try:
        PublicKey.parse(node)
    except MindgitError:
        return False
    return True


@click.command()
@json_option
@click.pass_context
def peers(ctx: click.Context, as_json: bool) -> None:
    """Each peer: URL, expected key and its trust, last head seen per ref and its age, last error."""
    from mindgit.sync.peers import peer_statuses

    now = time.time()
    store = open_store_from(ctx)
    statuses = [_status_json(s, now) for s in peer_statuses(store)]
    if as_json:
        emit_json(statuses)
        return
    # peer_statuses finds no node trusted in a trust file it cannot read: "NOT TRUSTED", and the
    # `trust add` line below, said so of a node the file trusts.
    unreadable: MindgitError | None = None
    try:
        store.trust.nodes()
    except MindgitError as e:
        unreadable = e
    rows = []
    for s in statuses:
        if s["node"] is None:
            key = "(no node given)"
        else:
            unknown = "trust unknown" if unreadable is not None else "NOT TRUSTED"
            key = f"{s['node']} ({s['trusted_as'] or unknown})"
        err = s["last_error"]
        error = ""
        if err is not None:
            error = f"{_age(now - err['at'])} ago, {err['operation']}: {err['message']}"
            if err["at"] < max(s["last_pull"] or 0, s["last_push"] or 0):
                error = "(since succeeded) " + error
        # When this node last pulled from and pushed to the peer (--json's last_pull and
        # last_push): the text showed no time for a peer with no head seen, never reached or
        # reached and refused every time.
        done = [
            f"{what} {_age(now - at)} ago"
            for what, at in (("pulled", s["last_pull"]), ("pushed", s["last_push"]))
            if at is not None
        ]
        contact = ", ".join(done) if done else "never pulled or pushed"
        rows.append([s["name"], "", s["url"], key, contact, error])
        for seen in s["seen"]:
            age = _age(seen["age_seconds"]) if seen["age_seconds"] is not None else "?"
            rows.append(["", seen["ref"], seen["commit"][:12], age, "", ""])
    table("peers", ["peer", "ref", "url / head", "key / age", "last sync", "last error"], rows)
    # "NOT TRUSTED" alone left the user to find the command (`remote add` and a refused pull
    # give it).
    if unreadable is not None and any(s["node"] is not None for s in statuses):
        hint = f" (hint: {one_line(unreadable.hint)})" if unreadable.hint else ""
        warn(f"no peer's trust is known: {one_line(str(unreadable))}{hint}")
        return
    for s in statuses:
        if s["node"] is not None and s["trusted_as"] is None and _a_key(s["node"]):
            info(
                f"{s['name']}: {s['node']} is not trusted yet; to accept what it signs: "
                f"mindgit {typed_store_words(ctx)}trust add {s['node']} --name {s['name']}"
            )
