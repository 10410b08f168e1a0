"""`mindgit verify` checked no form of a generation commit's ``Mindgit-Experiment:`` trailer,
though `evolve --resume` refuses a run whose trailer names no experiment and push picks a run's
experiment by it: a commit whose value is empty, has spaces, is a ref path, is not UTF-8, or is
given twice verified clean. It is now a verify problem naming the commit, as a
``Mindgit-State`` that does not match is. Found by review (H5).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.run import start_run
from mindgit.identity.sshsig import sign
from mindgit.store.generation import RunParams
from mindgit.store.repository import Store
from tests.conftest import Mg
from tests.evolve.helpers import RASTRIGIN, float_genes, new_store, stop_after


def stopped_run(store: Store) -> tuple[str, pygit2.Commit]:
    run = start_run(
        store,
        str(RASTRIGIN),
        RunParams(population=8, generations=6, seed=1),
        should_stop=stop_after(2),
    ).run_id
    tip = store.repo.revparse_single(f"refs/runs/{run}").peel(pygit2.Commit)
    return run, tip


def resign(store: Store, run: str, tip: pygit2.Commit, body: bytes) -> str:
    """The run's tip again, its message ``body`` (bytes as given), signed by the node; the
    run's ref moved to it."""
    head = f"tree {tip.tree_id}\n" + "".join(f"parent {p}\n" for p in tip.parent_ids)
    who = f"{store.name} <{store.public_key.did}> {tip.commit_time} +0000"
    headers = f"{head}author {who}\ncommitter {who}\n".encode()
    armored = sign(store.signing_key, headers + b"\n" + body).encode("ascii")
    gpgsig = b"gpgsig" + b"".join(b" " + line + b"\n" for line in armored.split(b"\n"))
    data = headers + gpgsig + b"\n" + body
    oid = str(store.repo.odb.write(pygit2.enums.ObjectType.COMMIT, data))
    subprocess.run(
        ["git", "--git-dir", str(store.path), "update-ref", f"refs/runs/{run}", oid], check=True
    )
    return oid


def with_experiment_lines(tip: pygit2.Commit, *lines: bytes) -> bytes:
    """The tip's message with its Mindgit-Experiment trailer replaced by ``lines``."""
    raw = tip.raw_message
    kept = [line for line in raw.split(b"\n") if not line.startswith(b"Mindgit-Experiment:")]
    at = next(i for i, line in enumerate(kept) if line.startswith(b"Mindgit-Fitness:"))
    return b"\n".join([*kept[:at], *lines, *kept[at:]])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return new_store(tmp_path / "s", float_genes(3))


def test_every_run_mindgit_writes_still_verifies(store: Store, mg: Mg) -> None:
    stopped_run(store)
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 0, r.err


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        ([b"Mindgit-Experiment: "], "no experiment can be named"),
        ([b"Mindgit-Experiment:"], "no experiment can be named"),
        ([b"Mindgit-Experiment: a b"], "no experiment can be named"),
        ([b"Mindgit-Experiment:  main"], "no experiment can be named"),
        ([b"Mindgit-Experiment: main "], "no experiment can be named"),
        ([b"Mindgit-Experiment: refs/heads/main"], "no experiment can be named"),
        ([b"Mindgit-Experiment: a..b"], "no experiment can be named"),
        ([b"Mindgit-Experiment: HEAD"], "no experiment can be named"),
        ([b"Mindgit-Experiment: " + b"x" * 300], "no experiment can be named"),
        ([b"Mindgit-Experiment: ma\xffin"], "not UTF-8"),
        ([b"Mindgit-Experiment: main", b"Mindgit-Experiment: other"], "given 2 times"),
        ([b"Mindgit-Experiment: main", b"Mindgit-Experiment: main"], "given 2 times"),
    ],
)
def test_a_malformed_experiment_trailer_is_a_problem_of_its_commit(
    store: Store, mg: Mg, lines: list[bytes], words: str
) -> None:
    run, tip = stopped_run(store)
    bad = resign(store, run, tip, with_experiment_lines(tip, *lines))
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 1, r.out + r.err
    out = r.out + r.err
    line = next(x for x in out.splitlines() if "Mindgit-Experiment" in x)
    assert bad[:12] in line and words in line, out
    assert "Traceback" not in out and "internal error" not in out


def test_the_trailer_in_the_body_is_checked_as_resume_reads_it(store: Store, mg: Mg) -> None:
    # evolve --resume takes the trailer's line from anywhere in the message.
    run, tip = stopped_run(store)
    raw = tip.raw_message
    subject, _, rest = raw.partition(b"\n")
    body = subject + b"\n\nMindgit-Experiment: x y\n" + rest
    bad = resign(store, run, tip, body)
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 1, r.out + r.err
    assert bad[:12] in r.out + r.err


def test_a_run_without_the_trailer_still_verifies(store: Store, mg: Mg) -> None:
    # Runs made before the trailer was written have none; resume uses the current experiment.
    run, tip = stopped_run(store)
    resign(store, run, tip, with_experiment_lines(tip))
    r = mg("--store", str(store.path), "verify", "--all")
    assert r.code == 0, r.out + r.err


def test_a_state_commit_saying_the_words_in_its_message_is_not_checked(
    store: Store, mg: Mg
) -> None:
    # Only generation commits carry the trailer: a user's message is the user's.
    from mindgit.store.state import make_thought

    block = make_thought("x", ["t"])
    store.update(
        lambda st: (st.with_thoughts(st.thoughts | {block.cid}), {block.cid: block.data}),
        "note",
        trailers={"Mindgit-Experiment": "a b"},
    )
    r = mg("--store", str(store.path), "verify")
    assert r.code == 0, r.out + r.err


def test_the_gate_refuses_it_too(store: Store) -> None:
    from mindgit.sync.gate import check_commits

    run, tip = stopped_run(store)
    assert check_commits(store.repo, store.trust, [str(tip.id)]) == []
    bad = resign(store, run, tip, with_experiment_lines(tip, b"Mindgit-Experiment: a b"))
    problems = check_commits(store.repo, store.trust, [bad])
    assert [p.commit for p in problems] == [bad]
    assert "Mindgit-Experiment" in problems[0].reason
