"""History blocks: a commit's place in an experiment's history, as an IPLD block IPFS can walk.

A git commit cannot travel into IPFS as it is: it names its tree and parents by SHA-1, and its
author line and signature belong to one node at one time. An export with ``--history`` therefore
gives every commit a small canonical DAG-JSON block instead::

    {"message": "think: the garden is quiet",
     "parents": [{"/": "<history CID of the first parent>"}, ...],
     "schema": 1,
     "state": {"/": "<manifest CID>"},
     "type": "mindgit-history"}

* ``state`` links the commit's state (its manifest), ``parents`` the parents' history blocks in
  the commit's parent order, so IPLD tools walk the whole history and every state from one CID.
* ``message`` is the commit message without its ``Mindgit-State`` trailer (a function of
  ``state``), so the history an import rebuilds reads as the original did. It is never empty:
  ``Store.write_commit`` refuses such a message, so a commit rebuilt from one could not be
  written (and one an older mindgit wrote has its trailer read as its message by git).
* No clock and no node id: the same history has the same CIDs whoever exports it and whenever,
  and a re-export of an imported history gives the very same blocks. Commit times, authors and
  SSH signatures are not carried: a signature covers the git commit's bytes, which an IPFS node
  never sees, so it could not be checked there. An import signs what it rebuilds with the
  importing node's key.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pygit2

from mindgit.errors import MindgitError
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, DAG_JSON
from mindgit.store import layout
from mindgit.store.objects import as_commit
from mindgit.store.state import Block
from mindgit.store.verify import STATE_TRAILER, walk

HISTORY_TYPE = "mindgit-history"
HISTORY_SCHEMA = 1
HISTORY_KEYS = frozenset({"message", "parents", "schema", "state", "type"})
MAX_MESSAGE_BYTES = 64 << 10
_TRAILER_LINE = re.compile(r"([A-Za-z0-9][A-Za-z0-9-]*): (.*)")


class HistoryFormatError(MindgitError):
    """A history block that does not follow the format above."""

    def __init__(self, cid: CID | None, problem: str) -> None:
        self.cid = cid
        self.problem = problem
        what = "history block" if cid is None else f"history block {cid}"
        super().__init__(
            f"{what}: {problem}",
            hint="the CAR was not written by `mindgit export --history`, or was changed since",
        )


class NotAStateCommit(MindgitError):
    """A commit in the history being exported holds no state (no manifest)."""

    def __init__(self, commit: str) -> None:
        self.commit = commit
        super().__init__(
            f"commit {commit} in this history holds no mindgit state, so it has no history block",
            hint="export without --history, or from an experiment whose every commit is a state",
        )


class UnportableCommit(MindgitError):
    """A commit in the history being exported has a message no history block can carry."""

    def __init__(self, commit: str, problem: str) -> None:
        self.commit = commit
        self.problem = problem
        super().__init__(
            f"commit {commit} in this history cannot be a history block: {problem}",
            hint="export without --history: the state itself travels",
        )


@dataclass(frozen=True, slots=True)
class HistoryBlock:
    """One commit's history block, as described in the module docstring."""

    state: CID
    parents: tuple[CID, ...]
    message: str

    def __post_init__(self) -> None:
        _check_fields(None, self.state, self.parents, self.message)

    def node(self) -> dict[str, dagjson.Node]:
        parents: list[dagjson.Node] = list(self.parents)
        return {
            "message": self.message,
            "parents": parents,
            "schema": HISTORY_SCHEMA,
            "state": self.state,
            "type": HISTORY_TYPE,
        }

    def encode(self) -> Block:
        return Block.encode(self.node())

    @classmethod
    def decode(cls, cid: CID, data: bytes) -> HistoryBlock:
        """Read a history block strictly: canonical DAG-JSON, exactly the keys above."""
        try:
            node = dagjson.decode(data)
        except dagjson.DagJsonError as error:
            raise HistoryFormatError(cid, str(error)) from None
        return cls.from_node(cid, node)

    @classmethod
    def from_node(cls, cid: CID, node: object) -> HistoryBlock:
        if not is_history_node(node):
            raise HistoryFormatError(cid, f'not a map with "type": "{HISTORY_TYPE}"')
        assert isinstance(node, dict)
        if set(node) != HISTORY_KEYS:
            missing = sorted(HISTORY_KEYS - set(node))
            extra = sorted(set(node) - HISTORY_KEYS)
            raise HistoryFormatError(cid, f"missing keys {missing}, unknown keys {extra}")
        schema = node["schema"]
        if type(schema) is not int or schema != HISTORY_SCHEMA:
            raise HistoryFormatError(cid, f"schema {schema!r} is not {HISTORY_SCHEMA}")
        parents, state, message = node["parents"], node["state"], node["message"]
        if not isinstance(parents, list):
            raise HistoryFormatError(cid, "'parents' is not a list")
        checked_state, links, checked_message = _check_fields(cid, state, parents, message)
        if checked_message.startswith("\n") or checked_message.endswith("\n"):
            # git drops a message's leading newlines and portable_message its trailing ones: the
            # commit an import rebuilt would export as another block, with another CID.
            raise HistoryFormatError(
                cid, "'message' starts or ends with a newline, which no exported commit has"
            )
        return cls(checked_state, links, checked_message)


def _check_fields(
    cid: CID | None, state: object, parents: Sequence[object], message: object
) -> tuple[CID, tuple[CID, ...], str]:
    if not isinstance(state, CID) or state.codec != DAG_JSON:
        raise HistoryFormatError(cid, "'state' is not a link to a DAG-JSON manifest")
    links: list[CID] = []
    for parent in parents:
        if not isinstance(parent, CID) or parent.codec != DAG_JSON:
            raise HistoryFormatError(cid, "'parents' holds something other than DAG-JSON links")
        links.append(parent)
    if len(set(links)) != len(links):
        raise HistoryFormatError(cid, "'parents' names the same parent twice")
    if not isinstance(message, str):
        raise HistoryFormatError(cid, "'message' is not a string")
    if not message.strip():
        # Store.write_commit refuses it: the commit an import rebuilt could not have the
        # message, and under an empty one its Mindgit-State trailer read as the message.
        raise HistoryFormatError(cid, "'message' is empty, and a commit needs one")
    if "\0" in message:
        raise HistoryFormatError(cid, "'message' holds a NUL character, which git cannot store")
    size = len(message.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise HistoryFormatError(
            cid, f"'message' is {size} bytes, over the {MAX_MESSAGE_BYTES}-byte limit"
        )
    return state, tuple(links), message


def read_tree(repo: pygit2.Repository, oid: pygit2.Oid, what: str) -> pygit2.Object:
    """The object a state's tree names as a subtree (the caller checks that it is a tree)."""
    try:
        return repo[oid]
    except KeyError:
        raise layout.lost(repo, what, oid) from None


_T = TypeVar("_T")
_OID = re.compile(r"\b[0-9a-f]{40}\b")


def naming_missing(commits: Iterator[_T], repo: pygit2.Repository) -> Iterator[_T]:
    """``commits`` (a walk of a history), with a commit it reaches but the store lacks named
    (libgit2's KeyError for it reached the CLI as an internal error, exit 3): as unreadable,
    the pack named, when a pack cut short holds it (:func:`layout.lost`)."""
    try:
        yield from commits
    except KeyError as error:
        # The revwalk's "object not found - no match for id (<id>)" names the lost commit.
        found = _OID.search(str(error))
        if found is None:
            raise layout.StateNotFound(
                "the history: object (unnamed) is missing (run `git fsck` on the store)"
            ) from None
        raise layout.lost(repo, "the history", pygit2.Oid(hex=found.group(0))) from None


def is_history_node(node: object) -> bool:
    """True for a decoded block that says it is a history block (checked further by decode)."""
    return isinstance(node, dict) and node.get("type") == HISTORY_TYPE


def portable_message(message: str) -> str:
    """A commit message without its ``Mindgit-State`` trailer and trailing newlines."""
    lines = message.rstrip("\n").split("\n")
    start = _last_paragraph(lines)
    kept = [line for line in lines[start:] if not line.startswith(STATE_TRAILER + ":")]
    if not any(line.strip() for line in kept):
        kept = []
    return "\n".join(lines[:start] + kept).rstrip("\n")


def split_trailers(message: str) -> tuple[str, dict[str, str]]:
    """``message`` as a body and its trailer paragraph (``Key: value`` lines), if it has one.

    The trailers are handed back to ``Store.write_commit``, which writes them (with the state's
    own trailer) as one paragraph again, so that ``portable_message`` of the rebuilt commit gives
    ``message`` back.
    """
    lines = message.split("\n")
    start = _last_paragraph(lines)
    body = "\n".join(lines[:start]).rstrip("\n")
    tail = lines[start:]
    if not body.strip() or not tail:
        # A body of blanks alone (' \n\nKey: v') is no message Store.write_commit writes: the
        # import failed on it (EmptyCommitMessage) after its pack was written. Whole, the
        # message is written as it is and reads back the same.
        return message, {}
    if message != body + "\n\n" + "\n".join(tail):
        # Written back, body and trailers are one empty line apart: a paragraph break of blank
        # spaces or of several lines would come back as another message, and history block.
        return message, {}
    trailers: dict[str, str] = {}
    for line in tail:
        match = _TRAILER_LINE.fullmatch(line)
        if (
            match is None
            or match.group(1) in trailers
            or match.group(2) != match.group(2).strip()
            # The commit's own trailer says its state; one carried over would say another.
            or match.group(1) == STATE_TRAILER
            # verify's trailer() reads lines as str.splitlines does: a '\r' or U+2028 inside a
            # value would start a line of its own there, such as a second Mindgit-State.
            or len(line.splitlines()) != 1
        ):
            return message, {}
        trailers[match.group(1)] = match.group(2)
    return body, trailers


def _last_paragraph(lines: list[str]) -> int:
    for i in range(len(lines) - 1, -1, -1):
        if not lines[i].strip():
            return i + 1
    return 0


@dataclass(frozen=True, slots=True)
class CommitHistory:
    """A state commit met while walking history, with its history block."""

    commit: str
    tree: pygit2.Tree
    manifest: CID
    manifest_blob: pygit2.Oid
    block: Block


def state_history(
    repo: pygit2.Repository, tips: Sequence[str], *, skip_non_states: bool = False
) -> Iterator[CommitHistory]:
    """Every commit reachable from ``tips``, parents first, each with its history block.

    A commit whose tree holds no manifest raises ``NotAStateCommit``, one whose manifest is not
    a regular file ``StateNotFound`` (as ``layout.read_state``), one whose message no history
    block can carry ``UnportableCommit``; with ``skip_non_states`` it and every commit
    descending from it are skipped instead (they have no history block).
    Memory grows with the number of commits (one CID each), not with the states' sizes.
    """
    manifests: dict[pygit2.Oid, CID] = {}
    history: dict[str, CID | None] = {}
    for oid in naming_missing(walk(repo, tips), repo):
        commit = as_commit(repo[oid])
        assert commit is not None
        tree = layout.commit_tree(repo, commit)
        parents = [history.get(str(p)) for p in commit.parent_ids]
        if layout.MANIFEST not in tree or any(p is None for p in parents):
            if not skip_non_states:
                raise NotAStateCommit(oid)
            history[oid] = None
            continue
        entry = tree[layout.MANIFEST]
        if entry.filemode != layout.BLOB:
            # read_state refuses such a manifest, so the commit has no state and no history
            # block: export refuses it as `show` does (a symlink's blob went out as the state,
            # a gitlink's absent commit was a missing object), and cat skips it.
            if not skip_non_states:
                raise layout.StateNotFound(
                    f"{layout.MANIFEST} in tree {tree.id} is not a regular file"
                )
            history[oid] = None
            continue
        manifest = manifests.get(entry.id)
        if manifest is None:
            manifest = CID.of(layout.blob(repo, entry.id, f"the manifest of commit {oid}"))
            manifests[entry.id] = manifest
        links = tuple(p for p in parents if p is not None)
        try:
            block = HistoryBlock(manifest, links, portable_message(commit.message)).encode()
        except HistoryFormatError as error:
            # A message over the size limit, or holding a NUL: the import's checks, which the
            # HistoryBlock applies, said "the CAR was not written by mindgit export" here.
            if not skip_non_states:
                raise UnportableCommit(oid, error.problem) from None
            # cat: such a commit has no history block, so none is the one asked for.
            history[oid] = None
            continue
        history[oid] = block.cid
        yield CommitHistory(oid, tree, manifest, entry.id, block)
