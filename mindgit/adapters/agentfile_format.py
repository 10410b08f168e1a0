"""Letta agent files as JSON: recognise the two layouts, check them, split them into parts per
agent, drop secrets, and put the parts back together.

Two layouts exist (both are "Agent File", ``.af``):

* **v2**, Letta's ``AgentFileSchema`` (Letta 0.11 and later): ``{"agents": [...], "blocks":
  [...], "tools": [...], "groups", "files", "sources", "mcp_servers", "metadata", "created_at"}``;
  agents name their memory blocks and tools by file-local ids (``block_ids``, ``tool_ids``).
* **v1**, the single-agent layout of Letta 0.6 to 0.10: one agent object with its blocks inline
  (``core_memory``), ``messages``, ``tools``, ``tool_rules`` and a Letta ``version`` ("0.6.47").

Nothing here touches the store; ``agentfile`` maps the parts onto states.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from mindgit.adapters.agentfile_json import AgentFileError, Json
from mindgit.errors import quoted

Layout = Literal["v1", "v2"]

_V1_VERSION = re.compile(r"0\.[0-9]+(\.[0-9]+)*([.+-]?[A-Za-z0-9.+-]*)?")
# Keys whose string value is a credential wherever it appears (compared lower-case, "-" as "_").
SECRET_NAMES = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "access_token",
        "auth_token",
        "bearer_token",
        "refresh_token",
        "session_token",
        "token",
        "password",
        "passwd",
        "secret",
        "secret_key",
        "client_secret",
        "private_key",
        "authorization",
        "aws_secret_access_key",
        "aws_session_token",
    }
)
# Fields that hold environment values or credentials as a whole (every string in them).
AGENT_SECRET_FIELDS = ("tool_exec_environment_variables", "secrets")
MCP_SECRET_FIELDS = ("token", "custom_headers", "auth_token")
# Letta's MCP server configs name the authentication header in ``auth_header`` ("Authorization")
# and hold its value in ``auth_token``: the name is kept, unless it is no header name at all (a
# credential typed there, "Bearer sk-...", holds a space; a whole "Name: value" line, a colon).
MCP_HEADER_NAME_FIELD = "auth_header"
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class NotAnAgentFile(AgentFileError):
    """JSON, but not a Letta agent file in either layout."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(
            source,
            f"not a Letta agent file ({reason})",
            hint="mindgit reads Letta .af files: {'agents': [...]} or a Letta 0.x agent object",
        )
        self.reason = reason


class UnknownFormatVersion(AgentFileError):
    """A layout mindgit recognises, with a version it does not know."""

    def __init__(self, source: str, version: object) -> None:
        super().__init__(
            source,
            f"unknown agent file format version {quoted(version)}",
            hint="mindgit reads Letta 0.x agent files and the AgentFileSchema layout (no version)",
        )
        self.version = version


class BlockWithoutLabel(AgentFileError):
    """A memory block with no label (or a label that is not a non-empty string)."""

    def __init__(self, source: str, where: str, label: object = None) -> None:
        # A label of another type (5, a list) is there, just not text: "has no label" sent
        # the reader looking for a missing key.
        said = "has no label" if label is None or label == "" else "has a label that is no text"
        super().__init__(source, f"{where} {said}", hint="give every memory block a label")
        self.where = where


class DuplicateLabel(AgentFileError):
    """Two memory blocks of one agent share a label."""

    def __init__(self, source: str, agent: str, label: str) -> None:
        super().__init__(
            source,
            f"agent {agent} has two memory blocks labelled {quoted(label)}",
            hint="rename one of them; a label names one block of an agent",
        )
        self.agent = agent
        self.label = label


class DanglingReference(AgentFileError):
    """An agent names a block or tool the file does not hold (or ids repeat)."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(source, problem)


@dataclass(frozen=True, slots=True)
class AgentParts:
    """One agent split into what mindgit keeps apart."""

    index: int
    agent: dict[str, Any]  # the agent object without the split keys
    split: tuple[str, ...]  # keys taken out of the agent that export puts back
    blocks: tuple[dict[str, Any], ...]  # memory blocks, in the agent's order
    messages: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...]
    tool_rules: Json = None  # meaningful when "tool_rules" is in split
    warnings: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        """The agent for an error: its name quoted and cut (one of 100 KB made a line as long)."""
        name = self.agent.get("name")
        return quoted(name) if isinstance(name, str) else f"#{self.index + 1}"

    @property
    def subject_name(self) -> str:
        """The agent for its import's commit subject, which cuts it (at 100 characters)."""
        name = self.agent.get("name")
        return repr(name) if isinstance(name, str) else f"#{self.index + 1}"


@dataclass(frozen=True, slots=True)
class FileParts:
    """An agent file split into its agents and what belongs to the file as a whole."""

    layout: Layout
    envelope: dict[str, Any]  # file-level JSON without agents; blocks/tools: orphans only
    split: tuple[str, ...]  # file-level keys export rebuilds ("agents", "blocks", "tools")
    order: dict[str, list[str]] = field(default_factory=dict)  # ids of blocks/tools, file order
    agents: tuple[AgentParts, ...] = ()
    warnings: tuple[str, ...] = ()


def split_file(value: Json, source: str) -> FileParts:
    """Check an agent file's JSON and split it; secrets are blanked (:func:`scrub_file`)."""
    if not isinstance(value, dict):
        # JSON's own words: Python's ("a JSON NoneType", "a JSON int") are not the user's.
        kind = {str: "a string", list: "a list", bool: "a boolean", type(None): "null"}.get(
            type(value), "a number"
        )
        if isinstance(value, str) and value.strip()[:1] in ("{", "[", '"'):
            # parse_document unwraps a document encoded as a JSON string twice at most.
            kind = "a JSON string of JSON still, encoded more times than the two mindgit unwraps"
        raise NotAnAgentFile(source, f"the document is {kind}, not an object")
    if "agents" in value:
        return _split_v2(value, source)
    if "core_memory" in value or ("llm_config" in value and "messages" in value):
        return _split_v1(value, source)
    raise NotAnAgentFile(source, "no 'agents' list and no 'core_memory'")


def _list_of_maps(value: object, source: str, what: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise NotAnAgentFile(source, f"{what} is not a list of objects")
    return value


def _ids(value: object, source: str, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise NotAnAgentFile(source, f"{what} is not a list of ids")
    return value


def _check_label(block: dict[str, Any], source: str, where: str) -> str:
    label = block.get("label")
    if not isinstance(label, str) or not label:
        raise BlockWithoutLabel(source, where, label)
    return label


def _split_v2(value: dict[str, Any], source: str) -> FileParts:
    for key in ("version", "schema_version", "format_version"):
        if key in value:
            raise UnknownFormatVersion(source, value[key])
    agents = value["agents"]
    if not isinstance(agents, list) or not agents:
        raise NotAnAgentFile(source, "'agents' is not a non-empty list")
    agents = _list_of_maps(agents, source, "'agents'")
    file_warnings = scrub_file(value)
    split = ["agents"]
    pools: dict[str, dict[str, dict[str, Any]]] = {}
    order: dict[str, list[str]] = {}
    for kind in ("blocks", "tools"):
        items = value.get(kind)
        pool: dict[str, dict[str, Any]] = {}
        if isinstance(items, list):
            for n, item in enumerate(_list_of_maps(items, source, f"'{kind}'")):
                ident = item.get("id")
                what = f"{kind[:-1]} #{n + 1}"
                if not isinstance(ident, str) or ident in pool:
                    # Said as it is: "missing or repeated" of an id 5 sent the reader looking
                    # for a block with no id, or for another with the same one.
                    if ident is None:
                        said = "has no 'id'"
                    elif not isinstance(ident, str):
                        said = f"has an 'id' that is no text ({quoted(ident)})"
                    else:
                        said = f"repeats the id {quoted(ident)} of an earlier {kind[:-1]}"
                    raise DanglingReference(source, f"{what} {said}")
                if kind == "blocks":
                    _check_label(item, source, f"{what} (id {ident})")
                pool[ident] = item
            split.append(kind)
            order[kind] = list(pool)
        elif items is not None:
            raise NotAnAgentFile(source, f"'{kind}' is not a list")
        pools[kind] = pool
    used: dict[str, set[str]] = {"blocks": set(), "tools": set()}
    agent_ids: set[str] = set()
    parts = []
    for index, agent in enumerate(agents):
        if agent.get("id") is not None:
            # Export writes the agents back by id (and Letta loads them so): one id, one agent.
            ident = json.dumps(agent["id"], sort_keys=True)
            if ident in agent_ids:
                raise DanglingReference(
                    source,
                    f"agent #{index + 1} repeats the id {quoted(agent['id'])} of an earlier agent",
                )
            agent_ids.add(ident)
        agent_warnings = scrub_agent(agent, f"agent #{index + 1}")
        block_ids = _ids(agent.get("block_ids"), source, f"agent #{index + 1} 'block_ids'")
        tool_ids = _ids(agent.get("tool_ids"), source, f"agent #{index + 1} 'tool_ids'")
        for kind, ids in (("blocks", block_ids), ("tools", tool_ids)):
            for ident in ids:
                if ident not in pools[kind]:
                    raise DanglingReference(
                        source,
                        f"agent #{index + 1} names {kind[:-1]} {quoted(ident)}, which the file "
                        "lacks",
                    )
            used[kind].update(ids)
        named: set[str] = set()
        for ident in block_ids:  # a set: a scan of the list before each id was quadratic
            if ident in named:
                # Said so, rather than as two blocks with one label (it is one block).
                raise DanglingReference(
                    source, f"agent #{index + 1} names block {quoted(ident)} twice in 'block_ids'"
                )
            named.add(ident)
        blocks = [pools["blocks"][i] for i in block_ids]
        _check_unique_labels(blocks, source, f"#{index + 1}")
        tools = [pools["tools"][i] for i in tool_ids]
        parts.append(
            _agent_parts(index, agent, blocks, tools, ["block_ids"], agent_warnings, source)
        )
    envelope = {k: v for k, v in value.items() if k != "agents"}
    for kind in split[1:]:
        # Orphans (blocks and tools no agent names) stay with the file.
        envelope[kind] = [item for i, item in pools[kind].items() if i not in used[kind]]
    return FileParts("v2", envelope, tuple(split), order, tuple(parts), tuple(file_warnings))


def _check_unique_labels(blocks: Sequence[dict[str, Any]], source: str, agent: str) -> None:
    seen: set[str] = set()
    for block in blocks:
        label = block["label"]
        if label in seen:
            raise DuplicateLabel(source, agent, label)
        seen.add(label)


def _agent_parts(
    index: int,
    agent: dict[str, Any],
    blocks: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    also_split: list[str],
    warnings: list[str],
    source: str,
) -> AgentParts:
    where = f"agent #{index + 1}"
    split = [k for k in also_split if isinstance(agent.get(k), list)]
    messages: list[dict[str, Any]] = []
    if isinstance(agent.get("messages"), list):
        messages = _list_of_maps(agent["messages"], source, f"{where} 'messages'")
        split.append("messages")
    elif agent.get("messages") is not None:
        raise NotAnAgentFile(source, f"{where} 'messages' is not a list")
    if "tool_rules" in agent:
        split.append("tool_rules")
    rest = {k: v for k, v in agent.items() if k not in split}
    return AgentParts(
        index,
        rest,
        tuple(split),
        tuple(blocks),
        tuple(messages),
        tuple(tools),
        agent.get("tool_rules"),
        tuple(warnings),
    )


def _split_v1(value: dict[str, Any], source: str) -> FileParts:
    version = value.get("version")
    if not isinstance(version, str) or not _V1_VERSION.fullmatch(version):
        raise UnknownFormatVersion(source, version)
    warnings = scrub_file(value) + scrub_agent(value, "the agent")
    blocks = _list_of_maps(value.get("core_memory"), source, "'core_memory'")
    for n, block in enumerate(blocks):
        _check_label(block, source, f"core_memory block #{n + 1}")
    _check_unique_labels(blocks, source, repr(value.get("name")))
    tools = _list_of_maps(value.get("tools"), source, "'tools'")
    parts = _agent_parts(0, value, blocks, tools, ["core_memory", "tools"], warnings, source)
    return FileParts("v1", {}, (), {}, (parts,), ())


# -- secrets -------------------------------------------------------------------------------------


def _is_secret(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _blank(value: Json) -> Json:
    """The same shape with every string emptied."""
    if isinstance(value, str):
        return ""
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v) for v in value]
    return value


def _holds_secret(value: Json) -> bool:
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    return _is_secret(value)


def scrub_agent(agent: dict[str, Any], where: str) -> list[str]:
    """Empty the agent's environment values and secrets in place; say which were dropped.

    Letta itself exports these fields with empty values; a file that carries real values had
    them added by hand, and mindgit must not commit them.
    """
    warnings = []
    for name in AGENT_SECRET_FIELDS:
        holder = agent.get(name)
        if isinstance(holder, dict):
            for key, value in holder.items():
                if _holds_secret(value):
                    holder[key] = _blank(value)
                    warnings.append(_dropped(where, f"{name}[{quoted(key)}]"))
        elif isinstance(holder, list):
            for n, entry in enumerate(holder):
                if isinstance(entry, dict) and _holds_secret(entry.get("value")):
                    key = entry.get("key", n)
                    entry["value"] = _blank(entry["value"])
                    warnings.append(_dropped(where, f"{name}[{quoted(key)}]"))
    return warnings


def scrub_file(value: dict[str, Any]) -> list[str]:
    """Empty MCP server credentials and every string under a credential-named key, in place."""
    warnings = []
    servers = value.get("mcp_servers")
    for n, server in enumerate(servers if isinstance(servers, list) else []):
        if not isinstance(server, dict):
            continue
        where = f"mcp server #{n + 1}"
        for name in MCP_SECRET_FIELDS:
            if _holds_secret(server.get(name)):
                server[name] = _blank(server[name])
                warnings.append(_dropped(where, name))
        header = server.get(MCP_HEADER_NAME_FIELD)
        if _holds_secret(header) and not (
            isinstance(header, str) and _HEADER_NAME.fullmatch(header)
        ):
            server[MCP_HEADER_NAME_FIELD] = _blank(header)
            warnings.append(_dropped(where, MCP_HEADER_NAME_FIELD))
        stdio = server.get("stdio_config")
        if isinstance(stdio, dict) and _holds_secret(stdio.get("env")):
            stdio["env"] = _blank(stdio["env"])
            warnings.append(_dropped(where, "stdio_config.env"))
    stack: list[tuple[Json, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                word = shown_word(key)  # a key not a plain word is quoted: x['a b'].api_key
                plain = f"{path}.{key}" if path else key
                here = plain if word == key else f"{path}[{word}]"
                if key.lower().replace("-", "_") in SECRET_NAMES and _is_secret(child):
                    item[key] = ""
                    warnings.append(_dropped("the file", here))
                else:
                    stack.append((child, here))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{n}]") for n, child in enumerate(item))
    return warnings


_WORD = re.compile(r"[A-Za-z0-9_.:@+-]{1,80}")


def shown_word(text: str) -> str:
    """A key or id of the file for a warning: as it is when it is a plain word (``api_key``,
    ``agent-0``), else quoted and cut (:func:`quoted`): a key or id
    holding a newline printed a line of the file's choosing ('mindgit: error: ...') after a
    command that succeeded, and one of 100 KB a line as long."""
    if _WORD.fullmatch(text):
        return text
    return quoted(text)


def _dropped(where: str, what: str) -> str:
    return (
        f"{where}: dropped the value of secret {what} (not committed; the exported file has it "
        "empty, set it again where the agent runs)"
    )


# -- putting files back together -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentOut:
    """One agent read back from a state, ready to be written into a file."""

    agent: dict[str, Any]  # complete agent object (v1: the whole file)
    blocks: tuple[dict[str, Any], ...]  # v2: memory blocks, each with its id
    tools: tuple[dict[str, Any], ...]  # v2: tools
    # The file the agent was imported from (export gives its af.file CID): block ids are
    # file-local, so "block-1" of two files is two blocks, even when they read the same.
    origin: str = ""


def assemble_v2(
    envelope: dict[str, Any],
    split: Sequence[str],
    order: dict[str, list[str]],
    agents: Sequence[AgentOut],
    absent: Collection[str] = (),
) -> tuple[dict[str, Any], list[str]]:
    """The file's JSON from its envelope and its agents, and warnings about what was left out.

    ``absent`` names agents of the imported file that are not exported: groups naming one of
    them are left out (Letta would refuse them). A group kept whose ``shared_block_ids`` names a
    block of the imported file (``order``) that no exported agent holds, and so is not written,
    loses that id: the file would name a block it lacks, which Letta's import passes over
    without a word (the shared memory silently lost). Ids the imported file did not hold either
    are kept as imported.

    Ids of blocks and tools stay unique: when two agents carry different content under one id
    (a shared block edited in one experiment), the later one gets a fresh id and its agent's
    ``block_ids``/``tool_ids`` follow. Block ids are their file's (``AgentOut.origin``): a
    block of another file than the first agent's (the envelope's) is another block even when
    it reads the same, and gets a fresh id when that file's id is taken or named by the
    envelope's file, whose agents keep theirs (its groups' ``shared_block_ids`` name them).
    Agents of one file that share a block still share it under its new id.
    """
    top = {k: v for k, v in envelope.items() if k not in ("blocks", "tools")}
    out_agents = [dict(a.agent) for a in agents]
    top["agents"] = out_agents
    home = agents[0].origin if agents else ""
    written: set[str] = set()  # the ids of the blocks the file holds
    for kind, ref in (("blocks", "block_ids"), ("tools", "tool_ids")):
        # Blocks are the agents' own files', by id; tools are taken as one when they are equal
        # (a tool of two files is the same tool), as they always were.
        by_file = kind == "blocks"
        orphans = envelope.get(kind) if kind in split else None
        chosen: dict[str, dict[str, Any]] = {}
        for item in orphans if isinstance(orphans, list) else []:
            chosen.setdefault(str(item.get("id")), item)
        # The first copy of each (file, id) placed, and the id it was given.
        first: dict[tuple[str, str], tuple[dict[str, Any], str]] = {
            (home, ident): (item, ident) for ident, item in chosen.items()
        }
        # The ids the envelope's file knows are its own: its groups' shared_block_ids name them
        # (another file's "block-1" took the id when its agent came first, and a group of the
        # first REV's file named that file's block).
        reserved = set(order.get(kind, [])) if by_file else set()
        taken = (
            set(chosen)
            | reserved
            | {
                it["id"]
                for a in agents
                for it in (a.blocks if kind == "blocks" else a.tools)
                if isinstance(it.get("id"), str)
            }
        )
        finals: list[list[str]] = [[] for _ in agents]
        renames: list[dict[str, str]] = [{} for _ in agents]
        # The envelope's file's agents place theirs first, so that they keep their ids.
        turns = sorted(range(len(agents)), key=lambda n: by_file and agents[n].origin != home)
        for n in turns:
            a = agents[n]
            origin = a.origin if by_file else home
            for item in a.blocks if kind == "blocks" else a.tools:
                ident = item.get("id")
                if isinstance(ident, str):
                    seen = first.get((origin, ident))
                    if seen is not None and seen[0] == item:
                        final = seen[1]  # one block, which several agents of its file share
                    elif (
                        seen is None
                        and ident not in chosen
                        and (origin == home or ident not in reserved)
                    ):
                        final = ident
                    else:
                        final = _fresh_id(kind[:-1], taken)
                    first.setdefault((origin, ident), (item, final))
                    if final != ident:
                        renames[n][ident] = final
                else:
                    final = _fresh_id(kind[:-1], taken)
                if final != ident:
                    item = {**item, "id": final}
                chosen.setdefault(final, item)
                finals[n].append(final)
        for agent, ids, renamed in zip(out_agents, finals, renames, strict=True):
            if kind == "blocks" and (isinstance(agent.get(ref), list) or ids):
                # An agent's blocks are its memories, in the order the state keeps them.
                agent[ref] = ids
            elif renamed and isinstance(agent.get(ref), list):
                agent[ref] = [renamed.get(i, i) for i in agent[ref]]
        if kind == "blocks":
            written = set(chosen)
        if kind in split or chosen:
            rank = {ident: n for n, ident in enumerate(order.get(kind, []))}
            top[kind] = sorted(
                chosen.values(), key=lambda it: rank.get(str(it.get("id")), len(rank))
            )
        elif kind in envelope:
            top[kind] = envelope[kind]
    warnings = []
    groups = top.get("groups")
    if absent and isinstance(groups, list):
        kept = []
        for group in groups:
            missing = sorted(_group_agents(group) & set(absent))
            if missing:
                warnings.append(
                    f"group {quoted(group.get('id'))} left out: it names agent(s) not exported "
                    f"({', '.join(map(shown_word, missing))})"
                )
            else:
                kept.append(group)
        top["groups"] = kept
    if isinstance(top.get("groups"), list):
        lost = set(order.get("blocks", [])) - written
        top["groups"] = [_without_blocks(g, lost, warnings) for g in top["groups"]]
    return top, warnings


def _without_blocks(group: object, lost: set[str], warnings: list[str]) -> object:
    """``group`` without the ids in ``lost`` among its ``shared_block_ids`` (the same object
    when it names none of them), and a warning naming them."""
    shared = group.get("shared_block_ids") if isinstance(group, dict) else None
    if not isinstance(group, dict) or not isinstance(shared, list):
        return group
    gone = [i for i in shared if isinstance(i, str) and i in lost]
    if not gone:
        return group
    kept = [i for i in shared if i not in gone]
    warnings.append(
        f"group {quoted(group.get('id'))} no longer shares block(s) "
        f"{', '.join(map(shown_word, gone))}: no agent "
        "exported holds them, so the file does not either (export the agents that hold them "
        "too to keep them shared)"
    )
    return {**group, "shared_block_ids": kept}


def _group_agents(group: object) -> set[str]:
    if not isinstance(group, dict):
        return set()
    names = group.get("agent_ids")
    found = {a for a in names if isinstance(a, str)} if isinstance(names, list) else set()
    config = group.get("manager_config")
    manager = config.get("manager_agent_id") if isinstance(config, dict) else None
    return found | ({manager} if isinstance(manager, str) else set())


def _fresh_id(prefix: str, taken: set[str]) -> str:
    n = 0
    while f"{prefix}-{n}" in taken:
        n += 1
    taken.add(f"{prefix}-{n}")
    return f"{prefix}-{n}"
