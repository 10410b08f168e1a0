"""A big genome's lookups by name: counted, never timed.

Genome looked a gene up by scanning its genes, so every loop over names (diff, unset, the
evolve codec, the sandbox's genome vector) was quadratic in the genome's size.
"""

from __future__ import annotations

from collections.abc import Iterator

from mindgit.store import history
from mindgit.store.genome import Gene, Genome
from mindgit.store.repository import Store

GENES = 60


class _Scans(tuple[Gene, ...]):
    """A genes tuple that counts the times it is walked through."""

    scans = 0

    def __iter__(self) -> Iterator[Gene]:
        type(self).scans += 1
        return super().__iter__()


def _genes(n: int = GENES, value: float = 0.5) -> list[Gene]:
    return [Gene.make(f"g{i:03d}", "float", value, min=-5, max=5) for i in range(n)]


def _counted(genome: Genome) -> type[_Scans]:
    scans = type("Scans", (_Scans,), {"scans": 0})
    object.__setattr__(genome, "genes", scans(genome.genes))
    return scans


def test_lookups_by_name_do_not_scan_the_genes_each_time() -> None:
    genome = Genome(tuple(_genes()))
    scans = _counted(genome)
    for g in _genes():
        assert genome[g.name] == g
        assert g.name in genome
        assert genome.get(g.name + "x") is None
    assert scans.scans <= 1


def test_unset_of_many_genes_scans_the_genome_a_bounded_number_of_times() -> None:
    genome = Genome(tuple(_genes()))
    scans = _counted(genome)
    names = [g.name for g in _genes()][::2]
    left = genome.without(*names)
    assert list(left) == [g.name for g in _genes()][1::2]
    assert scans.scans <= 2


def test_the_index_is_no_part_of_equality_or_hash() -> None:
    a, b = Genome(tuple(_genes())), Genome(tuple(_genes()))
    _ = a["g001"]  # a has its index, b not
    assert a == b and hash(a) == hash(b)
    assert "_by_name" not in repr(a)
    assert a != Genome(tuple(_genes(value=0.25)))


def test_diff_of_two_big_genomes_reads_each_once(store: Store) -> None:
    store.set_genes(_genes())
    old = store.head()
    store.set_genes([Gene.make("g007", "float", 1.5, min=-5, max=5)])
    a, b = store.snapshot(old), store.snapshot()
    scans_a, scans_b = _counted(a.state.genome), _counted(b.state.genome)
    real = store.snapshot

    def snapshot(rev: str | None = None) -> object:
        return a if rev == old else b if rev == b.commit else real(rev)

    store.snapshot = snapshot  # type: ignore[method-assign,assignment]
    d = history.diff(store, old, b.commit)
    assert [(c.name, c.new.value if c.new else None) for c in d.genes] == [("g007", 1.5)]
    assert scans_a.scans <= 2 and scans_b.scans <= 2
