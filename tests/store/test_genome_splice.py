"""GenomeSplice must agree with parse_manifest on every manifest it does not pass back to it."""

from __future__ import annotations

from collections.abc import Callable

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, _b58encode
from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from mindgit.store.state import GenomeSplice, SchemaError, State, make_thought, parse_manifest
from mindgit.store.verify import verify_commits

THOUGHTS = [make_thought(f"thought {i}", ["t"]).cid for i in range(3)]
BASE = (
    State()
    .with_genome(
        State().genome.with_genes(
            Gene.make("x", "float", 0.5, min=-1, max=1),
            Gene.make("n", "int", 2, min=0, max=9),
            Gene.make("on", "bool", True),
            Gene.make("mode", "choice", "a", choices=["a", "b"]),
        )
    )
    .with_thoughts(THOUGHTS)
    .with_data({"genome": CID.of(b"{}"), "tools": CID.of(b"[]")})
)
BASE_DATA = BASE.manifest().data
SPLICE = GenomeSplice.parse(BASE_DATA)[1]


def _no_minus_zero(x: float) -> float:
    return x + 0.0  # -0.0 has no DAG-JSON form at all


_gene_nodes: st.SearchStrategy[dict[str, dagjson.Encodable]] = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("float"),
            "value": st.one_of(st.floats(-2, 2).map(_no_minus_zero), st.integers(-2, 2)),
        },
        optional={
            "min": st.just(-1.0),
            "max": st.just(1),
            "scale": st.floats(-1, 2).map(_no_minus_zero),
        },
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("int"),
            "value": st.one_of(st.integers(-3, 12), st.floats(-3, 3).map(_no_minus_zero)),
        },
        optional={"min": st.just(0), "max": st.just(9.5)},
    ),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["bool", "choice", "str"]),
            "value": st.sampled_from([True, 1, 0, "a", "c"]),
        },
        optional={"choices": st.just(["a", "b"]), "min": st.none()},
    ),
)
_genomes: st.SearchStrategy[dict[str, dagjson.Encodable]] = st.dictionaries(
    st.sampled_from(["x", "n", "on", "mode", "", "1x"]), _gene_nodes
)
# Spellings that are valid JSON but not canonical, or not JSON at all.
_EDITS = [
    (b":", b": "),
    (b",", b" ,"),
    (b"0.5", b"0.50"),
    (b"true", b"1"),
    (b"2", b"2.0"),
    (b'"a"', b'"\\u0061"'),
    (b"}", b"}}"),
    (b"{", b""),
    (b'"x"', b'"x","x"'),
]


# A middle that spans more keys than the genome: the manifest may be valid all the same.
_MEMORIES = b',"memories":{"m":{"/":"' + str(CID.of(b"1")).encode() + b'"}}'


def _middles() -> st.SearchStrategy[bytes]:
    encoded = _genomes.map(dagjson.encode)
    edited = st.tuples(encoded, st.sampled_from(_EDITS)).map(lambda p: p[0].replace(*p[1], 1))
    more_keys = encoded.map(lambda m: m + _MEMORIES)
    return st.one_of(encoded, edited, more_keys, st.binary(max_size=40))


def _outcome(thunk: Callable[[], object]) -> object:
    try:
        return thunk()
    except SchemaError:
        return SchemaError


def test_the_splice_is_cut_around_the_genome() -> None:
    assert SPLICE is not None
    assert SPLICE.prefix.startswith(b'{"data":') and SPLICE.prefix.endswith(b',"genome":')
    assert SPLICE.suffix.startswith(b',"schema":1,"thoughts":')
    assert SPLICE.match(BASE_DATA) == BASE


@settings(max_examples=400)
@given(_middles())
def test_a_spliced_manifest_is_judged_as_parse_manifest_judges_it(middle: bytes) -> None:
    assert SPLICE is not None
    data = SPLICE.prefix + middle + SPLICE.suffix
    fast = _outcome(lambda: SPLICE.match(data))
    full = _outcome(lambda: parse_manifest(data))
    if fast is None:  # left to the full parse: only when the middle is not one value
        with pytest.raises(dagjson.DagJsonDecodeError):
            dagjson.decode(middle)
    else:
        assert fast == full


def test_a_memories_map_added_after_the_genome_is_left_to_the_full_parse() -> None:
    assert SPLICE is not None
    data = SPLICE.prefix + dagjson.encode(BASE.genome.to_node()) + _MEMORIES + SPLICE.suffix
    assert SPLICE.match(data) is None
    assert parse_manifest(data).memories == (("m", CID.of(b"1")),)


@given(st.binary(max_size=30), st.integers(0, len(BASE_DATA)), st.integers(0, 30))
def test_a_manifest_changed_outside_the_genome_is_left_to_the_full_parse(
    insert: bytes, at: int, cut: int
) -> None:
    assert SPLICE is not None
    data = BASE_DATA[:at] + insert + BASE_DATA[at + cut :]
    fast = _outcome(lambda: SPLICE.match(data))
    if fast is not None:
        assert fast == _outcome(lambda: parse_manifest(data))


def test_the_splice_is_cut_only_from_a_valid_manifest() -> None:
    assert GenomeSplice.parse(BASE_DATA) == (BASE, SPLICE)
    with pytest.raises(SchemaError):
        GenomeSplice.parse(BASE_DATA.replace(b":1,", b": 1,"))
    with pytest.raises(SchemaError):
        GenomeSplice.parse(BASE_DATA[:-1])


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b'"value":0.25', b'"value":7', "above"),  # out of bounds
        (b'"value":0.25', b'"value":0.250', "canonical"),
        (b'"value":true', b'"value":1', "true or false"),
        (b'"value":0.25', b'"value": 0.25', "canonical"),
    ],
)
def test_verify_refuses_a_bad_genome_after_good_states(
    store: Store, old: bytes, new: bytes, reason: str
) -> None:
    """The verifier checks a state that differs from the last only in its genome by the splice;
    a bad genome there must still be refused."""
    store.think("a thought", ["t"])
    store.set_genes([Gene.make("x", "float", 0.5, min=-1, max=1), Gene.make("on", "bool", True)])
    store.set_genes([Gene.make("x", "float", 0.75, min=-1, max=1)])
    store.set_genes([Gene.make("x", "float", 0.25, min=-1, max=1)])
    head = store.head()
    commit = store.repo[head]
    data = store.repo[commit.tree["manifest.json"].id].read_raw()
    assert old in data
    bad = data.replace(old, new, 1)
    root = store.repo.TreeBuilder(commit.tree)
    root.insert("manifest.json", store.repo.create_blob(bad), pygit2.enums.FileMode.BLOB)
    oid = store.write_commit(root.write(), [head], "bad genome")
    store.repo.references.create("refs/heads/main", oid, force=True)
    report = verify_commits(store.repo, store.trust, [store.head()])
    problems = [str(p) for p in report.problems]
    assert len(problems) == 1 and str(oid)[:12] in problems[0], problems
    assert "manifest" in problems[0] and reason in problems[0], problems


# ---- one gene at a time -------------------------------------------------------------------------

_GENE_EDITS = [*_EDITS, (b"}", b'},"y":{"type":"bool","value":true}')]


def _gene_spans() -> list[bytes]:
    assert SPLICE is not None
    return [SPLICE.genome[a:b] for a, b in SPLICE.genes]


def _replacements() -> st.SearchStrategy[bytes]:
    encoded = _gene_nodes.map(dagjson.encode)
    edited = st.tuples(
        st.one_of(encoded, st.sampled_from(_gene_spans())), st.sampled_from(_GENE_EDITS)
    ).map(lambda p: p[0].replace(*p[1], 1))
    return st.one_of(encoded, edited, st.binary(max_size=30))


def test_the_genes_are_found_in_the_genome() -> None:
    assert SPLICE is not None
    assert _gene_spans() == [dagjson.encode(g.to_node()) for g in BASE.genome.genes]


@settings(max_examples=400, deadline=None)
@given(st.integers(0, len(BASE.genome) - 1), _replacements())
def test_a_manifest_changed_in_one_gene_is_judged_as_parse_manifest_judges_it(
    index: int, replacement: bytes
) -> None:
    assert SPLICE is not None
    start, end = SPLICE.genes[index]
    middle = SPLICE.genome[:start] + replacement + SPLICE.genome[end:]
    data = SPLICE.prefix + middle + SPLICE.suffix
    fast = _outcome(lambda: SPLICE.match(data))
    full = _outcome(lambda: parse_manifest(data))
    if fast is None:
        with pytest.raises(dagjson.DagJsonDecodeError):
            dagjson.decode(middle)
        return
    assert fast == full
    one = SPLICE._one_gene(middle)
    if one is not None:  # the gene alone was judged: it must have been a valid one
        assert one.state == full


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(BASE.genome) - 1),
            st.floats(-1, 1).map(_no_minus_zero),
            st.integers(0, 9),
        ),
        max_size=12,
    )
)
def test_a_chain_of_gene_changes_follows_one_gene_at_a_time(
    changes: list[tuple[int, float, int]],
) -> None:
    """Each state of a chain is judged by its one changed gene, and the splice it leaves behind
    is the one a full parse would cut."""
    assert SPLICE is not None
    splice, state = SPLICE, BASE
    for index, x, n in changes:
        old = state.genome.genes[index]
        values: dict[str, object] = {
            "x": x,
            "n": n,
            "on": not old.value,
            "mode": "b" if old.value == "a" else "a",
        }
        gene = old.with_value(values[old.name])
        state = state.with_genome(state.genome.with_genes(gene))
        data = state.manifest().data
        middle = data[len(splice.prefix) : len(data) - len(splice.suffix)]
        follow = splice._one_gene(middle) if middle != splice.genome else splice
        assert follow is not None
        assert follow.state == state == parse_manifest(data)
        assert follow == GenomeSplice.parse(data)[1]
        splice = follow


def test_a_bad_gene_is_left_to_the_whole_genome_check_that_names_it() -> None:
    assert SPLICE is not None
    start, end = SPLICE.genes[BASE.genome.genes.index(BASE.genome["x"])]
    gene = SPLICE.genome[start:end]
    for bad, reason in [
        (gene.replace(b"0.5", b"7"), "above max"),
        (gene.replace(b"0.5", b"0.50"), "canonical"),
        (gene.replace(b'"float"', b'"complex"'), "unknown type"),
    ]:
        middle = SPLICE.genome[:start] + bad + SPLICE.genome[end:]
        data = SPLICE.prefix + middle + SPLICE.suffix
        assert SPLICE._one_gene(middle) is None
        with pytest.raises(SchemaError, match=reason):
            # A middle that does not even decode is left to the full parse, as the verifier does.
            if SPLICE.match(data) is None:
                parse_manifest(data)


# ---- one added thought --------------------------------------------------------------------------

_LINK_TEXTS = sorted(str(c) for c in BASE.thoughts)


def _texts() -> st.SearchStrategy[str]:
    new = st.binary(max_size=8).map(lambda b: str(CID.of(b)))
    # the same CID in base58btc: valid, but not how DAG-JSON spells a CIDv1
    other_base = st.binary(max_size=8).map(lambda b: "z" + _b58encode(CID.of(b).to_bytes()))
    return st.one_of(
        new,
        st.sampled_from(_LINK_TEXTS),  # a repeat
        other_base,  # a valid CID, not spelled canonically
        new.map(str.upper),
        new.map(lambda t: t[:-1]),
        st.text("abcdefghijklmnopqrstuvwxyz234567", max_size=70),
    )


def _link_insertions() -> st.SearchStrategy[bytes]:
    """BASE_DATA with something spelled into its thoughts list at a link boundary."""
    body_at = BASE_DATA.rindex(b'"thoughts":[') + len(b'"thoughts":[')
    boundaries = [body_at + i * (len(_LINK_TEXTS[0]) + 9) for i in range(len(_LINK_TEXTS) + 1)]
    boundaries[-1] -= 1  # the last link has no comma after it

    def spell(k: int, text: str, form: int) -> bytes:
        link = b'{"/":"' + text.encode() + b'"}'
        at = boundaries[k]
        if form == 0:
            added = link + b"," if k < len(_LINK_TEXTS) else b"," + link
        elif form == 1:
            added = link  # no comma
        else:
            added = b"," + link + b","
        return BASE_DATA[:at] + added + BASE_DATA[at:]

    links = st.builds(
        spell, st.integers(0, len(_LINK_TEXTS)), _texts(), st.sampled_from([0, 0, 0, 1, 2])
    )
    junk = st.tuples(st.integers(0, len(BASE_DATA)), st.binary(min_size=1, max_size=12)).map(
        lambda p: BASE_DATA[: p[0]] + p[1] + BASE_DATA[p[0] :]
    )
    # the same with a gene changed too (validly or not), so both changes are judged at once
    gene = st.sampled_from([b'"value":0.25', b'"value":7', b'"value":0.50', b'"value":"a"'])
    links = (
        st.tuples(st.one_of(links, junk), gene).map(lambda p: p[0].replace(b'"value":0.5', p[1], 1))
        | links
    )
    added = st.binary(max_size=8).map(
        lambda b: BASE.with_thoughts(BASE.thoughts | {CID.of(b)}).manifest().data
    )
    # a link taken out, with its comma, without it, or with a neighbour's bytes
    cut = st.tuples(
        st.integers(0, len(_LINK_TEXTS) - 1), st.integers(-1, 1), st.integers(-2, 2)
    ).map(
        lambda p: (
            BASE_DATA[: boundaries[p[0]] + p[1]]
            + BASE_DATA[boundaries[p[0]] + len(_LINK_TEXTS[0]) + 9 + p[2] :]
        )
    )
    removed = st.sampled_from(sorted(BASE.thoughts, key=str)).map(
        lambda c: BASE.with_thoughts(BASE.thoughts - {c}).manifest().data
    )
    return st.one_of(links, junk, added, cut, removed)


@settings(max_examples=400, deadline=None)
@given(_link_insertions())
def test_a_manifest_with_a_link_spelled_in_is_judged_as_parse_manifest_judges_it(
    data: bytes,
) -> None:
    assert SPLICE is not None
    fast = _outcome(lambda: SPLICE.match(data))
    full = _outcome(lambda: parse_manifest(data))
    if fast is not None:
        assert fast == full
    if isinstance(full, State) and abs(len(full.thoughts) - len(BASE.thoughts)) == 1:
        assert fast == full  # a thought validly added or taken out is judged by its link alone


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.binary(max_size=6), st.integers(0, 20)),
            st.one_of(st.none(), st.floats(-1, 1).map(_no_minus_zero)),
        )
    )
)
def test_a_chain_of_thoughts_and_genes_follows_one_change_at_a_time(
    changes: list[tuple[bytes | int | None, float | None]],
) -> None:
    """Thoughts added or taken out, genes changed, or both in one state: each is judged by its
    changes, and leaves the splice a full parse would cut."""
    assert SPLICE is not None
    splice, state = SPLICE, BASE
    for thought, x in changes:
        if isinstance(thought, bytes):
            state = state.with_thoughts(state.thoughts | {CID.of(thought)})
        elif thought is not None and state.thoughts:
            gone = sorted(state.thoughts, key=str)[thought % len(state.thoughts)]
            state = state.with_thoughts(state.thoughts - {gone})
        if x is not None:
            state = state.with_genome(state.genome.with_genes(state.genome["x"].with_value(x)))
        data = state.manifest().data
        follow = splice.follow(data)
        assert follow is not None
        assert follow.state == state == parse_manifest(data)
        assert follow == GenomeSplice.parse(data)[1]
        splice = follow


# Bases whose suffix holds more than the links (memories), or no links at all.
_BASES = [
    BASE,
    BASE.with_memories({"m": CID.of(b"1")}),
    BASE.with_thoughts(()),
    State().with_genome(BASE.genome).with_thoughts(THOUGHTS[:1]),
]


def _two_edits() -> st.SearchStrategy[tuple[int, bytes]]:
    """A base's manifest with a gene replaced (validly or not) and bytes put in, or taken out,
    anywhere else: the splice must never vouch for the gene while missing the other edit."""

    def build(base: int, index: int, gene: bytes, at: float, cut: int, junk: bytes) -> bytes:
        state = _BASES[base]
        data = state.manifest().data
        splice = GenomeSplice.parse(data)[1]
        assert splice is not None
        start, end = splice.genes[index % len(splice.genes)]
        g0 = len(splice.prefix)
        data = data[: g0 + start] + gene + data[g0 + end :]
        pos = int(at * len(data))
        return data[:pos] + junk + data[pos + cut :]

    added_link = st.binary(max_size=6).map(lambda b: b'{"/":"' + str(CID.of(b)).encode() + b'"},')
    junk = st.one_of(
        st.binary(max_size=6),
        st.sampled_from([b",", b" ", b'"', b"}", b"{", b'"schema":1,', b'"x":1,']),
        added_link,
    )
    # mostly the splice of the base edited; sometimes another base's (a wholly other state)
    return st.integers(0, len(_BASES) - 1).flatmap(
        lambda base: st.tuples(
            st.one_of(st.just(base), st.just(base), st.integers(0, len(_BASES) - 1)),
            st.builds(
                build,
                st.just(base),
                st.integers(0, 3),
                _replacements(),
                st.floats(0, 1),
                st.integers(0, 4),
                junk,
            ),
        )
    )


@settings(max_examples=600, deadline=None)
@given(_two_edits())
def test_a_gene_change_with_another_edit_anywhere_is_judged_as_parse_manifest_judges_it(
    case: tuple[int, bytes],
) -> None:
    base, data = case
    splice = GenomeSplice.parse(_BASES[base].manifest().data)[1]
    assert splice is not None
    fast = _outcome(lambda: splice.match(data))
    full = _outcome(lambda: parse_manifest(data))
    if fast is not None:
        assert fast == full
