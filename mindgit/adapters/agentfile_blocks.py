"""How an imported agent is stored, and its memory blocks: their names, their form, editing one.

An agent's state holds the data blocks named below (``DATA_*``). A Letta memory block is a
memory whose map is the block's own JSON (so ``show`` and ``diff`` see its ``label``,
``description`` and ``value``), plus, only when that JSON holds something canonical DAG-JSON
cannot spell exactly, the fix record under :data:`FIX_KEY`. A memory is named after its block's
label (:func:`memory_name`); the editing functions find it by either.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from mindgit.adapters.agentfile_json import (
    CorruptAgentState,
    drop_fixes_under,
    from_node,
    to_node,
)
from mindgit.errors import MindgitError, quoted
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.repository import Commit, Snapshot, Store
from mindgit.store.state import Block, State, check_block_name
from mindgit.store.verify import MAX_BLOB_BYTES

MAPPING_VERSION = 1
FILE_FORMAT = "letta-agent-file"
DATA_FILE, DATA_AGENT, DATA_TOOLS, DATA_RULES, DATA_MESSAGES = (
    "af.file",
    "af.agent",
    "af.tools",
    "af.tool_rules",
    "af.messages",
)
FIX_KEY = "mindgit:fix"
"""The key of a memory block that holds its fix record (the rest is the block's own JSON)."""
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.:-]")


def tool_name(tool: object) -> str:
    """A tool's name, from the tool or its JSON schema ("?" when it has none)."""
    if isinstance(tool, dict):
        name = tool.get("name")
        if not isinstance(name, str):
            schema = tool.get("json_schema")
            name = schema.get("name") if isinstance(schema, dict) else None
        if isinstance(name, str):
            return name
    return "?"


class NotAnImportedAgent(MindgitError):
    """A state that holds no imported agent (no ``af.agent`` data block)."""

    def __init__(
        self,
        rev: str,
        *,
        hint: str = "import one with `mindgit import-af FILE`; only those states are agents to "
        "export or describe",
    ) -> None:
        super().__init__(f"{rev} holds no imported agent", hint=hint)
        self.rev = rev


_EDITS_AN_AGENT = (
    "block set and restore edit the memory blocks of an agent imported with `mindgit import-af "
    "FILE`; give its experiment with -e"
)


def _check_agent(
    state: State, name: str, *, what: str = "experiment", hint: str = _EDITS_AN_AGENT
) -> None:
    """Refuse to edit the blocks of an experiment that holds no imported agent: a block
    restored there was added to it as a memory (`restore human --from agent -e main` on a
    plain experiment), which nothing reads as an agent. ``what`` and ``hint`` name another
    state that must hold one (a restore's source)."""
    if DATA_AGENT not in dict(state.data):
        raise NotAnImportedAgent(f"{what} {name}", hint=hint)


class UnknownBlock(MindgitError):
    """No memory of that label (or name) in the state."""

    def __init__(self, label: str, rev: str, known: Sequence[str]) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(
            f"no memory block {label!r} in {rev}", hint=f"the blocks there are: {listed}"
        )
        self.label = label
        self.rev = rev


class AmbiguousBlock(MindgitError):
    """Text that is one memory block's label and another memory's name."""

    def __init__(self, label: str, rev: str, owner: str) -> None:
        super().__init__(
            f"{label!r} in {rev} is the label of memory {owner} and the name of memory {label}",
            # af-info of ``rev``: bare, it described the current experiment (main, say: "holds
            # no imported agent"), not the one the block was asked of.
            hint=f"give the memory's name: {owner} for the block labelled {label!r}, or the "
            f"label of memory {label} (`mindgit af-info {shlex.quote(rev)}` lists both)",
        )
        self.label = label
        self.rev = rev
        self.owner = owner


class BlockTooLong(MindgitError):
    """A new value longer than the block's character limit."""

    def __init__(self, label: str, length: int, limit: int) -> None:
        super().__init__(
            f"the new value of block {label!r} has {length} characters, over its limit of {limit}",
            hint="shorten it; the agent cannot hold more in that block",
        )
        self.label = label
        self.length = length
        self.limit = limit


class BlockTooLarge(MindgitError):
    """A new value that makes the memory block larger than a store accepts."""

    def __init__(self, label: str, size: int, limit: int) -> None:
        super().__init__(
            f"the new value of block {quoted(label)} would make a block of {size} bytes, over "
            f"the {limit}-byte limit of a block; nothing changed",
            hint="a store (and every peer's verify) refuses larger blocks; shorten the value",
        )
        self.label = label
        self.size = size
        self.limit = limit


def memory_name(label: str) -> str:
    """The memory name for a block label: ``/`` becomes ``:``, other odd characters ``_``.

    >>> memory_name("system/human/family")
    'system:human:family'
    """
    name = _NAME_CHARS.sub("_", label.replace("/", ":"))
    if name[:1] in ".:-":
        name = "_" + name
    return name[:128]


def memory_names(labels: Sequence[str]) -> list[str]:
    """Names for one agent's labels, unique: a clash (after mapping) gets ``-2``, ``-3``..."""
    names: list[str] = []
    # A set, and each name's last suffix, rather than a scan of the list from -2 up for every
    # label: 20,000 blocks took 20 s to name (quadratic), and a file may hold far more. The
    # names are the same: a suffix below the last one used is taken already.
    taken: set[str] = set()
    last: dict[str, int] = {}
    for label in labels:
        base = memory_name(label)
        name, n = base, last.get(base, 1)
        while name in taken:
            n += 1
            name = _suffixed(base, n)
        last[base] = n
        taken.add(name)
        names.append(check_block_name("memory", name))
    return names


def _suffixed(base: str, n: int) -> str:
    """``base-n``, ``base`` cut so that the name stays within 128 characters."""
    return f"{base[: 128 - len(str(n)) - 1]}-{n}"


def memory_block(block: dict[str, Any]) -> Block:
    """A Letta block as a memory: its JSON, and the fix record when it needs one."""
    s = to_node(block, reserved=(FIX_KEY,))
    node = dict(s.node)
    if s.fix is not None:
        node[FIX_KEY] = s.fix
    return Block.encode(node)


def memory_json(node: dict[str, Any], what: str) -> dict[str, Any]:
    """A memory block's own JSON (its stored map without mindgit's fix record)."""
    fix = node.pop(FIX_KEY, None)
    value = from_node(node, fix, what)
    assert isinstance(value, dict)
    return value


def find_memory(store: Store, snap: Snapshot, label: str, rev: str) -> str:
    """The memory name for ``label``: the memory whose block has that label, else the memory of
    that name.

    A block's label comes first: its mapped name may be another block's (labels ``x_y`` and
    ``x y`` are memories ``x_y`` and ``x_y-2``), and taking the mapped name edited the block
    labelled ``x_y`` when ``x y`` was asked for. Text that is one block's label and another
    memory's name (``a:b`` for labels ``a/b`` and ``a:b``) is refused as ambiguous.
    """
    names = dict(snap.state.memories)

    def labelled(name: str) -> bool:
        node = dagjson.decode(layout.read_block(store.repo, snap.tree, names[name]))
        return isinstance(node, dict) and node.get("label") == label

    # Most often the block's memory is its label's mapped name: one block read, not all.
    mapped = memory_name(label)
    owner = mapped if mapped in names and labelled(mapped) else None
    if owner is None:
        owner = next((name for name in names if name != mapped and labelled(name)), None)
    if owner is not None and label in names and owner != label:
        raise AmbiguousBlock(label, rev, owner)
    if owner is not None:
        return owner
    if label in names:
        return label
    raise UnknownBlock(label, rev, sorted(names))


def set_block(store: Store, label: str, value: str, *, experiment: str | None = None) -> Commit:
    """A new signed commit in which memory block ``label`` holds ``value``."""
    exp = store.experiment(experiment)
    snap = store.snapshot(exp)
    _check_agent(snap.state, exp)
    name = find_memory(store, snap, label, exp)

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        _check_agent(state, exp)
        here = snap if state.memories == snap.state.memories else store.snapshot(exp)
        if name not in dict(state.memories):
            raise UnknownBlock(label, exp, [n for n, _ in state.memories])
        node = dagjson.decode(layout.read_block(store.repo, here.tree, state.memory(name)))
        if not isinstance(node, dict):
            raise CorruptAgentState(f"{exp} memory {name!r}", "is not a map")
        limit = node.get("limit")
        if type(limit) is int and len(value) > limit:
            raise BlockTooLong(label, len(value), limit)
        old_fix = node.pop(FIX_KEY, None)
        fix = drop_fixes_under(old_fix if isinstance(old_fix, dict) else None, ["value"])
        stored = to_node(value)
        node["value"] = stored.node
        if stored.fix is not None:
            # A value DAG-JSON cannot spell (a lone surrogate) is kept as its JSON text.
            fix = dict(fix or {})
            fix["raw"] = [*fix.get("raw", []), ["value"]]
        if fix:
            node[FIX_KEY] = fix
        block = Block.encode(node)
        # A block with no character limit (or a large one) took any value: one over 16 MiB was
        # committed, and verify failed the store on it here and at every peer.
        if len(block.data) > MAX_BLOB_BYTES:
            raise BlockTooLarge(label, len(block.data), MAX_BLOB_BYTES)
        memories = dict(state.memories)
        memories[name] = block.cid
        return state.with_memories(memories), {block.cid: block.data}

    return store.update(change, f"block set {label}", experiment=exp)


def restore_block(
    store: Store, label: str, from_rev: str, *, experiment: str | None = None
) -> Commit:
    """A new signed commit in which memory block ``label`` is as it was at ``from_rev``.

    The block replaces the one with its label in the experiment, whatever that one's memory is
    named (another agent's experiment may name it otherwise: labels ``x_y`` and ``x y`` are
    memories ``x_y`` and ``x_y-2`` in one agent, ``x y`` alone is ``x_y``); a label the
    experiment lacks is a memory added, under a name no other memory has. Both the experiment
    and ``from_rev`` must hold an imported agent (:class:`NotAnImportedAgent`).
    """
    exp = store.experiment(experiment)
    source = store.snapshot(from_rev)
    snap = store.snapshot(exp)
    _check_agent(snap.state, exp)
    # A plain state's memory of that name was restored into the agent, and export-af then
    # wrote it as a block with no label and no id.
    _check_agent(
        source.state,
        from_rev,
        what="revision",
        hint="restore takes a block from an agent imported with `mindgit import-af FILE`: its "
        "experiment, or a commit of it",
    )
    name = find_memory(store, source, label, from_rev)
    cid = source.state.memory(name)
    data = layout.read_block(store.repo, source.tree, cid)
    node = dagjson.decode(data)
    real = node.get("label") if isinstance(node, dict) else None

    def change(state: State) -> tuple[State, Mapping[CID, bytes]]:
        _check_agent(state, exp)  # the experiment may have moved since
        memories = dict(state.memories)
        target = name
        if isinstance(real, str):
            here = snap if state.memories == snap.state.memories else store.snapshot(exp)
            target = _labelled(store, here, real) or _free_name(name, real, memories)
        memories[target] = cid
        return state.with_memories(memories), {cid: data}

    return store.update(change, f"block restore {label} from {from_rev}", experiment=exp)


def _labelled(store: Store, snap: Snapshot, label: str) -> str | None:
    """The memory of ``snap`` whose block has ``label``, its mapped name looked at first."""
    names = dict(snap.state.memories)
    mapped = memory_name(label)
    order = ([mapped] if mapped in names else []) + [n for n in names if n != mapped]
    for name in order:
        node = dagjson.decode(layout.read_block(store.repo, snap.tree, names[name]))
        if isinstance(node, dict) and node.get("label") == label:
            return name
    return None


def _free_name(name: str, label: str, memories: Mapping[str, CID]) -> str:
    """``name`` if no memory has it, else the label's name with the first free suffix: the
    block another memory of that name holds has another label (:func:`_labelled` found none)."""
    if name not in memories:
        return name
    base, n = memory_name(label), 1
    while (candidate := base if n == 1 else _suffixed(base, n)) in memories:
        n += 1
    return check_block_name("memory", candidate)
