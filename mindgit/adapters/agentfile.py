"""Letta agent files (``.af``) in and out of the store: one experiment per agent.

An agent becomes a state (``docs/agent-files.md`` has the whole mapping):

* each memory block a **memory**, named after its label (``/`` written ``:``), holding the block's
  JSON, so ``show`` and ``diff`` see its label, description and value and an edit is a new CID;
* each message a **thought** of type ``message``; their order in the data block ``af.messages``;
* its numeric LLM settings **genes** (``llm.temperature``...), which export writes back;
* everything else **data blocks**: ``af.agent`` (the agent object), ``af.tools``,
  ``af.tool_rules`` and ``af.file`` (what belongs to the file: other parts, how it was written).

``export_af`` of a state nothing changed gives back the same file, equal as JSON with the exact
number types; byte for byte when the file was written as Letta writes (see the docs for the one
normalisation: the key order of a map is the order first seen for its set of keys).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mindgit.adapters import agentfile_format as fmt
from mindgit.adapters.agentfile_blocks import (
    DATA_AGENT,
    DATA_FILE,
    DATA_MESSAGES,
    DATA_RULES,
    DATA_TOOLS,
    FILE_FORMAT,
    MAPPING_VERSION,
    BlockTooLarge,
    BlockTooLong,
    NotAnImportedAgent,
    UnknownBlock,
    memory_block,
    memory_name,
    memory_names,
    restore_block,
    set_block,
    tool_name,
)
from mindgit.adapters.agentfile_export import (
    AgentSummary,
    CannotWrite,
    ExportConflict,
    Exported,
    describe,
    export_af,
)
from mindgit.adapters.agentfile_genes import GeneDoesNotFit, genes_of
from mindgit.adapters.agentfile_json import (
    AgentFileError,
    CorruptAgentState,
    Json,
    Style,
    key_orders,
    parse_document,
    to_node,
)
from mindgit.errors import quoted
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.objects import as_commit
from mindgit.store.packs import PackWriter
from mindgit.store.refs import (
    NamePartTooLong,
    RefError,
    lock_held,
    read_ref,
    remove_dead_lock,
    update_ref,
)
from mindgit.store.repository import (
    HEADS,
    NotAnExperimentName,
    Store,
    check_experiment_name,
    one_line,
)
from mindgit.store.state import MAX_THOUGHT_BYTES, Block, State
from mindgit.store.verify import MAX_BLOB_BYTES, STATE_TRAILER, Verifier, trailer

MAX_FILE_BYTES = 64 * 2**20
"""Agent files above this size are refused before they are read."""
MAX_BLOCK_BYTES = MAX_BLOB_BYTES
"""The largest block (or manifest) an import writes: ``verify`` refuses larger ones."""
_SLUG_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_SLUG_MAX = 100  # the longest component of a ref name mindgit makes (store.refs)
_DOTS = re.compile(r"\.{2,}")
_PARTS = {
    DATA_AGENT: "object (all but its blocks, messages, tools and tool rules), af.agent,",
    DATA_TOOLS: "tools, af.tools,",
    DATA_RULES: "tool rules, af.tool_rules,",
    DATA_MESSAGES: "message order, af.messages,",
}


class FileTooLarge(AgentFileError):
    """An agent file larger than :data:`MAX_FILE_BYTES`."""

    def __init__(self, source: str, size: int, limit: int, *, exact: bool = True) -> None:
        # A path's size is known (stat); a stream is read to one byte past the limit, so its
        # size is not: "over 67108865 bytes" (or "over" a stat's exact size) said neither.
        said = f"{size} bytes, over" if exact else "more than"
        super().__init__(
            source,
            f"{said} the {limit}-byte limit",
            hint="mindgit refuses agent files above 64 MiB; trim the message history first",
        )
        self.size = size
        self.limit = limit


class MessageTooLarge(AgentFileError):
    """One message is larger than a thought may be."""

    def __init__(self, source: str, agent: str, index: int, size: int) -> None:
        super().__init__(
            source,
            f"agent {agent} message #{index + 1} is {size} bytes, over the {MAX_THOUGHT_BYTES} "
            "byte limit of a thought",
        )
        self.agent = agent
        self.index = index
        self.size = size


class PartTooLarge(AgentFileError):
    """A part of an agent would be stored as a block larger than a store accepts."""

    def __init__(
        self, source: str, part: str, size: int, limit: int, *, hint: str | None = None
    ) -> None:
        super().__init__(
            source,
            f"{part} would be a block of {size} bytes, over the {limit} byte limit of a block",
            hint=hint
            or "a store (and every peer's verify) refuses larger blocks; trim that part first",
        )
        self.part = part
        self.size = size
        self.limit = limit


def _check_size(block: Block, source: str, part: str) -> None:
    limit = MAX_BLOCK_BYTES  # read at call time, so that a test can lower it
    if len(block.data) > limit:
        raise PartTooLarge(source, part, len(block.data), limit)


class BadExperimentName(AgentFileError):
    """An experiment the import would create exists already, or its name is not usable."""


# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportedAgent:
    """One agent of a file, now an experiment."""

    experiment: str
    agent_name: str | None
    commit: str
    state: CID
    memories: tuple[str, ...]  # memory names (labels with / written :)
    messages: int
    tools: tuple[str, ...]
    genes: tuple[str, ...]
    warnings: tuple[str, ...]  # secrets dropped, said once per agent (file-wide ones: first agent)
    # Found imported already, by an import of the same file that was cut short (see import_af).
    earlier: bool = False


# -- names -----------------------------------------------------------------------------------------


def _slug(name: object, fallback: str) -> str:
    text = _SLUG_CHARS.sub("-", name).strip("-.") if isinstance(name, str) else ""
    # What git refuses in a ref name made of these characters: "..", a ".lock" ending, and
    # "HEAD" as the whole name. The agents "v1..v2", "x.lock" and "HEAD" failed to import.
    text = _DOTS.sub(".", text)[:_SLUG_MAX].rstrip("-.")
    while text.endswith(".lock"):
        text = text.removesuffix(".lock").rstrip("-.")
    if text == "HEAD":
        text = "HEAD-agent"
    return text or fallback


def _suffixed(base: str, n: int) -> str:
    # The base is cut to make room: two agents with one long name made "<100 chars>-2", a
    # name no ref may have, and the whole import was refused.
    suffix = f"-{n}"
    return base[: _SLUG_MAX - len(suffix)].rstrip("-.") + suffix


def experiment_names(agent_names: Sequence[object], name: str | None) -> list[str]:
    """Experiment names for a file's agents.

    One agent: ``name``, else the agent's name made ref-safe. Several: ``name-1``, ``name-2``...
    in file order, else each agent's name (repeats get ``-2``, ``-3``).
    """
    if name is not None:
        if len(agent_names) == 1:
            return [name]
        return [f"{name}-{n + 1}" for n in range(len(agent_names))]
    out: list[str] = []
    # A set, and each base's last suffix: a scan of the list from -2 up for every agent took
    # 3,000 agents of one name 3 minutes (a suffix below the last one used is taken already).
    taken: set[str] = set()
    last: dict[str, int] = {}
    for agent in agent_names:
        base = _slug(agent, "agent")
        candidate, n = base, last.get(base, 1)
        while candidate in taken:
            n += 1
            candidate = _suffixed(base, n)
        last[base] = n
        taken.add(candidate)
        out.append(candidate)
    return out


def _subject_text(file_name: str) -> str:
    """A file's name fit for a commit's subject line. A name is any bytes but / and NUL: one
    not UTF-8 (read as surrogate escapes) failed the commit's encoding after the pack was
    written (an internal error, exit 3), and one with newlines wrote lines of its choosing,
    a `Mindgit-State:` among them, into the commit message."""
    text = os.fsencode(file_name).decode("utf-8", "replace")
    return one_line(text, limit=100)


# -- reading files ---------------------------------------------------------------------------------


def read_limited(
    source: str | os.PathLike[str] | IO[bytes], limit: int = MAX_FILE_BYTES
) -> tuple[bytes, str]:
    """The bytes of a path or binary stream, refusing more than ``limit`` before reading them all."""
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        label = str(path)
        try:
            size = path.stat().st_size
            if size > limit:
                raise FileTooLarge(label, size, limit)
            with path.open("rb") as f:
                data = f.read(limit + 1)
        except OSError as e:
            raise AgentFileError(label, f"cannot read it ({e.strerror or e})") from None
    else:
        label = str(getattr(source, "name", "<stream>"))
        data = source.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(label, len(data), limit, exact=False)
    return data, label


# -- import ----------------------------------------------------------------------------------------


def _stored(value: Json, *, reserved: Iterable[str] = ()) -> dict[str, Any]:
    s = to_node(value, reserved=reserved)
    node: dict[str, Any] = {"json": s.node}
    if s.fix is not None:
        node["fix"] = s.fix
    return node


def _message_thought(message: dict[str, Any]) -> Block:
    s = to_node(message)
    node: dict[str, Any] = {"message": s.node, "type": "message"}
    if s.fix is not None:
        node["fix"] = s.fix
    return Block.encode(node)


@dataclass(frozen=True, slots=True)
class _Planned:
    experiment: str
    parts: fmt.AgentParts
    state: State
    blocks: dict[CID, bytes]
    memories: tuple[str, ...]
    warnings: tuple[str, ...]


def _check_message_count(parts: fmt.AgentParts, sample: CID, source: str) -> None:
    """Refuse an agent whose message order block would be too large, before encoding messages.

    Every link there has one length (all are CIDv1 of DAG-JSON blocks), so the block's size
    follows from the count: a file of millions of tiny messages is refused in a moment instead
    of after minutes of encoding them.
    """
    count = len(parts.messages)
    if count == 0:
        return
    one = len(Block.encode({"order": [sample]}).data)
    size = one + (len(Block.encode({"order": [sample, sample]}).data) - one) * (count - 1)
    limit = MAX_BLOCK_BYTES
    if size > limit:
        part = f"agent {parts.display_name} {_PARTS[DATA_MESSAGES]}"
        raise PartTooLarge(source, f"{part} ({count} messages)", size, limit)


def _plan(
    parts: fmt.AgentParts, file_node: Block, experiment: str, source: str, warnings: Sequence[str]
) -> _Planned:
    blocks: dict[CID, bytes] = {file_node.cid: file_node.data}
    labels = [b["label"] for b in parts.blocks]
    names = memory_names(labels)
    memories: dict[str, CID] = {}
    who = f"agent {parts.display_name}"
    for name, block in zip(names, parts.blocks, strict=True):
        b = memory_block(block)
        _check_size(b, source, f"{who} memory block {quoted(block['label'])}")
        blocks[b.cid] = b.data
        memories[name] = b.cid
    order: list[dagjson.Node] = []
    for n, message in enumerate(parts.messages):
        t = _message_thought(message)
        if len(t.data) > MAX_THOUGHT_BYTES:
            raise MessageTooLarge(source, parts.display_name, n, len(t.data))
        blocks[t.cid] = t.data
        order.append(t.cid)
    agent_node = _stored(parts.agent)
    agent_node.update({"index": parts.index, "memories": list(names), "split": list(parts.split)})
    data: dict[str, CID] = {DATA_FILE: file_node.cid}
    named: list[tuple[str, dict[str, Any]]] = [(DATA_AGENT, agent_node)]
    if parts.tools or "tools" in parts.split or parts.agent.get("tool_ids"):
        named.append((DATA_TOOLS, _stored(list(parts.tools))))
    if "tool_rules" in parts.split:
        named.append((DATA_RULES, _stored(parts.tool_rules)))
    if "messages" in parts.split:
        named.append((DATA_MESSAGES, {"order": order}))
    for data_name, node in named:
        b = Block.encode(node)
        _check_size(b, source, f"{who} {_PARTS[data_name]}")
        blocks[b.cid] = b.data
        data[data_name] = b.cid
    state = (
        State(
            genes_of(parts.agent),
            frozenset(c for c in order if isinstance(c, CID)),
        )
        .with_memories(memories)
        .with_data(data)
    )
    _check_size(state.manifest(), source, f"{who} manifest (its messages, blocks and genes)")
    return _Planned(experiment, parts, state, blocks, tuple(names), tuple(warnings))


def _file_block(parts: fmt.FileParts, style: Style, value: Json) -> Block:
    orders: dict[tuple[str, ...], list[str]] = {}
    key_orders(value, orders)
    node = _stored(parts.envelope)
    node.update(
        {
            "agents": [a.agent["id"] for a in parts.agents if isinstance(a.agent.get("id"), str)],
            "format": FILE_FORMAT,
            "key_orders": _stored([orders[k] for k in sorted(orders)]),
            "layout": parts.layout,
            "mapping": MAPPING_VERSION,
            "order": {k: list(v) for k, v in parts.order.items()},
            "split": list(parts.split),
            "style": style.to_node(),
        }
    )
    return Block.encode(node)


def _check_file_size(file_node: Block, source: str) -> None:
    """Refuse an ``af.file`` block over the limit, naming what fills it: the key orders it
    keeps of every map of the file (messages' among them) made a file whose own part is a few
    bytes "the file's own part (all but its agents)... trim that part first", which the user
    looked for in vain."""
    limit = MAX_BLOCK_BYTES
    if len(file_node.data) <= limit:
        return
    node = dagjson.decode(file_node.data)
    orders = node.get("key_orders") if isinstance(node, dict) else None
    kept = len(dagjson.encode(orders)) if orders is not None else 0
    if kept * 2 < len(file_node.data):
        raise PartTooLarge(
            source, "the file's own part (all but its agents), af.file,", len(file_node.data), limit
        )
    lists = orders.get("json") if isinstance(orders, dict) else None
    count = len(lists) if isinstance(lists, list) else 0
    raise PartTooLarge(
        source,
        f"the file's own part, af.file, with the key order of each of the {count} sets of keys "
        f"the file writes unsorted ({kept} bytes of it, so that export writes them back in "
        "that order),",
        len(file_node.data),
        limit,
        hint="a store (and every peer's verify) refuses larger blocks; write the file with its "
        "keys sorted (Python: json.dump(..., sort_keys=True)), which leaves no order to keep",
    )


def _check_names(
    store: Store, names: Sequence[str], source: str, done: Mapping[str, str] | None = None
) -> None:
    """Refuse names no new experiment can take; those in ``done`` (experiments that hold
    their agent already) are left to the caller."""
    existing = set(store.experiments())
    for name in names:
        shown = quoted(name, 120)  # up to 1,012 characters (a name of ten parts and more)
        try:
            check_experiment_name(name)
        except (NamePartTooLong, NotAnExperimentName) as e:
            # Its reason alone: the error's own text quotes the name, which was quoted twice
            # (a name of 1,013 characters, whole and then cut: a line of 1,300).
            raise BadExperimentName(source, f"experiment name {shown}: {e.reason}") from None
        except RefError as e:
            raise BadExperimentName(source, f"experiment name {shown}: {e}") from None
        if done is not None and name in done:
            continue
        if name in existing or read_ref(store.repo, HEADS + name) is not None:
            raise BadExperimentName(
                source,
                f"experiment {shown} already exists",
                hint="choose another name with --as NAME, or remove that experiment first",
            )
        # git keeps refs as files: "a" and "a/b" cannot both exist.
        clash = [e for e in existing if e.startswith(name + "/") or name.startswith(e + "/")]
        if clash or lock_held(store.repo, HEADS + name):
            raise BadExperimentName(
                source, f"experiment {shown} clashes with {clash[0] if clash else 'a lock file'}"
            )
    if len(set(names)) != len(names):
        raise BadExperimentName(source, "two agents would get the same experiment name")


def _check_suffix_room(name: str, names: Sequence[str], source: str) -> None:
    """Refuse a given ``name`` that fits alone but not with a several-agent file's suffixes.

    How many agents a file holds is known only once it is read, so such a name is the file's
    error (exit 1); the check_ref_name failure it led to said "invalid ref name" of a name of
    valid characters, with no word of its length.
    """
    over = next((made for made in names if len(made.rsplit("/", 1)[-1]) > _SLUG_MAX), None)
    if over is None:
        return
    room = _SLUG_MAX - len(f"-{len(names)}")
    part, after = ("its last part is", " after its last '/'") if "/" in name else ("it is", "")
    length = len(over.rsplit("/", 1)[-1])
    # Cut past 120 characters: a name of one part (at most 100, a suffix of a few digits more)
    # is shown whole; one of ten parts (1,012 characters) made a line of over 1,200.
    raise BadExperimentName(
        source,
        f"experiment name {quoted(over, 120)} (the name given, suffixed for one of the file's "
        f"{len(names)} agents): {part} {length} characters long, over the {_SLUG_MAX} mindgit "
        "allows",
        hint=f"give --as a name of at most {room} characters{after} for this file",
    )


def import_af(
    store: Store,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    name: str | None = None,
    limit: int = MAX_FILE_BYTES,
) -> list[ImportedAgent]:
    """Import every agent of an agent file as a new experiment; return what each became.

    All checks run before anything is written: bad input leaves refs and objects untouched.
    """
    data, label = read_limited(source, limit)
    value, style = parse_document(data, label)
    parts = fmt.split_file(value, label)
    names = experiment_names([a.agent.get("name") for a in parts.agents], name)
    if name is not None and len(names) > 1:
        _check_suffix_room(name, names, label)
    _check_names(store, names, label, _imported_here(store, names))
    file_node = _file_block(parts, style, value)
    _check_file_size(file_node, label)
    for agent in parts.agents:
        _check_message_count(agent, file_node.cid, label)
    plans = []
    for n, (agent, experiment) in enumerate(zip(parts.agents, names, strict=True)):
        warnings = (*parts.warnings, *agent.warnings) if n == 0 else agent.warnings
        plans.append(_plan(agent, file_node, experiment, label, warnings))
    # An import cut short (killed between two agents' refs) is finished by running it again:
    # the agents it made are kept, the others made. All made already is no import at all.
    done = _already_imported(store, plans)
    for experiment in done:
        # The import cut short may have died with the ref in place and its lock still there
        # (its last ref too, when all are made): nothing writes that ref now to clear it.
        remove_dead_lock(store.repo, HEADS + experiment)
    # Looked at again: one taken since the first look is refused; so is every name when all
    # are made already, as importing a file twice is.
    _check_names(store, names, label, done if len(done) < len(plans) else None)
    todo = [plan for plan in plans if plan.experiment not in done]
    _ = store.signing_key  # a bad key or an unfinished rotation: before any object is written
    # One pack for every block of every agent: an agent's messages are thousands of blocks,
    # which as loose objects cost a file (and ~1 ms) each.
    with PackWriter(Path(store.repo.path) / "objects") as pack:
        trees = [layout.pack_state(pack, plan.state, plan.blocks) for plan in todo]
        pack.finish()
    commits: dict[str, str] = dict(done)
    for plan, (tree, manifest) in zip(todo, trees, strict=True):
        # Both cut to fit a subject line: an agent named with 100,000 characters made one.
        who = one_line(plan.parts.subject_name, limit=100)
        title = f"import-af: {_subject_text(Path(label).name)} agent {who}"
        if len(plans) > 1:
            title += f" ({plan.parts.index + 1} of {len(plans)})"
        oid = store.write_commit(tree, [], title, manifest.cid, {"Mindgit-Import": FILE_FORMAT})
        commits[plan.experiment] = oid
    _create_refs(store, [(p.experiment, commits[p.experiment]) for p in todo])
    return [
        ImportedAgent(
            plan.experiment,
            plan.parts.agent.get("name") if isinstance(plan.parts.agent.get("name"), str) else None,
            commits[plan.experiment],
            plan.state.manifest().cid,
            plan.memories,
            len(plan.parts.messages),
            tuple(tool_name(t) for t in plan.parts.tools),
            tuple(plan.state.genome),
            plan.warnings,
            earlier=plan.experiment in done,
        )
        for plan in plans
    ]


def _imported_here(store: Store, names: Sequence[str]) -> dict[str, str]:
    """The experiments among ``names`` that an import made (a root import commit at their
    head), by name: the candidates for an import cut short, confirmed by
    :func:`_already_imported` once the file's states are known."""
    out = {}
    for name in names:
        try:
            head = read_ref(store.repo, HEADS + check_experiment_name(name))
        except RefError:
            continue
        commit = as_commit(store.repo.get(head)) if head is not None else None
        imported = commit is not None and trailer(commit.message, "Mindgit-Import") == FILE_FORMAT
        if commit is not None and imported and not commit.parent_ids:
            out[name] = str(commit.id)
    return out


def _already_imported(store: Store, plans: Sequence[_Planned]) -> dict[str, str]:
    """The planned agents whose experiment holds exactly the state this import would give it,
    as a root commit this node's import made: experiment -> its head.

    The trailers are only what the commit says of itself: anyone can write them over another
    tree, unsigned. The commit must verify (signed by a trusted key, its tree the state its
    trailer names) and be signed by this node, whose import alone can have been cut short: a
    peer's import pulled here is the peer's, and its name is taken as any other's. This node's
    key is the one it signs with now or one a key rotation of its retired (kept in the store):
    an import cut short before a rotation could not be finished after it ("already exists")."""
    found = _imported_here(store, [p.experiment for p in plans])
    verifier = Verifier(store.repo, store.trust)
    own = store.public_key.did
    out = {}
    for plan in plans:
        head = found.get(plan.experiment)
        if head is None:
            continue
        commit = as_commit(store.repo.get(head))
        assert commit is not None
        if trailer(commit.message, STATE_TRAILER) != str(plan.state.manifest().cid):
            continue
        checked = verifier.check_commit(head)
        signer = checked.signer
        mine = signer is not None and (
            signer.did == own or store.retired_key_path(signer).is_file()
        )
        if checked.ok and mine:
            out[plan.experiment] = head
    return out


def _create_refs(store: Store, refs: Sequence[tuple[str, str]]) -> None:
    """Create every experiment, or none: a failure part-way removes the ones made."""
    who = f"{store.name} <{store.public_key.did}>"
    made: list[tuple[str, str]] = []
    try:
        for experiment, oid in refs:
            update_ref(
                store.repo, HEADS + experiment, oid, None, message="import-af", committer=who
            )
            made.append((experiment, oid))
    except BaseException:
        for experiment, oid in made:
            if read_ref(store.repo, HEADS + experiment) == oid:
                store.repo.references.delete(HEADS + experiment)
        raise


__all__ = [
    "MAX_BLOCK_BYTES",
    "MAX_FILE_BYTES",
    "AgentFileError",
    "AgentSummary",
    "BlockTooLarge",
    "BlockTooLong",
    "CannotWrite",
    "CorruptAgentState",
    "ExportConflict",
    "Exported",
    "FileTooLarge",
    "GeneDoesNotFit",
    "ImportedAgent",
    "MessageTooLarge",
    "NotAnImportedAgent",
    "PartTooLarge",
    "UnknownBlock",
    "describe",
    "export_af",
    "import_af",
    "memory_name",
    "restore_block",
    "set_block",
]
