"""WAT text saved with a byte-order mark (as some editors on Windows save text) was refused by
`fitness add` and evolve --fitness as "not valid WAT text: unexpected character '\\u{feff}'".
The mark is no part of the text: the module is the one the same file without it gives."""

from __future__ import annotations

from pathlib import Path

from mindgit.evolve.fitness import add_fitness
from mindgit.sandbox import FitnessModule
from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store

BOM = "\ufeff".encode()


def test_fitness_add_reads_wat_saved_with_a_byte_order_mark(tmp_path: Path, mg: Mg) -> None:
    plain = new_store(tmp_path / "plain", float_genes(2))
    marked = new_store(tmp_path / "marked", float_genes(2))
    wat = tmp_path / "rastrigin.wat"
    wat.write_bytes(BOM + RASTRIGIN.read_bytes())
    res = mg("--store", str(marked.path), "fitness", "add", str(wat), "--json")
    assert res.code == 0, res.err
    assert add_fitness(plain, RASTRIGIN).cid == add_fitness(marked, wat).cid


def test_evolve_takes_such_a_file_as_its_fitness(tmp_path: Path, mg: Mg) -> None:
    store: Store = new_store(tmp_path / "s", float_genes(2))
    wat = tmp_path / "r.wat"
    wat.write_bytes(BOM + RASTRIGIN.read_bytes())
    res = mg(
        "--store", str(store.path), "evolve", "--fitness", str(wat),
        "--generations", "2", "--population", "4", "--seed", "1",
    )  # fmt: skip
    assert res.code == 0, res.err


def test_the_sandbox_loads_wat_bytes_with_a_byte_order_mark() -> None:
    source = RASTRIGIN.read_bytes()
    genome = b'{"genome":{}}'
    assert FitnessModule.load(BOM + source).score(genome) == FitnessModule.load(source).score(
        genome
    )
