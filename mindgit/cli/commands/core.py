"""Core commands: init, id, think, forget, genome, show, log, fork, switch, experiments, diff, config."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from mindgit.cli.housekeeping import housekeep
from mindgit.cli.options import (
    experiment_name,
    experiment_option,
    json_option,
    open_store_from,
    standard_input_text,
    typed_experiment_name,
    typed_node,
    typed_rev,
    typed_text,
    warn_no_trust_file,
)
from mindgit.cli.output import emit_json, info, shell_word, table, warn
from mindgit.errors import (
    DamagedStore,
    MindgitError,
    UsageError,
    as_usage,
    counted,
    listed,
    one_line,
    quoted,
    shown_path,
)


class ConfigNotWritten(MindgitError):
    """The store's git config could not be written (read-only, or locked by another writer)."""

    def __init__(self, store: Path, reason: str) -> None:
        super().__init__(
            f"cannot write the settings of {store}: {reason}; nothing was changed",
            hint=f"check that {store / 'config'} is writable and that no git or mindgit "
            f"process holds {store / 'config.lock'}",
        )
        self.store = store
        self.reason = reason


class SettingSetTwice(MindgitError):
    """A setting written more than once in the store's config (by hand): which one to replace
    is the user's choice, as git's own `config` says."""

    def __init__(self, store: Path, key: str, count: int) -> None:
        super().__init__(
            f"{key} is set {count} times in {store / 'config'} (edited by hand); nothing was "
            "changed",
            hint=f"replace them all: `git --git-dir {shell_word(str(store))} config --replace-all "
            f"{key} VALUE`",
        )
        self.store = store
        self.key = key


@click.command()
# Paths as typed (str): click's Path('') is '.', so `--key ''` was read as the working
# directory ("cannot read node key .", exit 1) and `init ''` made a store there.
@click.argument("path", required=False, type=click.Path(path_type=str))
@click.option("--name", required=True, help="This node's name (letters, digits, . _ -).")
@click.option(
    "--key",
    "key_file",
    type=click.Path(path_type=str),
    help="Use this OpenSSH ed25519 key instead of making one (one identity, several stores).",
)
@json_option
@click.pass_context
def init(
    ctx: click.Context, path: str | None, name: str, key_file: str | None, as_json: bool
) -> None:
    """Create a store at PATH with this node's key; print the node's did:key.

    `mindgit --store PATH init` is the same as `mindgit init PATH`; a --store and a PATH that
    name two places are refused (MINDGIT_STORE is not read: PATH is where the store is made).
    """
    from mindgit.cli.options import refuse_inside_any_store, typed_new_node_name, typed_store
    from mindgit.store.repository import init_store

    store_option = typed_store(ctx)
    if path is None:
        if store_option is None:
            raise UsageError(
                "PATH is missing: give the directory to create the store in",
                hint="mindgit init PATH --name NAME",
            )
        path = store_option
    elif store_option is not None and os.path.realpath(store_option) != os.path.realpath(path):
        # --store was passed over: the store was made at PATH, and the next command, given
        # the same --store, found none there.
        raise UsageError(
            f"--store {shown_path(store_option)} and PATH {shown_path(path)} name two places; "
            "nothing was created",
            hint="give the store's path once: `mindgit init PATH` or `mindgit --store PATH init`",
        )
    if not path:
        raise UsageError("PATH is empty: give the directory to create the store in")
    if key_file is not None and not key_file:
        raise UsageError("--key is empty: give the path of an OpenSSH ed25519 private key file")
    typed_new_node_name(name, "--name")
    refuse_inside_any_store("PATH", Path(path))
    store = init_store(Path(path), name, key_file=None if key_file is None else Path(key_file))
    did = store.public_key.did
    if as_json:
        emit_json({"store": str(store.path), "name": name, "did": did})
    else:
        click.echo(did)
        # Quoted where it would not show as itself: a PATH holding a newline printed a second
        # line of the path's own making.
        info(f"initialised store {shown_path(store.path)} for node {name}")


@click.command("id")
@json_option
@click.pass_context
def id_(ctx: click.Context, as_json: bool) -> None:
    """This node's did:key, OpenSSH public key and key fingerprint."""
    store = open_store_from(ctx)
    key = store.public_key
    data = {
        "name": store.name,
        "did": key.did,
        "openssh": key.openssh,
        "fingerprint": key.fingerprint,
    }
    if as_json:
        emit_json(data)
    else:
        for k in ("name", "did", "openssh", "fingerprint"):
            click.echo(f"{k + ':':13}{data[k]}")


# Extra words are refused in think's own words: click's error quotes them, and a private
# thought's text typed unquoted ("think the vault code 4417 --private") reached the terminal.
@click.command(context_settings={"allow_extra_args": True})
@click.argument("text")
@click.option("--tag", "tags", multiple=True, help="A tag for the thought (repeatable).")
@click.option(
    "--private",
    is_flag=True,
    help="Seal the thought: only this node and the --to nodes can read it.",
)
@click.option(
    "--to",
    "recipients",
    multiple=True,
    metavar="NODE",
    help="With --private: a trusted node (name, did:key or OpenSSH line) that may read it (repeatable).",
)
@experiment_option
@json_option
@click.pass_context
def think(
    ctx: click.Context,
    text: str,
    tags: tuple[str, ...],
    private: bool,
    recipients: tuple[str, ...],
    experiment: str | None,
    as_json: bool,
) -> None:
    """Add a thought to the current state (a new signed commit).

    TEXT `-` reads the text from stdin, which keeps a private thought out of shell history and
    the process list.
    """
    if ctx.args:
        raise UsageError(
            f"think takes the thought as one TEXT, and {counted(len(ctx.args), 'more word')} "
            "followed it (not shown: the text may be private); nothing was changed",
            hint='quote it: `mindgit think "..."`, or give - to read it from stdin',
        )
    if recipients and not private:
        raise UsageError("--to names who may read a private thought; add --private")
    for recipient in recipients:
        typed_node(recipient, "--to")
    if text == "-":
        # Closed, empty or not UTF-8, it fails the command (exit 1), as a file would.
        text = standard_input_text("text for the thought")
    else:
        _check_typed_thought(text, tags, private)
    store = open_store_from(ctx)
    if private:
        from mindgit.store.private import think_private

        commit, cid = think_private(store, text, tags, recipients, experiment=experiment)
    else:
        commit, cid = store.think(text, tags, experiment=experiment)
    if as_json:
        emit_json(
            {
                "thought": str(cid),
                "commit": commit.id,
                "experiment": commit.experiment,
                "state": str(commit.manifest),
                "private": private,
            }
        )
    else:
        click.echo(str(cid))
    # As `git commit` ends: each write of a big state leaves a loose tree and manifest the size
    # of the state (300 thinks on 4,000 thoughts: 124 MB loose, 1.5 MB once packed), and
    # nothing else packs a store that only ever thinks.
    housekeep(store)


def _check_typed_thought(text: str, tags: tuple[str, ...], private: bool) -> None:
    """A thought typed on the command line that no store could take is a usage error (exit 2);
    one read from stdin is data, refused where it is stored (exit 1)."""
    from mindgit.store.state import SchemaError, make_thought

    typed_text(text, "TEXT")
    if private:
        from mindgit.store.private import check_note_tags

        # Sealed, a thought has limits of its own (store.private); only emptiness is plain.
        if not text.strip():
            raise UsageError("a thought's text must be non-empty")
        try:
            check_note_tags(tags)
        except SchemaError as e:
            raise as_usage(e) from None
        return
    try:
        make_thought(text, tags)
    except SchemaError as e:
        raise as_usage(e) from None


@click.command()
@click.argument("cid")
@experiment_option
@json_option
@click.pass_context
def forget(ctx: click.Context, cid: str, experiment: str | None, as_json: bool) -> None:
    """Remove a thought (by CID) from the current state."""
    from mindgit.ipld.cid import CID, InvalidCID

    try:
        thought = CID.parse(cid)
    except InvalidCID as e:  # typed on the command line: a usage error
        raise as_usage(e, hint="give a thought's CID as `mindgit show` lists it") from None
    store = open_store_from(ctx)
    commit = store.forget(thought, experiment=experiment)
    if as_json:
        emit_json(
            {"commit": commit.id, "experiment": commit.experiment, "state": str(commit.manifest)}
        )
    else:
        click.echo(commit.id)
    housekeep(store)


@click.group()
def genome() -> None:
    """Read and change the genome (typed, evolvable parameters)."""


@genome.command("set")
@click.argument("assignments", nargs=-1, required=True, metavar="NAME=VALUE...")
@click.option("--min", "lo", type=float, help="Lower bound for these numeric genes.")
@click.option("--max", "hi", type=float, help="Upper bound for these numeric genes.")
@click.option("--scale", type=float, help="Mutation scale for these numeric genes.")
@click.option("--choices", help="Comma-separated choices: makes these genes choice genes.")
@experiment_option
@json_option
@click.pass_context
def genome_set(
    ctx: click.Context,
    assignments: tuple[str, ...],
    lo: float | None,
    hi: float | None,
    scale: float | None,
    choices: str | None,
    experiment: str | None,
    as_json: bool,
) -> None:
    """Set genes: `mindgit genome set curiosity=0.7 patience=3 mode=explore`.

    A new gene's type comes from its value (true/false, 3, 0.7, [0.1,0.2], text); an existing gene
    keeps its type. Bounds and choices apply to every gene named in the command.
    """
    from mindgit.store.genome import Gene, GenomeError, parse_assignment

    opts = [c for c in choices.split(",")] if choices is not None else None
    if opts is not None and "" in opts:
        # `--choices a,` or `a,,b`: a stray comma, not a choice of nothing (which the value
        # `mode=` would then pick without a word).
        raise UsageError(
            f"--choices {quoted(choices)} has an empty choice; separate choices by one comma"
        )
    as_new: dict[str, GenomeError] = {}
    wrong: list[tuple[str, GenomeError]] = []
    for a in assignments:
        # Read as a new gene first: what no gene could take (no '=', a bad name, --min over
        # --max, a value outside the bounds or choices given here) is a wrong command line
        # (exit 2); what only this store's gene refuses (its type, its bounds) is exit 1 below.
        try:
            parse_assignment(a, None, min=lo, max=hi, scale=scale, choices=opts)
        except GenomeError as refused:
            name = a.partition("=")[0].strip()
            try:
                # Text that reads as no new gene's value (`id=99999999999999999999`, `q=1e999`,
                # `j=["a"]`) is still a value an existing text gene takes: only the store knows.
                parse_assignment(
                    a, Gene.make(name, "str", ""), min=lo, max=hi, scale=scale, choices=opts
                )
            except GenomeError:
                wrong.append((a, refused))
                continue
            as_new[name] = refused
    if wrong:
        # Said as the gene it names refuses it, where there is one: a new gene's words (`a str
        # gene takes no min`) were said of an existing choice or bool gene. Still exit 2.
        try:
            store = open_store_from(ctx)
            known = store.state(store.head(experiment)).genome
        except MindgitError:
            known = None  # no store to ask: the command line's own fault is said
        for a, error in wrong:
            gene = known.get(a.partition("=")[0].strip()) if known is not None else None
            if gene is None:
                raise as_usage(error)
            try:
                parse_assignment(a, gene, min=lo, max=hi, scale=scale, choices=opts)
            except GenomeError as e:
                raise as_usage(e) from None
    store = open_store_from(ctx)
    current = store.state(store.head(experiment)).genome
    for name, error in as_new.items():
        if name not in current:
            raise as_usage(error)
    genes = [
        parse_assignment(
            a, current.get(a.partition("=")[0].strip()), min=lo, max=hi, scale=scale, choices=opts
        )
        for a in assignments
    ]
    names = [g.name for g in genes]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        # `x=1 x=2` would silently keep only the last value (and the last one's type).
        raise UsageError(f"gene {twice[0]!r} is given twice; give each gene one value")
    commit = store.set_genes(genes, experiment=experiment)
    if as_json:
        emit_json(
            {
                "commit": commit.id,
                "experiment": commit.experiment,
                "state": str(commit.manifest),
                "genes": {g.name: g.to_node() for g in genes},
            }
        )
    else:
        click.echo(commit.id)
    housekeep(store)


@genome.command("show")
@click.argument("rev", required=False)
@experiment_option
@json_option
@click.pass_context
def genome_show(ctx: click.Context, rev: str | None, experiment: str | None, as_json: bool) -> None:
    """The genes of a state: name, type, value, bounds or choices."""
    _typed_rev_or_experiment(rev, experiment)
    store = open_store_from(ctx)
    genome = store.state(_rev_or_experiment(store, rev, experiment)).genome
    if as_json:
        emit_json({g.name: g.to_node() for g in genome.genes})
        return
    rows = []
    for g in genome.genes:
        bounds = f"[{_num(g.min)}, {_num(g.max)}]" if g.min is not None or g.max is not None else ""
        rows.append([g.name, g.kind, g.display(), bounds or ",".join(g.choices or ())])
    table("genome", ["name", "type", "value", "bounds/choices"], rows)


@genome.command("unset")
@click.argument("names", nargs=-1, required=True)
@experiment_option
@json_option
@click.pass_context
def genome_unset(
    ctx: click.Context, names: tuple[str, ...], experiment: str | None, as_json: bool
) -> None:
    """Remove genes."""
    from mindgit.store.genome import GenomeError, check_gene_name

    for name in names:
        try:
            check_gene_name(name)
        except GenomeError as e:  # a name no gene can have: the command line is wrong
            raise as_usage(e) from None
    store = open_store_from(ctx)
    commit = store.unset_genes(names, experiment=experiment)
    if as_json:
        emit_json(
            {"commit": commit.id, "experiment": commit.experiment, "state": str(commit.manifest)}
        )
    else:
        click.echo(commit.id)
    housekeep(store)


@click.command()
@click.argument("rev", required=False)
@experiment_option
@json_option
@click.pass_context
def show(ctx: click.Context, rev: str | None, experiment: str | None, as_json: bool) -> None:
    """The state at REV (default: the current experiment): genome, thoughts, signer, CIDs."""
    from mindgit.store.history import log
    from mindgit.store.layout import read_blocks, read_thoughts
    from mindgit.store.verify import Verifier

    _typed_rev_or_experiment(rev, experiment)
    store = open_store_from(ctx)
    target = _rev_or_experiment(store, rev, experiment)
    snap = store.snapshot(target)
    keys = _Keys(store)
    # The check reads and decodes every thought: those it finds good are shown from there,
    # the rest read as before (50,000 thoughts were read and decoded twice: 9 s). Each is
    # kept as shown, its decoded map let go; the verifier and its caches go once it is done.
    checked: dict[Any, dict[str, Any]] = {}

    def found(cid: Any, node: dict[str, Any]) -> None:
        checked[cid] = {"cid": str(cid), **_thought_json(node, keys, cid)}

    entry = next(
        log(
            store,
            snap.commit,
            limit=1,
            verifier=Verifier(store.repo, store.trust, on_thought=found),
        )
    )
    cids = sorted(snap.state.thoughts, key=str)
    unchecked = read_thoughts(store.repo, snap.tree, [c for c in cids if c not in checked])
    thoughts = []
    for cid in cids:
        shown = checked.pop(cid, None)
        if shown is None:
            # Read in the same order as before: the first unreadable one raises as it did.
            _, raw = next(unchecked)
            shown = {"cid": str(cid), **_decoded_thought(raw, keys, cid)}
        thoughts.append(shown)
    memories = read_blocks(store.repo, snap.tree, [c for _, c in snap.state.memories])
    data = {
        "commit": snap.commit,
        "experiment": experiment or (None if rev else store.current),
        "state": str(snap.manifest.cid),
        "signer": entry.signer,
        "trusted_as": entry.trusted_as,
        "signature": entry.status,
        "genome": {g.name: g.to_node() for g in snap.state.genome.genes},
        "thoughts": thoughts,
        "memories": {
            name: {"cid": str(c), **_block_json(raw)}
            for (name, _), (c, raw) in zip(snap.state.memories, memories, strict=True)
        },
        "data": {name: str(c) for name, c in snap.state.data},
    }
    agent = _agent_summary(store, snap)
    if agent is not None:
        data["agent"] = agent
    damaged = _damage(store, [entry])
    if as_json:
        _emit_or_damaged(data, "shown", damaged)
        _fail_on_damage(damaged)
        return
    click.echo(f"state      {data['state']}")
    click.echo(f"commit     {snap.commit}")
    signer = f"{entry.trusted_as} ({entry.signer})" if entry.trusted_as else entry.signer or "-"
    click.echo(f"signature  {entry.status}: {signer}")
    for problem in entry.problems:
        warn(f"this state does not verify: {one_line(problem)}")
    click.echo(f"genome     {len(snap.state.genome)} genes")
    for g in snap.state.genome.genes:
        extra = []
        if g.min is not None or g.max is not None:
            extra.append(f"[{_num(g.min)}, {_num(g.max)}]")
        if g.choices:
            extra.append("{" + one_line(",".join(g.choices)) + "}")
        click.echo(
            f"  {g.name} = {one_line(g.display())}"
            f"  ({g.kind}{' ' + ' '.join(extra) if extra else ''})"
        )
    click.echo(f"thoughts   {len(thoughts)}")
    for t in thoughts:
        click.echo(f"  {t['cid']}  {_thought_text(t)}")
    if data["memories"]:
        click.echo(f"memories   {len(data['memories'])}")
        for name, m in data["memories"].items():
            preview = one_line(str(m.get("value", "")))[:60]
            click.echo(f"  {name}  {m['cid']}  {preview}")
            if m.get("description"):
                click.echo(f"      {one_line(str(m['description']))[:100]}")
    if data["data"]:
        click.echo(f"data       {', '.join(data['data'])}")
    if agent is not None:
        # An imported agent file's words: an OSC 52 in its name wrote the terminal's clipboard.
        name, model = one_line(agent["name"] or "-"), one_line(agent["model"] or "no model")
        click.echo(f"agent      {name} ({model})")
        click.echo(f"tools      {len(agent['tools'])}: {one_line(', '.join(agent['tools']))}")
        click.echo(f"messages   {agent['messages']}")
    _fail_on_damage(damaged)


def _agent_summary(store: Any, snap: Any) -> dict[str, Any] | None:
    """Tools and message count of a state imported from an agent file (else None)."""
    from mindgit.adapters.agentfile_blocks import DATA_AGENT
    from mindgit.adapters.agentfile_export import describe

    if DATA_AGENT not in dict(snap.state.data):
        return None
    summary = describe(store, snap.commit)
    return {
        "name": summary.name,
        "model": summary.model,
        "tools": list(summary.tools),
        "messages": summary.messages,
    }


def _block_json(raw: bytes) -> dict[str, Any]:
    """A memory block's fields for display: its value and description when it has them."""
    from mindgit.ipld import dagjson

    node = dagjson.decode(raw)
    if not isinstance(node, dict):
        return {}
    return {k: node[k] for k in ("label", "description", "value") if isinstance(node.get(k), str)}


def _typed_rev_or_experiment(rev: str | None, experiment: str | None, what: str = "REV") -> None:
    """A revision or -e, not both, and no empty revision: checked before the store is opened
    (outside a store, `show main -e main` said "not a mindgit store")."""
    typed_rev(rev, what)
    if rev is not None and experiment is not None:
        raise UsageError("give a revision or -e/--experiment, not both")


def _rev_or_experiment(store: Any, rev: str | None, experiment: str | None) -> str:
    _typed_rev_or_experiment(rev, experiment)
    return rev if rev is not None else str(store.head(experiment))


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


class _Keys:
    """This node's private keys and the key files that did not load (to tell a damaged key file
    from not being a recipient: ``show`` said "private (N recipients)" for both), loaded once,
    when a private thought is met."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._keys: tuple[Any, ...] | None = None
        self._broken: tuple[Any, ...] = ()

    def get(self) -> tuple[Any, ...]:
        if self._keys is None:
            from mindgit.store.private import usable_keys

            # A store without its key (or with a damaged retired key) still shows what it can.
            self._keys, self._broken = usable_keys(self.store)
        return self._keys

    def unusable_for(self, dids: Iterable[str]) -> Any | None:
        """The ``KeyFileError`` of a key file that did not load and may hold one of ``dids``
        (the rule ``reveal`` and ``share`` follow), or None."""
        from mindgit.store.private import unusable_for

        self.get()
        return unusable_for(self._broken, dids)

    def name(self, did: str) -> str | None:
        """The name this node's trust store gives the did:key, if any."""
        from mindgit.identity.keys import PublicKey

        try:
            found = self.store.trust.find(PublicKey.parse(did))
        except MindgitError:
            return None
        return None if found is None else str(found.name)


def _thought_text(t: Mapping[str, Any]) -> str:
    """A thought (as :func:`_thought_json` gives it) in one terminal-safe line: its text and
    tags, or what is known of a private one this node cannot read. The text may be a peer's,
    sealed to this node or not: control codes (say OSC 52, which writes the clipboard) never
    reach the terminal."""
    tags = f"  [{one_line(', '.join(t['tags']))}]" if t.get("tags") else ""
    if t.get("private"):
        count = f"{t['recipients']} recipient{'' if t['recipients'] == 1 else 's'}"
        if "text" in t:
            return f"{one_line(str(t['text']))}{tags}  (private, {count})"
        if "error" in t:
            hint = f" (hint: {one_line(str(t['hint']))})" if t.get("hint") else ""
            return f"private ({count}): {one_line(str(t['error']))}{hint}"
        return f"private ({count})"
    if "error" in t and "text" not in t:
        return f"(damaged: {one_line(str(t['error']))})"
    return one_line(str(t.get("text", "(" + str(t.get("type")) + ")"))) + tags


def _decoded_thought(raw: bytes, keys: _Keys | None, cid: Any) -> dict[str, Any]:
    """:func:`_thought_json` of a thought's bytes; bytes that are not DAG-JSON are shown as a
    damaged thought (named, its error given) beside the others: one junk block in a peer's
    state stopped `show` and `diff` with an error that named no thought. So are bytes that are
    not the thought ``cid`` names: a relaying peer's text put under another node's thought was
    printed as that thought (by `diff` with no warning at all)."""
    import hashlib

    from mindgit.ipld import dagjson
    from mindgit.ipld.cid import CID

    if isinstance(cid, CID) and hashlib.sha256(raw).digest() != cid.digest:
        return {"type": None, "error": f"its bytes hash to {CID.of(raw)}, not to its name"}
    try:
        node = dagjson.decode(raw)
    except MindgitError as e:
        return {"type": None, "error": f"not DAG-JSON ({one_line(str(e))[:200]})"}
    return _thought_json(node, keys, cid)


def _thought_json(node: Any, keys: _Keys | None = None, cid: Any = None) -> dict[str, Any]:
    """A thought for display; a private one shows its text only to a recipient (given ``keys``)."""
    if isinstance(node, dict) and node.get("type") == "note":
        text, tags = node.get("text"), node.get("tags")
        if not isinstance(text, str) or not isinstance(tags, list):
            # A peer's note without its text or tags was a KeyError: an internal error.
            return {"type": "note", "error": "a note without its text or tags"}
        return {"type": "note", "text": text, "tags": tags}
    if isinstance(node, dict) and node.get("type") == "sealed":
        return _sealed_json(node, keys, cid)
    return {"type": node.get("type") if isinstance(node, dict) else None}


def _sealed_json(node: dict[str, Any], keys: _Keys | None, cid: Any) -> dict[str, Any]:
    from mindgit.identity.seal import IntegrityError, NotARecipient
    from mindgit.store.private import open_envelope
    from mindgit.store.state import SchemaError

    recipients = node.get("recipients")
    out: dict[str, Any] = {
        "type": "sealed",
        "private": True,
        "recipients": len(recipients) if isinstance(recipients, list) else 0,
        "readable": False,
    }
    if keys is None or cid is None:
        return out
    try:
        note = open_envelope(cid, node, keys.get())
    except NotARecipient:
        return {**out, **_not_opened(node, keys, cid)}
    except (IntegrityError, SchemaError) as e:
        return {**out, "error": str(e)}
    return {**out, "readable": True, "text": note["text"], "tags": note["tags"]}


# A thought sealed to many nodes names the first few: the line stays a line.
_NAMED_READERS = 5


def _not_opened(node: dict[str, Any], keys: _Keys, cid: Any) -> dict[str, Any]:
    """Why a private thought none of this node's keys opened is not readable here: a key file
    that did not load and may be a recipient's (named, with what is wrong with it), or this node
    is not a recipient (and who is)."""
    from mindgit.store.sealed import sealed_from_node

    # It parsed before a key was tried: NotARecipient comes after the envelope's checks.
    dids = [r.key.did for r in sealed_from_node(f"private thought {cid}", node).recipients]
    broken = keys.unusable_for(dids)
    if broken is not None:
        return {
            "error": f"not opened: this node's key file is damaged or unusable: {broken}",
            "hint": broken.hint,
            "key_file": str(broken.path),
        }
    names = [keys.name(did) for did in dids]
    shown = listed([name or did for did, name in zip(dids, names, strict=True)], _NAMED_READERS)
    return {
        "error": f"this node is not a recipient; {shown} can open it",
        "sealed_to": [{"key": did, "name": name} for did, name in zip(dids, names, strict=True)],
    }


@click.command("log")
@click.argument("rev", required=False)
@click.option("-n", "--max-count", type=click.IntRange(min=1), help="Show at most N commits.")
@experiment_option
@json_option
@click.pass_context
def log(
    ctx: click.Context,
    rev: str | None,
    max_count: int | None,
    experiment: str | None,
    as_json: bool,
) -> None:
    """History of an experiment, newest first, with each commit's signature status."""
    from mindgit.store import history

    _typed_rev_or_experiment(rev, experiment)
    store = open_store_from(ctx)
    target = _rev_or_experiment(store, rev, experiment)
    warn_no_trust_file(store)
    if not as_json:
        _log_lines(store, history.log(store, target, limit=max_count))
        return
    entries = list(history.log(store, target, limit=max_count))
    damaged = _damage(store, entries)
    _emit_or_damaged(
        [
            {
                "commit": e.commit,
                "parents": list(e.parents),
                "time": e.time,
                "summary": e.summary,
                "signer": e.signer,
                "trusted_as": e.trusted_as,
                "signature": e.status,
                "problems": list(e.problems),
                "state": e.manifest,
            }
            for e in entries
        ],
        "commits",
        damaged,
    )
    _fail_on_damage(damaged)


def _log_lines(store: Any, entries: Iterable[Any]) -> None:
    """Each entry as it is checked: `log | head` of a long history ended only once every commit
    had been verified and held in memory, to print the first lines."""
    hurt: list[Any] = []
    for e in entries:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.time))
        who = e.trusted_as or (e.signer[:24] + "…" if e.signer else "-")
        click.echo(f"{e.commit[:12]}  {when}  {e.status:9}  {who:12}  {one_line(e.summary)}")
        for p in e.problems:
            click.echo(f"    ! {one_line(p)}")
        if e.damaged:
            hurt.append(e)
    # As verify: every commit is listed, then the damage fails the command (git's fsck says
    # what else is hit).
    _fail_on_damage(_damage(store, hurt))


def _damage(store: Any, entries: Iterable[Any]) -> list[DamagedStore]:
    """Each object the log entries could not read, once, in the order met."""
    from mindgit.store.history import damaged_store

    found = dict.fromkeys(d for e in entries for d in e.damaged)
    return [damaged_store(store, oid, reason) for oid, reason in found]


def _emit_or_damaged(listed: Any, key: str, damaged: Sequence[DamagedStore]) -> None:
    """The --json document: ``listed``, or with damage the error document (a failed command's
    one document), with ``listed`` under ``key`` as it is on success."""
    if not damaged:
        emit_json(listed)
        return
    from mindgit.cli.main import error_json

    doc = error_json(str(damaged[0]), damaged[0].hint, type(damaged[0]).__name__)
    doc[key] = listed
    doc["damaged"] = [{"object": d.oid, "error": str(d)} for d in damaged]
    emit_json(doc)


def _as_damage(store: Any, error: Exception) -> DamagedStore:
    """A libgit2 error as the damage it is (re-raised if it is about something else)."""
    from mindgit.errors import unreadable_object

    found = unreadable_object(str(error))
    if found is None:
        raise error
    return DamagedStore(*found, store=str(store.path))


def _fail_on_damage(damaged: Sequence[DamagedStore]) -> None:
    """After the output: one line on stderr per damaged object, then exit 1."""
    from mindgit.cli.main import exit_with, report_error

    for d in damaged:
        report_error(str(d), d.hint, type(d).__name__, as_json=False)
    if damaged:
        exit_with(1)


@click.command()
@click.argument("name", callback=experiment_name)
@click.option("--from", "start", metavar="REV", help="Start from REV instead of the current head.")
@click.option("--no-switch", is_flag=True, help="Do not make the new experiment current.")
@experiment_option
@json_option
@click.pass_context
def fork(
    ctx: click.Context,
    name: str,
    start: str | None,
    no_switch: bool,
    experiment: str | None,
    as_json: bool,
) -> None:
    """A new experiment branched from the current state (and now current).

    `-e EXP` forks from experiment EXP's head, like `--from EXP`.
    """
    _typed_rev_or_experiment(start, experiment, "--from")
    store = open_store_from(ctx)
    if experiment is not None:
        start = _rev_or_experiment(store, start, experiment)
    commit = store.fork(name, start=start, switch=not no_switch)
    if as_json:
        emit_json({"experiment": name, "commit": commit, "current": _current_or_none(store)})
    else:
        info(f"experiment {name} at {commit[:12]}" + ("" if no_switch else " (now current)"))


def _current_or_none(store: Any) -> str | None:
    """The current experiment, or None when HEAD names none: `fork --no-switch` from a
    detached HEAD has made its experiment, and must not then fail on reporting it."""
    from mindgit.store.repository import HeadDetached, HeadUnreadable

    try:
        return str(store.current)
    except (HeadDetached, HeadUnreadable):
        return None


def _delete_experiment(ctx: click.Context, name: str, force: bool, as_json: bool) -> None:
    from mindgit.store.deletion import delete_experiment, is_git_only_branch

    store = open_store_from(ctx)
    made_by_git = is_git_only_branch(store, name)
    head = delete_experiment(store, name, force=force)
    if as_json:
        emit_json({"deleted": name, "head": head})
    else:
        info(f"deleted experiment {name} (was {head[:12]})")
        # Named as it was found: run from elsewhere, the command would find another store.
        where = f"--store {shell_word(str(store.path))} " if ctx.find_root().obj["store"] else ""
        if made_by_git:
            # fork refuses the name it had; git makes it again.
            back = f"git --git-dir {shell_word(str(store.path))} branch {shell_word(name)} {head}"
        else:
            back = f"mindgit {where}fork {name} --from {head} --no-switch"
        info(f"  to bring it back: {back}")


@click.command()
@click.argument("name", callback=experiment_name)
@json_option
@click.pass_context
def switch(ctx: click.Context, name: str, as_json: bool) -> None:
    """Make NAME the current experiment."""
    store = open_store_from(ctx)
    store.switch(name)
    if as_json:
        emit_json({"current": name, "head": store.head(name)})
    else:
        info(f"current experiment: {name}")


@click.command()
@click.option(
    "--delete",
    "delete",
    metavar="NAME",
    default=None,
    help="Delete experiment NAME instead of listing (not the current one; its history stays "
    "wherever another experiment or a run reaches it).",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --delete: delete it even if no other experiment holds its head.",
)
@json_option
@click.pass_context
def experiments(ctx: click.Context, delete: str | None, force: bool, as_json: bool) -> None:
    """Every experiment: head, signer, size. --delete NAME deletes one, as git branch -d does."""
    if delete is not None:
        try:
            name = typed_experiment_name(delete, "--delete")
        except UsageError as refused:
            # A branch git made under a name mindgit gives no experiment is listed, and so
            # can be deleted by its name as it is; any other such name is a wrong command line.
            from mindgit.store.deletion import is_git_only_branch
            from mindgit.store.refs import RefError

            try:
                is_git_only_branch(open_store_from(ctx), delete)
            except RefError:
                raise refused from None
            name = delete
        _delete_experiment(ctx, name, force, as_json)
        return
    if force:
        raise UsageError("--force goes with --delete NAME")
    import pygit2

    from mindgit.store import history
    from mindgit.store.refs import RefError
    from mindgit.store.repository import (
        ExperimentAtNoCommit,
        HeadDetached,
        HeadUnreadable,
        Snapshot,
    )
    from mindgit.store.verify import Verifier

    store = open_store_from(ctx)
    # One for every experiment, as verify --all has: forks share their states' trees and blobs,
    # which a verifier of each experiment's own checked again (50 forks of 4,000 thoughts: 21 s).
    verifier = Verifier(store.repo, store.trust)
    read: dict[str, Snapshot] = {}  # states by head commit: forks that add nothing share one
    # Head commits checked, by id: each fork that adds nothing verified its head's signature
    # again (4,000 forks of one commit: 4,000 checks, 40% of the listing).
    checked: dict[str, history.LogEntry] = {}
    try:
        current: str | None = store.current
    except (HeadDetached, HeadUnreadable) as e:
        # The list is what the user needs to pick one to switch to (git branch lists them too).
        current = None
        warn(f"{e} (hint: {e.hint})")
    names = store.experiments()
    if current is not None and current not in names:
        # Deleted with git: the list (maybe empty) marked none current, and said nothing.
        warn(f"the current experiment {current!r} (the one HEAD names) does not exist")
    rows: list[dict[str, Any]] = []
    damaged: dict[str | None, DamagedStore] = {}
    at_no_commit: list[tuple[str, MindgitError]] = []
    for name in names:
        try:
            head = store.head(name)
        except (ExperimentAtNoCommit, RefError) as e:
            # Listed with what is wrong, as a state that cannot be read is: it hid every
            # experiment after it (a blob's NotACommit, a missing object's KeyError, a
            # symbolic ref to nothing's "unknown experiment"). A ref file of garbage
            # (CorruptRef) or under a name no ref can have was left out of the list.
            at_no_commit.append((name, e))
            rows.append(
                {"name": name, "current": name == current, "head": getattr(e, "oid", None)}
                | dict.fromkeys(("signer", "signature", "state", "genes", "thoughts"))
                | {"error": str(e)}
            )
            continue
        row: dict[str, Any] = {"name": name, "current": name == current, "head": head}
        entry = checked.get(head)
        if entry is None:
            entry = checked[head] = next(history.log(store, head, limit=1, verifier=verifier))
        row.update(signer=entry.trusted_as or entry.signer, signature=entry.status)
        try:
            snap = read.get(head) or read.setdefault(head, store.snapshot(head))
        except (DamagedStore, pygit2.GitError) as e:
            hurt = e if isinstance(e, DamagedStore) else _as_damage(store, e)
            # Listed as any broken experiment is, and then the command fails, as log does.
            row.update(state=None, genes=None, thoughts=None, error=str(hurt))
            damaged.setdefault(hurt.oid, hurt)
        except MindgitError as e:
            # One broken experiment must not hide the others (git branch -v lists them all).
            row.update(state=None, genes=None, thoughts=None, error=str(e))
        else:
            row.update(
                state=str(snap.manifest.cid),
                genes=len(snap.state.genome),
                thoughts=len(snap.state.thoughts),
            )
        # After the state's own read: the object it names is told in that read's words.
        for d in _damage(store, [entry]):
            damaged.setdefault(d.oid, d)
        rows.append(row)
    if as_json:
        _emit_or_damaged(rows, "experiments", list(damaged.values()))
        _fail_on_damage(list(damaged.values()))
        return
    for name, broken in at_no_commit:
        warn(one_line(f"{name}: {broken}"))  # a name on disk may hold a newline
    table(
        "experiments",
        ["", "name", "head", "signer", "signature", "genes", "thoughts"],
        [
            [
                "*" if r["current"] else "",
                r["name"],
                str(r["head"] or "")[:12],
                r["signer"],
                r["signature"],
                r["genes"],
                r["thoughts"],
            ]
            for r in rows
        ],
    )
    _fail_on_damage(list(damaged.values()))


@click.command()
@click.argument("old")
@click.argument("new")
@json_option
@click.pass_context
def diff(ctx: click.Context, old: str, new: str, as_json: bool) -> None:
    """What changed from OLD to NEW: thoughts added/removed, genes changed."""
    from mindgit.store import history

    typed_rev(old, "OLD")
    typed_rev(new, "NEW")
    store = open_store_from(ctx)
    d = history.diff(store, old, new)

    keys = _Keys(store)

    def thought(c: Any, data: bytes) -> dict[str, Any]:
        return {"cid": str(c), **_decoded_thought(data, keys, c)}

    if as_json:
        emit_json(
            {
                "old": d.old_commit,
                "new": d.new_commit,
                "thoughts_added": [thought(c, b) for c, b in d.thoughts_added],
                "thoughts_removed": [thought(c, b) for c, b in d.thoughts_removed],
                "genes": [
                    {
                        "name": g.name,
                        "old": g.old.to_node() if g.old else None,
                        "new": g.new.to_node() if g.new else None,
                    }
                    for g in d.genes
                ],
                "memories": [_block_change_json(m) for m in d.memories],
                "data": [_block_change_json(m) for m in d.data],
            }
        )
        return
    if d.empty:
        info("no differences")
    for c, b in d.thoughts_added:
        click.echo(f"+ thought {c}  {_thought_text(thought(c, b))}")
    for c, b in d.thoughts_removed:
        click.echo(f"- thought {c}  {_thought_text(thought(c, b))}")
    for g in d.genes:
        if g.old is None and g.new is not None:
            click.echo(f"+ gene {g.name} = {one_line(g.new.display())} ({g.new.kind})")
        elif g.new is None and g.old is not None:
            click.echo(f"- gene {g.name} = {one_line(g.old.display())} ({g.old.kind})")
        elif g.old is not None and g.new is not None:
            old, new = one_line(g.old.display()), one_line(g.new.display())
            click.echo(f"~ gene {g.name}: {old} -> {new}")
    for kind, changes in (("memory", d.memories), ("data", d.data)):
        for m in changes:
            mark = "+" if m.old is None else "-" if m.new is None else "~"
            click.echo(f"{mark} {kind} {m.name}")
            for line in _value_diff(m):
                click.echo(f"    {_diff_line(line)}")


def _diff_line(line: str) -> str:
    """A line of a block's value diff as a terminal shows and never runs: the value may be a
    peer's or an imported agent file's, and an OSC 52 in it wrote the reader's clipboard. Unlike
    :func:`one_line`, the line's own spacing (an indented value) is kept."""
    return "".join(c if c.isprintable() else "?" for c in line.expandtabs(4))


def _value_text(side: Any) -> str | None:
    from mindgit.ipld import dagjson

    if side is None:
        return ""
    node = dagjson.decode(side[1])
    if isinstance(node, dict) and isinstance(node.get("value"), str):
        return str(node["value"])
    return None


def _value_diff(change: Any) -> list[str]:
    """A unified diff of a block's text value, when both sides have one."""
    import difflib

    old, new = _value_text(change.old), _value_text(change.new)
    if old is None or new is None:
        return []
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "old", "new", lineterm="", n=1)
    return list(lines)[2:]


def _block_change_json(change: Any) -> dict[str, Any]:
    return {
        "name": change.name,
        "old": str(change.old[0]) if change.old else None,
        "new": str(change.new[0]) if change.new else None,
        "value_diff": _value_diff(change),
    }


@click.group()
def config() -> None:
    """Read and set store settings (the store's git config, section mindgit).

    \b
    Settings: fitness, minimize, fuel, memory, stack, table, synctimeout,
    maxfetch, allowRewind, allowDelete, maxObjectBytes.
    """


@config.command("get")
@click.argument("key")
@json_option
@click.pass_context
def config_get(ctx: click.Context, key: str, as_json: bool) -> None:
    """Print a setting; exit 1 when it is not set or its value would be refused where used."""
    from mindgit.cli.main import exit_with
    from mindgit.store.settings import read_setting, setting_key

    # Checked before the store is opened: a key no setting has is a wrong command line (exit
    # 2) wherever the command runs, not "not a store".
    full = setting_key(key)
    store = open_store_from(ctx)
    # As it is read where it is used: a value written by hand that evolve, merge or a pull
    # would refuse (`fuel = lots`, `minimize = yes`) is refused here too (exit 1), and a key
    # with no value is true for a boolean setting, else refused.
    value = read_setting(store.config_get, full.removeprefix("mindgit."))
    if as_json:
        emit_json({"key": full, "value": value})
    elif value is None:
        info(f"{key} is not set")
    else:
        click.echo(value)
    if value is None:
        exit_with(1)


@config.command("set")
@click.argument("key")
@click.argument("value")
@json_option
@click.pass_context
def config_set(ctx: click.Context, key: str, value: str, as_json: bool) -> None:
    """Set a setting (`mindgit config set fitness rastrigin`), checked first."""
    import pygit2

    from mindgit.store.settings import check_setting

    # check_setting refuses a value that is not UTF-8 too (lone surrogates from argv); before
    # the store is opened, as every value typed on the command line is checked.
    full = check_setting(key, value)
    store = open_store_from(ctx)
    # By name only: reading the values would decode them, and one may not be UTF-8.
    local = pygit2.enums.ConfigLevel.LOCAL
    found = [e for e in store.repo.config if e.level == local and e.name == full.lower()]
    if len(found) > 1:
        # Edited by hand: libgit2 refuses to overwrite several values with one ("entry is not
        # unique"), which ConfigNotWritten would blame on a lock or the file's mode.
        raise SettingSetTwice(store.path, full, len(found))
    try:
        store.config_set(full, value)
    except pygit2.GitError as e:
        # libgit2 ends some messages with ": " and no reason after it.
        raise ConfigNotWritten(store.path, str(e).rstrip(": ")) from None
    if as_json:
        emit_json({"key": full, "value": value})
