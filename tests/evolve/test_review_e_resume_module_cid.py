"""`evolve --resume RUN --fitness CID` with the run's own module's CID, once no refs/fitness/ name
holds that module (the name deleted, or repointed and the old version not reachable), was
refused as "run R was started with fitness X, not 'X'": the CID was looked up among the stored
modules, and the run's module is in the run's own tree, not there. A CID is compared as it is
now. Found by review E.
"""

from __future__ import annotations

import json
from pathlib import Path

from mindgit.evolve.fitness import add_fitness
from mindgit.evolve.run import start_run
from mindgit.ipld.cid import CID, RAW
from mindgit.store.fitness_store import list_modules
from mindgit.store.generation import RunParams
from tests.conftest import Mg, fsck, git
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store
from tests.evolve.test_bad_input_audit import refused

PARAMS = RunParams(population=6, generations=4, seed=3)


def test_resume_takes_the_run_module_s_cid_when_no_name_holds_it(tmp_path: Path, mg: Mg) -> None:
    store = new_store(tmp_path / "s", float_genes(3))
    add_fitness(store, RASTRIGIN)
    (cid,) = [str(e.cid) for e in list_modules(store)]
    run = start_run(store, "rastrigin", PARAMS, should_stop=lambda: True).run_id
    git("--git-dir", str(store.path), "update-ref", "-d", "refs/fitness/rastrigin")
    assert list_modules(store) == []
    # Another CID is still another module, and says which one the run used.
    other = str(CID.of(b"no module has these bytes", RAW))
    refused(
        mg,
        store.path,
        "evolve",
        "--resume",
        run,
        "--fitness",
        other,
        code=2,
        words=f"started with fitness {cid!r}, not {other!r}",
    )
    r = mg("--store", str(store.path), "evolve", "--resume", run, "--fitness", cid, "--json")
    assert r.code == 0, r.err
    done = json.loads(r.out)
    assert done["run"] == run and done["complete"]
    fsck(store.path)
