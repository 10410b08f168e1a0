"""A state: one snapshot of a mind, as IPLD blocks.

A state is a manifest block that links its thoughts. Both are canonical DAG-JSON; each block is
named by the CIDv1 of its exact bytes. The manifest holds only content (no clock, no node id), so
the same genome and thoughts give the same manifest CID on every node.

Manifest (schema 1)::

    {"genome": {<name>: <gene>}, "schema": 1, "thoughts": [{"/": "<cid>"}, ...]}

plus, only when non-empty, ``"memories": {<name>: <link>}`` (named, editable memories: an edit
is a new block, so history shows each version) and ``"data": {<name>: <link>}`` (opaque
canonical blocks an adapter keeps, e.g. an agent file's tools).

``thoughts`` is a set: links sorted by CID string, no repeats. A thought is a map with a
``type``; a plain note is ``{"tags": [...], "text": "...", "type": "note"}``. Other thought
types are checked by the module named for them in ``THOUGHT_CHECKS``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mindgit.errors import MindgitError, quoted
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, DAG_JSON, SHA2_256
from mindgit.store.genome import Gene, Genome, GenomeError

SCHEMA_VERSION = 1
MANIFEST_KEYS = frozenset({"schema", "genome", "thoughts"})
OPTIONAL_KEYS = frozenset({"memories", "data"})
MAX_THOUGHT_BYTES = 1 << 20
_BLOCK_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}")

# Thought type -> "module:function" that checks the decoded map and raises SchemaError.
# Modules are imported only when a thought of their type is met.
THOUGHT_CHECKS: dict[str, str] = {
    "note": "mindgit.store.state:check_note",
    "sealed": "mindgit.store.sealed:check_sealed",
    "message": "mindgit.store.agent_schema:check_message",
}


class SchemaError(MindgitError):
    """A manifest or thought does not follow the state schema."""

    def __init__(self, what: str, problem: str) -> None:
        super().__init__(f"{what}: {problem}")
        self.what = what
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Block:
    """Exact bytes and the CID naming them."""

    cid: CID
    data: bytes

    @classmethod
    def encode(cls, node: dagjson.Node) -> Block:
        data = dagjson.encode(node)
        return cls(CID.of(data), data)


def one_or_many(texts: Iterable[str]) -> list[str]:
    """``texts`` as a list, a single str as one text (a str is an iterable of its letters)."""
    return [texts] if isinstance(texts, str) else list(texts)


def make_thought(text: str, tags: Iterable[str] = ()) -> Block:
    """A note thought. Tags are a set: sorted, without repeats. A single str is one tag:
    ``tags="idea"`` was read as the tags 'a', 'd', 'e' and 'i'."""
    if not isinstance(text, str) or not text.strip():
        raise SchemaError("thought", "the text must be a non-empty string")
    tag_names = sorted(set(one_or_many(tags)))
    for tag in tag_names:
        # A tag is a label to show and to match on: a newline or an escape code in one can be
        # neither shown as itself nor typed back. Only new thoughts are held to this; check_note
        # reads stored ones as they are, so history written before still verifies.
        if not tag or tag != tag.strip() or len(tag) > 128 or not tag.isprintable():
            raise SchemaError(
                "thought", f"bad tag {quoted(tag)}: 1-128 printable characters, no outer spaces"
            )
    tag_list: list[dagjson.Node] = list(tag_names)
    block = Block.encode({"tags": tag_list, "text": text, "type": "note"})
    if len(block.data) > MAX_THOUGHT_BYTES:
        raise SchemaError(
            "thought", f"{len(block.data)} bytes is over the {MAX_THOUGHT_BYTES} limit"
        )
    return block


def check_thought(cid: CID, data: bytes) -> dict[str, Any]:
    """Decode a thought block strictly and check its schema; return its map."""
    where = f"thought {cid}"
    if len(data) > MAX_THOUGHT_BYTES:
        raise SchemaError(where, f"{len(data)} bytes is over the {MAX_THOUGHT_BYTES} limit")
    try:
        node = dagjson.decode(data)
    except MindgitError as e:
        raise SchemaError(where, str(e)) from None
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        raise SchemaError(where, "a thought is a map with a string 'type'")
    _thought_checker(where, str(node["type"]))(where, node)
    return node


# Each thought type's check once found, by its THOUGHT_CHECKS spec: checking 50,000 thoughts
# (show, verify) spent ~0.2 s importing the module again per thought.
_CHECKS_FOUND: dict[str, Callable[[str, dict[str, Any]], None]] = {}


def _thought_checker(where: str, kind: str) -> Callable[[str, dict[str, Any]], None]:
    spec = THOUGHT_CHECKS.get(kind)
    if spec is None:
        raise SchemaError(where, f"unknown thought type {quoted(kind)}")
    found = _CHECKS_FOUND.get(spec)
    if found is not None:
        return found
    module, _, func = spec.partition(":")
    try:
        check: Callable[[str, dict[str, Any]], None] = getattr(
            importlib.import_module(module), func
        )
    except (ImportError, AttributeError):
        raise SchemaError(
            where, f"thought type {quoted(kind)} is not supported by this mindgit"
        ) from None
    _CHECKS_FOUND[spec] = check
    return check


def check_note(where: str, node: dict[str, Any]) -> None:
    """A note has exactly a text and a sorted, unique list of string tags."""
    if set(node) != {"tags", "text", "type"}:
        raise SchemaError(where, "a note has exactly 'tags', 'text' and 'type'")
    tags = node["tags"]
    if not isinstance(node["text"], str) or not isinstance(tags, list):
        raise SchemaError(where, "a note's text is a string and its tags a list")
    if not all(isinstance(t, str) for t in tags) or tags != sorted({str(t) for t in tags}):
        raise SchemaError(where, "a note's tags are sorted, unique strings")


@dataclass(frozen=True, slots=True)
class State:
    """A mind state: a genome and a set of thoughts (by CID, with their bytes when known)."""

    genome: Genome = field(default_factory=Genome)
    thoughts: frozenset[CID] = frozenset()
    memories: tuple[tuple[str, CID], ...] = ()  # sorted by name
    data: tuple[tuple[str, CID], ...] = ()  # sorted by name

    def __post_init__(self) -> None:
        for attr in ("memories", "data"):
            pairs = getattr(self, attr)
            if pairs == ():
                continue  # most states have neither (and a Mapping check is an ABC call)
            if isinstance(pairs, Mapping):
                pairs = tuple(pairs.items())
            object.__setattr__(self, attr, tuple(sorted(pairs)))

    def manifest(self) -> Block:
        """The manifest block: canonical bytes and CID."""
        links: list[dagjson.Node] = list(sorted(self.thoughts, key=str))
        node: dict[str, dagjson.Node] = {
            "genome": self.genome.to_node(),
            "schema": SCHEMA_VERSION,
            "thoughts": links,
        }
        if self.memories:
            node["memories"] = dict(self.memories)
        if self.data:
            node["data"] = dict(self.data)
        return Block.encode(node)

    @property
    def blocks(self) -> frozenset[CID]:
        """Every linked block other than thoughts (memories and data)."""
        return frozenset(c for _, c in self.memories) | frozenset(c for _, c in self.data)

    def memory(self, name: str) -> CID:
        for n, c in self.memories:
            if n == name:
                return c
        raise KeyError(name)

    def with_genome(self, genome: Genome) -> State:
        return State(genome, self.thoughts, self.memories, self.data)

    def with_thoughts(self, thoughts: Iterable[CID]) -> State:
        return State(self.genome, frozenset(thoughts), self.memories, self.data)

    def with_memories(self, memories: Mapping[str, CID]) -> State:
        for name in memories:
            check_block_name("memory", name)
        return State(self.genome, self.thoughts, tuple(memories.items()), self.data)

    def with_data(self, data: Mapping[str, CID]) -> State:
        for name in data:
            check_block_name("data", name)
        return State(self.genome, self.thoughts, self.memories, tuple(data.items()))


def check_block_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not _BLOCK_NAME.fullmatch(name):
        raise SchemaError(
            f"{kind} {quoted(name)}",
            "a name is 1-128 of [A-Za-z0-9_.:-], not starting with . : or -",
        )
    return name


def parse_manifest(data: bytes, cid: CID | None = None) -> State:
    """Decode manifest bytes strictly (canonical DAG-JSON, schema 1) into a :class:`State`."""
    where = f"manifest {cid}" if cid is not None else "manifest"
    try:
        node = dagjson.decode(data)
    except MindgitError as e:
        raise SchemaError(where, str(e)) from None
    return state_from_node(node, where)


def check_genome_node(node: object, where: str = "manifest") -> Genome:
    """The genome a manifest's ``genome`` value holds, if it is valid and canonically spelled."""
    try:
        genome = Genome.from_node(node)
    except GenomeError as e:
        raise SchemaError(where, str(e)) from None
    # One state, one manifest: a gene spelled otherwise than the genome writes it (a null bound,
    # say) would give the same state a second CID.
    if node != genome.to_node():
        raise SchemaError(where, "the genome is not written in its canonical form")
    return genome


@dataclass(frozen=True, slots=True)
class Links:
    """Where a manifest's thought links are spelled in a splice's suffix: the list's body starts
    at ``at``; ``starts`` are each link's offsets in that body and ``texts`` their CID texts, in
    manifest order (sorted)."""

    at: int
    starts: tuple[int, ...]
    texts: tuple[str, ...]

    @classmethod
    def find(cls, suffix: bytes, thoughts: frozenset[CID]) -> Links | None:
        """The links of a valid manifest whose suffix is ``suffix``; None if not found there."""
        texts = sorted(str(c) for c in thoughts)
        links = [b'{"/":"' + t.encode("ascii") + b'"}' for t in texts]
        body = b",".join(links)
        if not suffix.endswith(b'"thoughts":[' + body + b"]}"):
            return None
        starts, at = [], 0
        for link in links:
            starts.append(at)
            at += len(link) + 1
        return cls(len(suffix) - 2 - len(body), tuple(starts), tuple(texts))


_ONE_LINK = re.compile(rb'\{"/":"([0-9A-Za-z]{1,256})"\}')


@dataclass(frozen=True, slots=True)
class GenomeSplice:
    """A valid manifest cut around its genome value: ``prefix + <genome> + suffix``.

    A manifest with the same prefix and suffix differs from it in the genome only. Its middle is
    one complete DAG-JSON value sitting exactly where the genome value sits (JSON's grammar
    allows no other reading), and a map is canonical when each value is, so when the middle
    alone decodes strictly, the manifest is valid exactly when that value is a valid, canonical
    genome. Its links are then those of the manifest the splice was cut from. A middle that is
    not one value (it may hold more keys) is left to the full parse.

    The same holds one level down: ``genes`` says where each gene's map sits in ``genome`` (the
    genome's bytes), so a genome that keeps every byte outside one gene's map differs in that
    gene only, and is valid exactly when that gene is (genes are checked one by one, and the
    keys and their order are unchanged).

    And for thoughts (``links``): a manifest with the same prefix and genome whose suffix is this
    one with one canonical link spelled into the thoughts list, between two links (or at an
    end), differs by that thought; it is valid exactly when the link's text sorts strictly
    between its neighbours'. One whose suffix is this one without one link is valid: what is
    left of a sorted list without repeats is one.
    """

    prefix: bytes
    suffix: bytes
    state: State
    genome: bytes = b""
    genes: tuple[tuple[int, int], ...] = ()  # (start, end) of each gene's map in ``genome``
    links: Links | None = None

    @classmethod
    def parse(cls, data: bytes, cid: CID | None = None) -> tuple[State, GenomeSplice | None]:
        """``parse_manifest(data, cid)`` and the splice cut from ``data`` (None if it cannot be)."""
        state = parse_manifest(data, cid)
        head: dict[str, dagjson.Node] = {}
        if state.data:
            head["data"] = dict(state.data)
        # parse_manifest decoded strictly, so data is the canonical spelling of its map: the keys
        # before "genome" (only "data" sorts before it) spell exactly this prefix. The genome is
        # a map, whose extent is fixed by its first byte, so its spelling found right after the
        # prefix is the whole genome value.
        prefix = dagjson.encode(head)[:-1] + (b',"genome":' if head else b'"genome":')
        genome = dagjson.encode(state.genome.to_node())
        if not data.startswith(prefix + genome):
            return state, None
        suffix = data[len(prefix) + len(genome) :]
        return state, cls._cut(prefix, suffix, state, genome, Links.find(suffix, state.thoughts))

    @classmethod
    def _cut(
        cls, prefix: bytes, suffix: bytes, state: State, genome: bytes, links: Links | None
    ) -> GenomeSplice:
        # Each gene's map is found by spelling it alone; the spans are kept only if the pieces
        # spell ``genome`` exactly, so they never point anywhere but at a gene's whole map.
        spans: list[tuple[int, int]] = []
        pieces = [b"{"]
        at = 1
        for gene in state.genome.genes:
            key = dagjson.encode(gene.name) + b":"
            value = dagjson.encode(gene.to_node())
            if spans:
                key = b"," + key
            at += len(key)
            spans.append((at, at + len(value)))
            at += len(value)
            pieces += (key, value)
        pieces.append(b"}")
        genes = tuple(spans) if b"".join(pieces) == genome else ()
        return cls(prefix, suffix, state, genome, genes, links)

    def match(self, data: bytes, where: str = "manifest") -> State | None:
        """The state ``data`` holds if it differs from the splice's manifest in the genome only
        (or by one added thought); None if it may differ otherwise. Raises SchemaError if it
        holds an invalid genome."""
        follow = self.follow(data, where)
        return None if follow is None else follow.state

    def follow(self, data: bytes, where: str = "manifest") -> GenomeSplice | None:
        """:meth:`match`, as the splice cut from ``data`` (so a chain of gene changes and added
        thoughts is checked one change at a time); None if ``data`` may differ otherwise."""
        prefix, suffix = self.prefix, self.suffix
        if not data.startswith(prefix):
            return None
        if len(data) > len(prefix) + len(suffix) and data.endswith(suffix):
            return self._genome(data[len(prefix) : len(data) - len(suffix)], where)
        links = self.links
        if links is None:
            return None
        # One thought added, the genome maybe changed too: each change is checked on its own.
        # Any cut passing both checks proves the whole, so a wrong cut only costs a full parse.
        at = data.rfind(suffix[: links.at])
        if at <= len(prefix):
            return None
        try:
            head = self._genome(data[len(prefix) : at], where)
        except SchemaError:
            return None  # the full parse names what is wrong
        return None if head is None else head._one_link(data[at:])

    def _genome(self, middle: bytes, where: str) -> GenomeSplice | None:
        """The splice for a manifest whose genome is spelled ``middle`` and the rest as here."""
        if middle == self.genome:
            return self
        one = self._one_gene(middle)
        if one is not None:
            return one
        try:
            node = dagjson.decode(middle)
        except MindgitError:
            # Not one value: the middle may span more keys (a "memories" map added after the
            # genome, say), which only the full parse can judge.
            return None
        state = self.state.with_genome(check_genome_node(node, where))
        return self._cut(self.prefix, self.suffix, state, middle, self.links)

    def _one_gene(self, middle: bytes) -> GenomeSplice | None:
        """The splice for ``middle`` if it differs from ``genome`` inside one gene's map and that
        gene is valid and canonical; None whenever that cannot be shown (the caller then checks
        the whole genome, which also names what is wrong)."""
        old, spans = self.genome, self.genes
        if not spans:
            return None
        # The last gene whose map starts where middle still agrees with the old genome.
        lo, hi = 0, len(spans) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if middle.startswith(old[: spans[mid][0]]):
                lo = mid
            else:
                hi = mid - 1
        start, end = spans[lo]
        stop = len(middle) - (len(old) - end)
        if stop <= start or not middle.startswith(old[:start]) or not middle.endswith(old[end:]):
            return None
        try:
            node = dagjson.decode(middle[start:stop])
            genes = self.state.genome.genes
            gene = Gene.from_node(genes[lo].name, node)
        except MindgitError:
            return None
        if node != gene.to_node():
            return None
        shift = stop - end
        moved = (*spans[:lo], (start, stop), *((a + shift, b + shift) for a, b in spans[lo + 1 :]))
        genome = Genome((*genes[:lo], gene, *genes[lo + 1 :]))
        state = self.state.with_genome(genome)
        return GenomeSplice(self.prefix, self.suffix, state, middle, moved, self.links)

    def _one_link(self, suffix: bytes) -> GenomeSplice | None:
        """The splice for a manifest with this prefix and genome whose ``suffix`` is this one's
        with one thought link added; None whenever that cannot be shown (left to the full
        parse, which also names what is wrong)."""
        links, old = self.links, self.suffix
        grow = len(suffix) - len(old)
        if links is None or grow == 0:
            return None
        if grow < 0:
            return self._less_one_link(links, suffix)
        at, starts, texts = links.at, links.starts, links.texts
        n = len(starts)
        ends = len(old) - 2  # where the list's body ends: "]}" closes it
        # The number of old links before the new one: the most whose spelling suffix keeps.
        lo, hi = 0, n
        while lo < hi:
            mid = (lo + hi + 1) // 2
            cut = at + starts[mid] if mid < n else ends
            if suffix.startswith(old[:cut]):
                lo = mid
            else:
                hi = mid - 1
        k = lo
        cut = at + starts[k] if k < n else ends
        if not suffix.startswith(old[:cut]) or not suffix.endswith(old[cut:]):
            return None
        added = suffix[cut : cut + grow]
        if k < n:
            link, comma = added[:-1], added[-1:] == b","
        elif n:
            link, comma = added[1:], added[:1] == b","
        else:
            link, comma = added, True
        found = _ONE_LINK.fullmatch(link)
        if not comma or found is None:
            return None
        text = found.group(1).decode("ascii")
        if (k and texts[k - 1] >= text) or (k < n and text >= texts[k]):
            return None
        try:
            cid = CID.parse(text)
        except MindgitError:
            return None
        if str(cid) != text:
            return None
        start = starts[k] if k < n else (ends - at + 1 if n else 0)
        moved = (*starts[:k], start, *(s + grow for s in starts[k:]))
        state = self.state.with_thoughts(self.state.thoughts | {cid})
        return GenomeSplice(
            self.prefix,
            suffix,
            state,
            self.genome,
            self.genes,
            Links(at, moved, (*texts[:k], text, *texts[k:])),
        )

    def _less_one_link(self, links: Links, suffix: bytes) -> GenomeSplice | None:
        """The splice for a suffix that is this one's without one thought link (a subset of a
        sorted, unique list of links is one); None if it is not exactly that."""
        old, at, starts, texts = self.suffix, links.at, links.starts, links.texts
        n = len(starts)
        ends = len(old) - 2
        # The most old links whose spelling suffix keeps: the one removed is that one, or the
        # next if it is the last (whose comma comes before it).
        lo, hi = 0, n - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if suffix.startswith(old[: at + starts[mid]]):
                lo = mid
            else:
                hi = mid - 1
        for k in (lo, lo + 1):
            if k >= n:
                break
            if k + 1 < n:
                cut, end = at + starts[k], at + starts[k + 1]
            else:
                cut, end = (at + starts[k] - 1 if n > 1 else at), ends
            if (
                end - cut == len(old) - len(suffix)
                and suffix.startswith(old[:cut])
                and suffix.endswith(old[end:])
            ):
                shrink = cut - end
                moved = (*starts[:k], *(x + shrink for x in starts[k + 1 :]))
                cid = CID.parse(texts[k])
                state = self.state.with_thoughts(self.state.thoughts - {cid})
                return GenomeSplice(
                    self.prefix,
                    suffix,
                    state,
                    self.genome,
                    self.genes,
                    Links(at, moved, (*texts[:k], *texts[k + 1 :])),
                )
        return None


def state_from_node(node: object, where: str = "manifest") -> State:
    if not isinstance(node, dict):
        raise SchemaError(where, "a manifest is a map")
    if not MANIFEST_KEYS <= set(node) <= MANIFEST_KEYS | OPTIONAL_KEYS:
        missing = sorted(MANIFEST_KEYS - set(node))
        extra = sorted(set(node) - MANIFEST_KEYS - OPTIONAL_KEYS)
        raise SchemaError(where, f"missing {quoted(missing)}, unknown {quoted(extra)}")
    schema = node["schema"]
    if schema != SCHEMA_VERSION or isinstance(schema, bool):
        # Quoted and cut, as a peer may write anything there (100 KB made a 100 KB line).
        if isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA_VERSION:
            raise SchemaError(
                where,
                f"schema {quoted(schema)} is newer than this mindgit reads ({SCHEMA_VERSION}): "
                "a newer mindgit wrote it",
            )
        raise SchemaError(where, f"schema {quoted(schema)} is not {SCHEMA_VERSION}")
    genome = check_genome_node(node["genome"], where)
    links = node["thoughts"]
    if not isinstance(links, list) or not all(isinstance(x, CID) for x in links):
        raise SchemaError(where, "'thoughts' is a list of links")
    for link in links:
        _check_block_link(where, "'thoughts'", link)
    names = [str(x) for x in links]
    if names != sorted(set(names)):
        raise SchemaError(where, "'thoughts' links are sorted by CID and unique")
    named: dict[str, tuple[tuple[str, CID], ...]] = {}
    for key in ("memories", "data"):
        table = node.get(key, {})
        if not isinstance(table, dict) or (key in node and not table):
            raise SchemaError(where, f"'{key}' is a non-empty map of name to link when present")
        for name, link in table.items():
            check_block_name(key, name)
            if not isinstance(link, CID):
                raise SchemaError(where, f"'{key}' entry {name!r} is not a link")
            _check_block_link(where, f"'{key}' entry {name!r}", link)
        named[key] = tuple(table.items())
    return State(genome, frozenset(links), named["memories"], named["data"])


def _check_block_link(where: str, what: str, link: CID) -> None:
    # A state's blocks are stored under the CID of their bytes as CID.of computes it; a link
    # of another kind (identity or sha2-512 hash, another codec) names no block a store holds.
    if (link.version, link.codec, link.hash_code, len(link.digest)) != (1, DAG_JSON, SHA2_256, 32):
        raise SchemaError(where, f"{what} links {link}, not a CIDv1 dag-json sha2-256 block")
