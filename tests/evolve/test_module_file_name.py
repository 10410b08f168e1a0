"""A module file whose name is no module name ('my module.wat', 'x.lock.wat'): `fitness add`
and `evolve --fitness FILE` said "invalid fitness module name 'my module'", a name the user
never gave, with no word of --name; and evolve, which has no --name, offered no way to run the
file at all. The line now says the name is the file's, and the hint how to give one. Nothing is
changed either way."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mindgit.errors import UsageError
from mindgit.evolve.fitness import add_fitness
from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.snapshots import changed, snapshot


@pytest.fixture
def node(tmp_path: Path) -> Store:
    return new_store(tmp_path / "s", float_genes(3))


@pytest.mark.parametrize("file_name", ["my module.wat", "x.lock.wat", "-x.wat", "a..b.wasm"])
def test_a_file_name_that_is_no_module_name_says_how_to_name_it(
    node: Store, mg: Mg, tmp_path: Path, file_name: str
) -> None:
    module = tmp_path / file_name
    shutil.copy(RASTRIGIN, module)
    before = snapshot(node.path)
    stem = module.stem
    r = mg("--store", str(node.path), "fitness", "add", str(module))
    assert r.code == 2, r.err
    assert f"'{stem}', the name of the file {module}, is not a valid" in r.err, r.err
    assert "give one with --name NAME" in r.err and len(r.err.splitlines()) == 1
    r = mg("--store", str(node.path), "evolve", "--fitness", str(module), "-q")
    assert r.code == 2, r.err
    assert f"'{stem}', the name of the file {module}, is not a valid" in r.err, r.err
    assert "then give --fitness NAME" in r.err and len(r.err.splitlines()) == 1
    assert not changed(before, node.path)
    with pytest.raises(UsageError, match="the name of the file"):
        add_fitness(node, module)
    # The command the hint gives, run as printed (NAME filled in), makes the module runnable.
    command = r.err.split("(`mindgit ", 1)[1].split("`", 1)[0].replace("NAME", "rast")
    assert mg("--store", str(node.path), *_split(command)).code == 0
    r = mg("--store", str(node.path), "evolve", "--fitness", "rast", "-q", "--generations", "2")
    assert r.code == 0, r.err


def test_a_name_given_with_name_is_refused_as_before(node: Store, mg: Mg) -> None:
    r = mg("--store", str(node.path), "fitness", "add", str(RASTRIGIN), "--name", "bad name")
    assert r.code == 2
    assert "invalid fitness module name 'bad name'" in r.err and "the file" not in r.err


def _split(command: str) -> list[str]:
    import shlex

    return shlex.split(command)
