"""Imported agents back out of the store: one agent file from one or more states.

The inverse of :func:`mindgit.adapters.agentfile.import_af`: the agent object from ``af.agent``,
its genes written back into its settings, its memories as blocks (import order, then new ones by
name), its messages in ``af.messages`` order (then new ones by CID), and the file around it from
``af.file``, written in the style it was read in.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import pygit2

from mindgit.adapters import agentfile_format as fmt
from mindgit.adapters.agentfile_blocks import (
    DATA_AGENT,
    DATA_FILE,
    DATA_MESSAGES,
    DATA_RULES,
    DATA_TOOLS,
    FILE_FORMAT,
    MAPPING_VERSION,
    NotAnImportedAgent,
    memory_json,
    tool_name,
)
from mindgit.adapters.agentfile_genes import apply_genes
from mindgit.adapters.agentfile_json import (
    CorruptAgentState,
    Json,
    Style,
    from_node,
    ordered,
    render_document,
)
from mindgit.errors import MindgitError, quoted
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID
from mindgit.store import layout
from mindgit.store.refs import read_ref
from mindgit.store.repository import HEADS, Snapshot, Store, check_experiment_name


class ExportConflict(MindgitError):
    """States that cannot go into one agent file together."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"cannot export these agents together: {problem}")
        self.problem = problem


_WHERE_HINT = "check that its directory exists and can be written to"
# What to do about the usual reasons a write fails; "check that its directory exists" told a
# user whose /dev/full or disk was full to look at a directory that was fine.
_ERRNO_HINTS = {
    errno.ENOENT: "check that its directory exists",
    errno.ENOTDIR: "check that its directory exists",
    errno.EACCES: "check that it can be written to",
    errno.EPERM: "check that it can be written to",
    errno.EROFS: "its file system is read-only; write it elsewhere",
    errno.ENOSPC: "no room is left there; write it somewhere with room",
    errno.EDQUOT: "your disk quota is used up; make room or write it elsewhere",
}


class CannotWrite(MindgitError):
    """The agent file cannot be written where it was asked for."""

    def __init__(
        self, target: str, reason: str, *, hint: str | None = _WHERE_HINT, error: int | None = None
    ) -> None:
        super().__init__(f"cannot write {target} ({reason}); nothing was written", hint=hint)
        self.target = target
        self.reason = reason
        self.errno = error

    @classmethod
    def of(cls, target: str, error: OSError) -> CannotWrite:
        """``error`` writing ``target``, with a hint that fits it (or none)."""
        hint = _ERRNO_HINTS.get(error.errno or 0)
        return cls(target, error.strerror or str(error), hint=hint, error=error.errno)


@dataclass(frozen=True, slots=True)
class Exported:
    """What ``export_af`` wrote."""

    agents: tuple[str | None, ...]  # agent names, in file order
    size: int
    layout: str
    warnings: tuple[str, ...] = ()  # parts of the imported file left out


@dataclass(frozen=True, slots=True)
class AgentSummary:
    """An imported agent as ``show`` cannot tell it: its tools and messages."""

    name: str | None
    layout: str
    agent_type: str | None
    model: str | None
    memories: tuple[tuple[str, str], ...]  # (memory name, label)
    tools: tuple[str, ...]
    tool_rules: int
    messages: int
    genes: tuple[str, ...]


# -- reading states back ---------------------------------------------------------------------------


def _decode_block(store: Store, snap: Snapshot, cid: CID, what: str) -> dict[str, Any]:
    try:
        node = dagjson.decode(layout.read_block(store.repo, snap.tree, cid))
    except MindgitError as e:
        raise CorruptAgentState(what, str(e)) from None
    if not isinstance(node, dict):
        raise CorruptAgentState(what, "is not a map")
    return node


def _unstore(node: dict[str, Any], what: str) -> Json:
    if "json" not in node:
        raise CorruptAgentState(what, "has no 'json'")
    return from_node(node["json"], node.get("fix"), what)


@dataclass(frozen=True, slots=True)
class _Loaded:
    rev: str
    snap: Snapshot
    data: dict[str, CID]
    file: dict[str, Any]
    agent_node: dict[str, Any]


def _load(store: Store, rev: str, files: dict[CID, dict[str, Any]] | None = None) -> _Loaded:
    """The imported agent at ``rev``. ``files`` holds the ``af.file`` blocks decoded so far, by
    CID: the agents of one import share one, which names every agent, block and tool of the
    file, so decoding it once per agent made an export of n agents hold n copies (memory
    O(n^2): 100 agents of one file peaked at 2.3 MB, 400 at 25 MB; now 0.7 and 2.6 MB)."""
    snap = store.snapshot(rev)
    data = dict(snap.state.data)
    if DATA_AGENT not in data or DATA_FILE not in data:
        raise NotAnImportedAgent(rev)
    file_node = None if files is None else files.get(data[DATA_FILE])
    if file_node is None:
        file_node = _decode_block(store, snap, data[DATA_FILE], f"{rev} {DATA_FILE}")
        if files is not None:
            files[data[DATA_FILE]] = file_node
    if file_node.get("format") != FILE_FORMAT or file_node.get("mapping") != MAPPING_VERSION:
        raise CorruptAgentState(
            f"{rev} {DATA_FILE}", "is not an agent-file record this mindgit reads"
        )
    if file_node.get("layout") not in ("v1", "v2"):
        raise CorruptAgentState(f"{rev} {DATA_FILE}", "names no known layout")
    agent_node = _decode_block(store, snap, data[DATA_AGENT], f"{rev} {DATA_AGENT}")
    return _Loaded(rev, snap, data, file_node, agent_node)


def _string_list(node: dict[str, Any], key: str, what: str) -> list[str]:
    value = node.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise CorruptAgentState(what, f"'{key}' is not a list of strings")
    return value


def _memories_in_order(store: Store, loaded: _Loaded) -> list[dict[str, Any]]:
    state = loaded.snap.state
    present = dict(state.memories)
    first = [n for n in _string_list(loaded.agent_node, "memories", loaded.rev) if n in present]
    names = first + sorted(set(present) - set(first))
    out = []
    for name in names:
        what = f"{loaded.rev} memory {name!r}"
        out.append(memory_json(_decode_block(store, loaded.snap, present[name], what), what))
    return out


def _message_order(store: Store, loaded: _Loaded) -> tuple[list[CID], list[CID]]:
    """The thoughts that may be messages, in export order: those of the import's message
    order still in the state (repeats kept), and the others (added later), in CID order."""
    state = loaded.snap.state
    order: list[CID] = []
    if DATA_MESSAGES in loaded.data:
        node = _decode_block(store, loaded.snap, loaded.data[DATA_MESSAGES], loaded.rev)
        links = node.get("order")
        if not isinstance(links, list) or not all(isinstance(c, CID) for c in links):
            raise CorruptAgentState(
                f"{loaded.rev} {DATA_MESSAGES}", "'order' is not a list of links"
            )
        order = [c for c in links if c in state.thoughts]
    known = set(order)
    # Messages added after the import (a merge, say) follow, in CID order.
    extra = sorted((c for c in state.thoughts if c not in known), key=str)
    return order, extra


# How a message thought's canonical DAG-JSON ends: "type" is its last key ("fix", "message",
# "type" sorted), at the top level (nested, the text would end with "}}" or "}]}").
_MESSAGE_END = b'"type":"message"}'


def _message_thoughts(
    store: Store, loaded: _Loaded, cids: Sequence[CID], *, decode: bool = True
) -> Iterator[tuple[CID, dict[str, Any]]]:
    """Each of ``cids`` that is a message thought, decoded (notes and other thoughts are
    mindgit's own, and skipped). Without ``decode``, one whose bytes end as a message's is
    yielded undecoded (an empty map), for a count."""
    # One lookup of the thoughts tree, not one per message: layout.read_thought re-reads it.
    tree = loaded.snap.tree
    thoughts = store.repo[tree[layout.THOUGHTS].id] if layout.THOUGHTS in tree else None
    for cid in cids:
        what = f"{loaded.rev} thought {cid}"
        if not isinstance(thoughts, pygit2.Tree) or str(cid) not in thoughts:
            raise CorruptAgentState(what, "is not in the state's tree")
        raw = store.repo[thoughts[str(cid)].id].read_raw()
        if not decode and raw.endswith(_MESSAGE_END):
            yield cid, {}
            continue
        try:
            thought = dagjson.decode(raw)
        except MindgitError as e:
            raise CorruptAgentState(what, str(e)) from None
        if isinstance(thought, dict) and thought.get("type") == "message":
            yield cid, thought


def _messages_in_order(store: Store, loaded: _Loaded) -> list[dict[str, Any]]:
    order, extra = _message_order(store, loaded)
    return [
        from_node(thought.get("message"), thought.get("fix"), f"{loaded.rev} thought {cid}")
        for cid, thought in _message_thoughts(store, loaded, [*order, *extra])
    ]


def _message_count(store: Store, loaded: _Loaded) -> int:
    """How many messages export writes, each thought looked at by how its bytes end rather
    than decoded: af-info and show of an agent of 60,000 messages decoded every one (and
    turned it back into the file's JSON) to count them, 9 s of 16."""
    order, extra = _message_order(store, loaded)
    return sum(1 for _ in _message_thoughts(store, loaded, [*order, *extra], decode=False))


@dataclass(frozen=True, slots=True)
class _Out:
    agent: fmt.AgentOut
    layout: str
    grown: list[tuple[dict[str, Any], list[str]]]  # settings maps that gained fields, and which
    warnings: list[str]  # genes not written


def _agent_out(store: Store, loaded: _Loaded) -> _Out:
    rev = loaded.rev
    agent = _unstore(loaded.agent_node, f"{rev} {DATA_AGENT}")
    if not isinstance(agent, dict):
        raise CorruptAgentState(f"{rev} {DATA_AGENT}", "is not an agent object")
    split = _string_list(loaded.agent_node, "split", rev)
    grown, warnings = apply_genes(
        agent, loaded.snap.state.genome, rev, experiment=_experiment_named(store, rev)
    )
    memories = _memories_in_order(store, loaded)
    tools: list[dict[str, Any]] = []
    if DATA_TOOLS in loaded.data:
        stored = _unstore(_decode_block(store, loaded.snap, loaded.data[DATA_TOOLS], rev), rev)
        if not isinstance(stored, list) or not all(isinstance(t, dict) for t in stored):
            raise CorruptAgentState(f"{rev} {DATA_TOOLS}", "is not a list of tools")
        tools = stored
    if "tool_rules" in split and DATA_RULES in loaded.data:
        rules = _decode_block(store, loaded.snap, loaded.data[DATA_RULES], rev)
        agent["tool_rules"] = _unstore(rules, f"{rev} {DATA_RULES}")
    messages = _messages_in_order(store, loaded)
    if "messages" in split or messages:
        agent["messages"] = messages
    file_layout = str(loaded.file["layout"])
    if file_layout == "v1":
        if "core_memory" in split or memories:
            agent["core_memory"] = memories
        if "tools" in split or tools:
            agent["tools"] = tools
        return _Out(fmt.AgentOut(agent, (), ()), file_layout, grown, warnings)
    if "block_ids" in split:
        agent["block_ids"] = []
    origin = str(loaded.data[DATA_FILE])
    out = fmt.AgentOut(agent, tuple(memories), tuple(tools), origin)
    return _Out(out, file_layout, grown, warnings)


def _experiment_named(store: Store, rev: str) -> str | None:
    """The experiment ``rev`` names, as Store.resolve reads it (a name before anything else;
    ``refs/heads/NAME`` too), or None (a commit id, ``NAME~1``, a tag...)."""
    name = rev.removeprefix(HEADS) if rev.startswith("refs/") else rev
    if name == rev and rev.startswith("refs/"):
        return None
    try:
        head = read_ref(store.repo, HEADS + check_experiment_name(name))
    except (MindgitError, ValueError, UnicodeError):
        return None
    return name if head is not None else None


def export_af(
    store: Store, rev: str | Sequence[str], out: str | os.PathLike[str] | IO[bytes]
) -> Exported:
    """Write the agent(s) at ``rev`` as one agent file (a path, written atomically, or a stream).

    Several revisions give one file with their agents in that order: the experiments of one
    multi-agent import, exported together, give back that file.
    """
    revs = [rev] if isinstance(rev, str) else list(rev)
    if not revs:
        raise ExportConflict("no agents given")
    # One decoded af.file per file, shared by its agents: only the first REV's is unstored
    # below, once (from_node changes a node in place).
    files: dict[CID, dict[str, Any]] = {}
    loaded = [_load(store, r, files) for r in revs]
    outs = [_agent_out(store, x) for x in loaded]
    layouts = {o.layout for o in outs}
    if len(layouts) > 1:
        raise ExportConflict("some are Letta 0.x agents (one per file) and some are not")
    first = loaded[0].file
    what = f"{loaded[0].rev} {DATA_FILE}"
    style = Style.from_node(first.get("style"), what)
    orders = _orders(first.get("key_orders"), what)
    for o in outs:
        for holder, added in o.grown:
            # A field a gene added goes after the fields as imported, which keep their order.
            kept = [k for k in holder if k not in added]
            before = orders.get(tuple(sorted(kept)), sorted(kept))
            orders.setdefault(tuple(sorted(holder)), [*before, *added])
    value: Json
    warnings: list[str] = []
    if layouts == {"v1"}:
        if len(outs) > 1:
            raise ExportConflict("a Letta 0.x agent file holds one agent; export each on its own")
        value = outs[0].agent.agent
    else:
        # Compared as JSON: the agent ids 5 and "5" are two ids.
        seen: dict[str, str] = {}
        for x, o in zip(loaded, outs, strict=True):
            ident = o.agent.agent.get("id")
            if ident is None:
                continue
            key = json.dumps(ident, sort_keys=True)
            if key in seen:
                # Letta numbers ids per file ("agent-0"): agents of two files clash as often
                # as one file imported twice, so the message names both.
                raise ExportConflict(
                    f"{seen[key]} and {x.rev} have the same agent id {quoted(ident)} (agents of "
                    "one file imported twice, or of two files, which Letta numbers alike)"
                )
            seen[key] = x.rev
        envelope = _unstore(first, what)
        if not isinstance(envelope, dict):
            raise CorruptAgentState(what, "the file's own part is not an object")
        order = first.get("order", {})
        if not isinstance(order, dict):
            raise CorruptAgentState(what, "'order' is not a map")
        # The file's own part (groups among it) is the first agent's file's, whose ids name
        # that file's agents: another file's "agent-0" is not this file's, and counted as
        # exported it kept a group whose manager it named, now pointing at the other agent.
        home = loaded[0].data[DATA_FILE]
        exported = {
            i
            for x, o in zip(loaded, outs, strict=True)
            if x.data[DATA_FILE] == home
            for i in [o.agent.agent.get("id")]
            if isinstance(i, str)
        }
        value, warnings = fmt.assemble_v2(
            envelope,
            _string_list(first, "split", what),
            {k: _string_list(order, k, what) for k in order},
            [o.agent for o in outs],
            absent=[i for i in _string_list(first, "agents", what) if i not in exported],
        )
    others = [x.rev for x in loaded if x.data[DATA_FILE] != loaded[0].data[DATA_FILE]]
    if others:
        warnings.append(
            f"{', '.join(others)} imported from another file than {loaded[0].rev}: the file-level "
            f"parts written (groups, MCP servers, files, sources, metadata, unused blocks and "
            f"tools) are {loaded[0].rev}'s file's, not theirs"
        )
    data = render_document(ordered(value, orders), style)
    _write(out, data)
    names = tuple(_name(o.agent.agent) for o in outs)
    unwritten = [w for o in outs for w in o.warnings]
    return Exported(names, len(data), layouts.pop(), (*unwritten, *warnings))


def _name(agent: dict[str, Any]) -> str | None:
    name = agent.get("name")
    return name if isinstance(name, str) else None


def _orders(node: object, what: str) -> dict[tuple[str, ...], list[str]]:
    if not isinstance(node, dict):
        raise CorruptAgentState(what, "'key_orders' is not a stored list")
    lists = _unstore(node, what)
    if not isinstance(lists, list):
        raise CorruptAgentState(what, "'key_orders' is not a list")
    out: dict[tuple[str, ...], list[str]] = {}
    for keys in lists:
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise CorruptAgentState(what, "'key_orders' holds something other than key lists")
        out[tuple(sorted(keys))] = keys
    return out


def _write(out: str | os.PathLike[str] | IO[bytes], data: bytes) -> None:
    if not isinstance(out, str | os.PathLike):
        out.write(data)
        return
    write_whole(Path(out), data)


def write_whole(
    path: Path, data: bytes, *, through: Callable[[BinaryIO], None] | None = None
) -> None:
    """``data`` into ``path``: a file is replaced whole (a temporary file renamed over it, see
    :func:`atomic_target`); a device, a pipe or a descriptor is written through, appended to,
    once ``through`` has looked at the open file (it may refuse it by raising). A write that
    fails is ``CannotWrite``, with nothing left behind but what a pipe already took."""
    try:
        planned = atomic_target(path)
    except OSError as e:  # a name too long to look at, a folder that cannot be searched
        raise CannotWrite.of(str(path), e) from None
    if planned is None:
        check_descriptor(path)
        # A device or a pipe (/dev/null, a FIFO, /dev/fd/N from `-o >(gzip)`) is written
        # through: renamed over, it would be replaced by a file (as root, /dev/null). Opened
        # to append, as a device or pipe takes it alike: /dev/stdout reopens the file behind
        # it, which O_TRUNC would empty under a shell's `>> log`.
        try:
            with path.open("ab") as f:
                if through is not None:
                    through(f)
                f.write(data)
        except OSError as e:
            raise CannotWrite.of(str(path), e) from None
        return
    target, mode = planned
    check_replaceable(target, str(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target, _MKSTEMP_RANDOM), dir=target.parent)
    except OSError as e:
        raise CannotWrite.of(str(path), e) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise CannotWrite.of(str(path), e) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# The random characters mkstemp puts after its prefix.
_MKSTEMP_RANDOM = 8


def temp_prefix(target: Path, extra: int) -> str:
    """``.NAME.``, the prefix of a temporary file beside ``target``, NAME cut (by bytes) so that
    the prefix and ``extra`` more bytes fit in a file name: a NAME of 246 to 255 bytes could
    not be written at all ("File name too long" for the temporary file)."""
    name = os.fsencode(target.name)
    try:
        limit = os.pathconf(target.parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    room = max(limit, 64) - (2 + extra)
    return "." + os.fsdecode(name[:room]) + "."


def atomic_target(path: Path) -> tuple[Path, int] | None:
    """The file an atomic write of ``path`` renames its temporary file to, and that file's mode.

    A symbolic link is written through (the file it names is replaced, the link stays); an
    existing file keeps its mode and a new one gets the umask's, as with a shell's ``>``
    (mkstemp's 0600 made every exported file private). None when ``path`` is a pipe or a
    device, which must be written through rather than replaced.
    """
    if _names_a_descriptor(path):
        # /dev/stdout (`-o /dev/stdout >> log`) resolves to the file behind the descriptor:
        # replaced, it would lose what the shell asked to append to.
        return None
    try:
        mode: int | None = path.stat().st_mode
    except OSError:
        mode = None  # missing (or unreadable): mkstemp or the rename says why
    # A directory goes on to the rename, which refuses it in the system's words.
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return None
    # Only now: /dev/fd/N links to "pipe:[...]", which no path reaches.
    real = Path(os.path.realpath(path)) if path.is_symlink() else path
    if mode is not None and stat.S_ISREG(mode):
        return real, stat.S_IMODE(mode)
    return real, _new_file_mode()


def check_replaceable(target: Path, shown: str) -> None:
    """Refuse to replace an existing file this process may not write (mode 0444, say).

    Renamed over, a read-only file was replaced as if it were writable: only its directory's
    permission counted. A shell's ``>`` opens the file, and so is refused; the file is opened
    for writing here too (not truncated, nothing written), so whatever the system says about
    it (modes, ACLs, the immutable attribute) is what decides.
    """
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return  # a new file: mkstemp or the rename says why it cannot be made
    except OSError as e:
        if e.errno == errno.EISDIR:
            return  # the rename refuses a directory in the system's words
        raise CannotWrite.of(shown, e) from None
    os.close(fd)


def check_descriptor(path: Path) -> None:
    """Refuse a path naming one of our descriptors that is not open for writing.

    On Linux, opening /dev/stdout (or /dev/fd/N) opens anew the file behind the descriptor:
    with stdout closed (``>&-``) that is the /dev/null the CLI puts on descriptor 1 (read-only,
    see ``mindgit.cli.output.guarded_stdout``), which took the bytes and said "wrote".
    """
    fd = _descriptor_number(path)
    if fd is None:
        return
    try:
        writable = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY
    except OSError:
        writable = False  # closed
    if writable:
        return
    name = {0: "standard input", 1: "standard output", 2: "standard error"}.get(fd)
    what = f"{name} is" if name else f"descriptor {fd} is"
    raise CannotWrite(
        str(path),
        f"{what} closed or not open for writing",
        hint=f"give the command {'somewhere' if name else 'a descriptor'} to write",
        error=errno.EBADF,
    )


def _descriptor_number(path: Path) -> int | None:
    """The descriptor of this process that ``path`` names, if it names one."""
    text = os.path.abspath(path)
    std = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}.get(text)
    if std is not None:
        return std
    match = _DESCRIPTOR_PATH.fullmatch(text)
    if match is None:
        return None
    owner = match.group(1)
    if owner is not None and owner.isdigit() and int(owner) != os.getpid():
        return None  # another process's descriptor: not ours to look at
    return int(match.group(2))


def _names_a_descriptor(path: Path) -> bool:
    """Whether ``path`` names an open descriptor (/dev/stdout, /dev/fd/N, /proc/self/fd/N)."""
    text = os.path.abspath(path)
    return text in ("/dev/stdin", "/dev/stdout", "/dev/stderr") or (
        _DESCRIPTOR_PATH.match(text) is not None
    )


_DESCRIPTOR_PATH = re.compile(r"/(?:dev|proc/(self|thread-self|\d+))/fd/(\d+)")


def _new_file_mode() -> int:
    return 0o666 & ~_umask()


def _umask() -> int:
    # Read, not set and set back: os.umask changes it for every thread of a library's caller.
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no /proc: the one way there is
    os.umask(mask)
    return mask


# -- describing ----------------------------------------------------------------------------------------


def describe(store: Store, rev: str) -> AgentSummary:
    """An imported agent's name, model, memories, tools, message count and genes."""
    loaded = _load(store, rev)
    agent = _unstore(loaded.agent_node, f"{rev} {DATA_AGENT}")
    if not isinstance(agent, dict):
        raise CorruptAgentState(f"{rev} {DATA_AGENT}", "is not an agent object")
    tools: Json = []
    if DATA_TOOLS in loaded.data:
        tools = _unstore(_decode_block(store, loaded.snap, loaded.data[DATA_TOOLS], rev), rev)
    rules: Json = None
    if DATA_RULES in loaded.data:
        rules = _unstore(_decode_block(store, loaded.snap, loaded.data[DATA_RULES], rev), rev)
    memories = []
    for name, cid in loaded.snap.state.memories:
        node = _decode_block(store, loaded.snap, cid, f"{rev} memory {name!r}")
        label = node.get("label")
        memories.append((name, label if isinstance(label, str) else name))
    llm = agent.get("llm_config")
    model = llm.get("model") if isinstance(llm, dict) else None
    return AgentSummary(
        name=_name(agent),
        layout=str(loaded.file["layout"]),
        agent_type=agent.get("agent_type") if isinstance(agent.get("agent_type"), str) else None,
        model=model if isinstance(model, str) else None,
        memories=tuple(memories),
        tools=tuple(tool_name(t) for t in tools) if isinstance(tools, list) else (),
        tool_rules=len(rules) if isinstance(rules, list) else 0,
        messages=_message_count(store, loaded),
        genes=tuple(loaded.snap.state.genome),
    )
