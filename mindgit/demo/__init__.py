"""``mindgit demo``: a new node in a temporary store, a shipped state and module, one run.

The state (32 float genes in [-5.12, 5.12] and two thoughts) and the Rastrigin module (built
from ``fixtures/fitness/rastrigin.wat``) are package data next to this file, so the demo works
from an installed package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mindgit.errors import MindgitError
from mindgit.evolve.fitness import add_fitness_bytes
from mindgit.evolve.run import ProgressCallback, RunResult, StopCheck, start_run
from mindgit.ipld.cid import CID
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store, init_store
from mindgit.store.state import State, check_thought, parse_manifest

DATA = Path(__file__).resolve().parent
STATE_FILE = "state.json"
MODULE_FILE = "rastrigin.wasm"
THOUGHT_FILES = ("thought-1.json", "thought-2.json")
GENERATIONS = 50
POPULATION = 64
SEED = 7


class DemoDataMissing(MindgitError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            f"the demo's data file {path} is missing",
            hint="reinstall mindgit; the package is damaged",
        )
        self.path = path


def _read(name: str) -> bytes:
    path = DATA / name
    try:
        return path.read_bytes()
    except OSError:
        raise DemoDataMissing(path) from None


def demo_state() -> tuple[State, dict[CID, bytes]]:
    """The shipped start state and its thought blocks (checked)."""
    data = _read(STATE_FILE)
    state = parse_manifest(data, CID.of(data))
    blocks = {}
    for name in THOUGHT_FILES:
        block = _read(name)
        cid = CID.of(block)
        check_thought(cid, block)
        blocks[cid] = block
    if set(blocks) != state.thoughts:
        raise MindgitError("the demo state's thoughts do not match its thought files")
    return state, blocks


def demo_module() -> bytes:
    """The shipped Rastrigin fitness module (wasm bytes)."""
    return _read(MODULE_FILE)


@dataclass(frozen=True, slots=True)
class DemoResult:
    store: Path
    module: CID
    result: RunResult


def run_demo(
    path: Path,
    *,
    generations: int = GENERATIONS,
    population: int = POPULATION,
    seed: int = SEED,
    on_progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> DemoResult:
    """Make a node at ``path`` (which must not exist or be empty), then evolve the demo state."""
    # Parameters are checked before the node is made: a refused --generations or --seed left
    # a half-made store at --keep DIR.
    params = RunParams(population=population, generations=generations, seed=seed)
    store: Store = init_store(path, "demo")
    state, blocks = demo_state()
    store.commit_state(state, blocks, "demo: the shipped start state")
    entry = add_fitness_bytes(store, demo_module(), "rastrigin")
    result = start_run(store, entry.name, params, on_progress=on_progress, should_stop=should_stop)
    return DemoResult(store.path, entry.cid, result)
