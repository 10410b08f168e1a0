"""`verify --recompute`: fitness claims of a real evolve run re-run in the sandbox, bit for bit.

A claim is tampered with and re-signed by the trusted node itself, so every signature and CID
still verifies and only the claimed number is wrong: recompute must catch it and say where.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from mindgit.evolve.run import RunResult, start_run
from mindgit.store.generation import (
    GENERATION_FILE,
    TRAILER_FITNESS,
    Failure,
    GenerationRecord,
    Individual,
    RunParams,
    read_generation_commit,
)
from mindgit.store.genome import Gene
from mindgit.store.repository import Store
from mindgit.store.verify import verify_commits
from mindgit.sync.recompute import (
    GENERATION,
    RESULT,
    Claim,
    InvalidRecomputeCount,
    bits,
    find_claims,
    parse_count,
    recompute,
    select_claims,
    spell,
)
from tests.conftest import FIXTURES, Mg, git

RASTRIGIN = FIXTURES / "fitness" / "rastrigin.wat"
GENERATIONS = 6


def evolve(store: Store, *, text_gene: bool = False) -> RunResult:
    genes = [Gene.make(f"x{i}", "float", 1.5 - i, min=-5.12, max=5.12) for i in range(3)]
    if text_gene:
        # A str gene has no place in the genome vector: the run scores through `fitness`.
        genes.append(Gene.make("label", "str", "unchanged"))
    store.set_genes(genes)
    result = start_run(
        store, str(RASTRIGIN), RunParams(population=8, generations=GENERATIONS, seed=11)
    )
    assert result.complete and result.result_commit is not None
    return result


@pytest.fixture
def evolved(store: Store) -> tuple[Store, RunResult]:
    return store, evolve(store)


def everything(store: Store) -> list[str]:
    return [
        str(store.repo.references[r].resolve().target)
        for r in store.repo.references
        if r.startswith(("refs/heads/", "refs/runs/", "refs/fitness/"))
    ]


def verified(store: Store) -> None:
    """Signatures, schema and CIDs all hold: whatever recompute finds is the claim alone."""
    report = verify_commits(store.repo, store.trust, everything(store))
    assert report.ok, report.problems


def resign(store: Store, commit_id: str, tree: pygit2.Oid, message: str) -> str:
    """The same commit (parents, message) over ``tree``, signed again by the store's own key."""
    commit = store.repo[commit_id].peel(pygit2.Commit)
    return store.write_commit(tree, [str(p) for p in commit.parent_ids], message)


def tamper_generation(
    store: Store, run_id: str, change: Callable[[GenerationRecord], GenerationRecord]
) -> str:
    """Rewrite the run's newest generation record, re-signed, and move the run ref to it."""
    ref = f"refs/runs/{run_id}"
    tip = str(store.repo.references[ref].target)
    gen = read_generation_commit(store.repo, tip)
    record = change(gen.record)
    tb = store.repo.TreeBuilder(gen.tree)
    tb.insert(GENERATION_FILE, store.repo.create_blob(record.encode()), pygit2.enums.FileMode.BLOB)
    commit = store.repo[tip].peel(pygit2.Commit)
    new = resign(store, tip, tb.write(), commit.message)
    store.repo.references.create(ref, new, force=True)
    return new


def worst(record: GenerationRecord) -> int:
    scored = [(ind.score, i) for i, ind in enumerate(record.individuals) if ind.score is not None]
    return min(scored)[1]


def with_individual(record: GenerationRecord, index: int, ind: Individual) -> GenerationRecord:
    individuals = list(record.individuals)
    individuals[index] = ind
    return GenerationRecord(record.generation, tuple(individuals), record.best)


# ---- a real run re-checks -------------------------------------------------------------------


def test_every_claim_of_a_real_run_recomputes_bit_identical(
    evolved: tuple[Store, RunResult],
) -> None:
    store, result = evolved
    verified(store)
    report = recompute(store.repo, everything(store), count=None)
    assert report.ok, report.problems
    kinds = sorted(c.kind for c in report.checked)
    assert kinds == [GENERATION] * GENERATIONS + [RESULT]
    assert report.found == GENERATIONS + 1
    assert {c.run_id for c in report.checked} == {result.run_id}


def test_a_run_scored_through_fitness_recomputes_too(store: Store) -> None:
    result = evolve(store, text_gene=True)
    tip = read_generation_commit(store.repo, result.tip)
    assert tip.info.entry == "fitness"
    report = recompute(store.repo, everything(store), count=None)
    assert report.ok and len(report.checked) == GENERATIONS + 1


def test_a_score_one_ulp_off_is_named(evolved: tuple[Store, RunResult]) -> None:
    store, result = evolved
    seen: dict[str, float] = {}

    def nudge(record: GenerationRecord) -> GenerationRecord:
        i = worst(record)
        ind = record.individuals[i]
        assert ind.score is not None
        seen["index"], seen["true"] = i, ind.score
        seen["claimed"] = math.nextafter(ind.score, -math.inf)
        return with_individual(record, i, Individual(ind.state, seen["claimed"], ind.parents, None))

    bad = tamper_generation(store, result.run_id, nudge)
    verified(store)
    report = recompute(store.repo, everything(store), count=0)
    assert not report.ok
    (problem,) = report.problems
    assert (problem.commit, problem.individual) == (bad, seen["index"])
    assert problem.claimed == spell(seen["claimed"]) and problem.recomputed == spell(seen["true"])
    assert bits(seen["claimed"]) in problem.reason and bits(seen["true"]) in problem.reason
    assert str(problem).startswith(f"{bad[:12]} individual {seen['index']}: state ")


def test_a_failure_claimed_for_a_scoring_state_is_named(evolved: tuple[Store, RunResult]) -> None:
    store, result = evolved

    def fail(record: GenerationRecord) -> GenerationRecord:
        i = worst(record)
        ind = record.individuals[i]
        return with_individual(
            record,
            i,
            Individual(ind.state, None, ind.parents, Failure("fuel", "out of fuel (claimed)")),
        )

    tamper_generation(store, result.run_id, fail)
    verified(store)
    (problem,) = recompute(store.repo, everything(store), count=0).problems
    assert problem.claimed == "failure (fuel)" and problem.recomputed is not None
    assert problem.recomputed.startswith("-") or problem.recomputed[0].isdigit()


def test_a_result_trailer_one_ulp_off_is_named(evolved: tuple[Store, RunResult]) -> None:
    store, result = evolved
    head = store.head()
    assert head == result.result_commit
    commit = store.repo[head].peel(pygit2.Commit)
    true = result.best_score
    assert true is not None
    lie = math.nextafter(true, math.inf)
    message = commit.message.replace(f"{TRAILER_FITNESS}: {true!r}", f"{TRAILER_FITNESS}: {lie!r}")
    assert message != commit.message
    bad = resign(store, head, commit.tree_id, message)
    store.repo.references.create("refs/heads/main", bad, force=True)
    verified(store)
    report = recompute(store.repo, [bad], count=0)
    (problem,) = report.problems
    assert problem.commit == bad and problem.individual is None
    assert problem.claimed == spell(lie) and problem.recomputed == spell(true)
    assert f"state {result.best_state}" in problem.reason


def test_a_generation_trailer_that_disagrees_with_its_record(
    evolved: tuple[Store, RunResult],
) -> None:
    store, result = evolved
    ref = f"refs/runs/{result.run_id}"
    tip = str(store.repo.references[ref].target)
    commit = store.repo[tip].peel(pygit2.Commit)
    lines = [
        f"{TRAILER_FITNESS}: 1e9" if line.startswith(TRAILER_FITNESS) else line
        for line in commit.message.splitlines()
    ]
    bad = resign(store, tip, commit.tree_id, "\n".join(lines))
    store.repo.references.create(ref, bad, force=True)
    problems = recompute(store.repo, [bad], count=0).problems
    assert [p.claimed for p in problems] == ["1e9"]
    assert "generation.json's best is" in problems[0].reason


def test_a_result_whose_run_is_absent_cannot_be_rechecked(
    evolved: tuple[Store, RunResult],
) -> None:
    store, result = evolved
    store.repo.references.delete(f"refs/runs/{result.run_id}")
    (problem,) = recompute(store.repo, [store.head()], count=None).problems
    assert problem.commit == result.result_commit
    assert problem.reason == (
        f"cannot be re-checked: run {result.run_id} is not in this store "
        "(fetch refs/runs/*, or restore a run deleted here, to re-check it)"
    )


def test_a_result_that_is_not_the_best_of_its_generation(
    evolved: tuple[Store, RunResult],
) -> None:
    store, result = evolved
    commit = store.repo[store.head()].peel(pygit2.Commit)
    trailers = {
        line.split(": ", 1)[0]: line.split(": ", 1)[1]
        for line in commit.message.splitlines()
        if line.startswith("Mindgit-") and not line.startswith("Mindgit-State")
    }
    # Another state, claiming to be the run's result (with the true result's score).
    state = store.state()
    changed = state.with_genome(
        state.genome.with_genes(Gene.make("x0", "float", 0.25, min=-5.12, max=5.12))
    )
    other = store.commit_state(changed, {}, "not evolved", trailers=trailers)
    problems = recompute(store.repo, [other.id], count=0).problems
    reasons = [p.reason for p in problems]
    assert any(f"has best state {result.best_state}, not this state" in r for r in reasons)
    assert any("claimed" in r and "the sandbox gives" in r for r in reasons)


# ---- choosing claims --------------------------------------------------------------------------


def claims(n: int, run: str = "r") -> list[Claim]:
    return [Claim(f"{run}{i:039x}", GENERATION, run, i) for i in range(n)]


def test_select_spreads_evenly_and_always_takes_the_final_claims() -> None:
    gens = claims(21)
    result = Claim("f" * 40, RESULT, "r", 20)
    chosen = select_claims([*gens, result], 4)
    # The final generation and the result, plus the middle of 4 equal slices of the other 20.
    assert [c.generation for c in chosen if c.kind == GENERATION] == [2, 7, 12, 17, 20]
    assert result in chosen
    assert select_claims([*gens, result], 4) == chosen
    assert [c.generation for c in select_claims(gens, 0)] == [20]
    assert select_claims(gens, None) == gens
    assert select_claims(gens, 100) == gens


def test_select_keeps_each_run_s_newest_generation() -> None:
    mixed = [*claims(5, "a"), *claims(3, "b")]
    chosen = select_claims(mixed, 0)
    assert {(c.run_id, c.generation) for c in chosen} == {("a", 4), ("b", 2)}


@pytest.mark.parametrize(("text", "count"), [("20", 20), ("0", 0), ("all", None), ("ALL", None)])
def test_parse_count(text: str, count: int | None) -> None:
    assert parse_count(text) == count


@pytest.mark.parametrize("text", ["-1", "x", "2.5", ""])
def test_parse_count_refuses(text: str) -> None:
    with pytest.raises(InvalidRecomputeCount):
        parse_count(text)


def test_bits_and_spelling() -> None:
    assert bits(-1.5) == "bff8000000000000"
    assert spell(-1.5) == "-1.5 (0xbff8000000000000)"
    assert bits(0.0) != bits(-0.0)


def test_claims_are_found_only_in_the_range(evolved: tuple[Store, RunResult]) -> None:
    store, result = evolved
    assert result.result_commit is not None
    assert find_claims(store.repo, [store.head()], [result.result_commit]) == []
    assert len(find_claims(store.repo, everything(store))) == GENERATIONS + 1


def test_a_result_brings_the_generations_of_its_run(evolved: tuple[Store, RunResult]) -> None:
    store, result = evolved
    found = find_claims(store.repo, [store.head()])
    assert [c.kind for c in found] == [RESULT] + [GENERATION] * GENERATIONS
    assert [c.generation for c in found[1:]] == list(range(GENERATIONS))
    # Generations already behind --since stay there.
    tip = str(store.repo.references[f"refs/runs/{result.run_id}"].target)
    assert [c.kind for c in find_claims(store.repo, [store.head()], [tip])] == [RESULT]


# ---- the command ------------------------------------------------------------------------------


def test_verify_recompute_command(evolved: tuple[Store, RunResult], mg: Mg) -> None:
    store, result = evolved
    ok = mg("--store", str(store.path), "verify", "--all", "--recompute", "all")
    assert ok.code == 0, ok.err
    assert f"{GENERATIONS + 1} of {GENERATIONS + 1} fitness claims recomputed, 0 failed" in ok.err
    some = mg("--store", str(store.path), "verify", "--all", "--recompute", "1", "--json")
    out = json.loads(some.out)
    assert out["ok"] and out["recompute"]["claims"] == GENERATIONS + 1
    assert len(out["recompute"]["recomputed"]) == 3  # result, last generation, one spread
    assert result.result_commit is not None
    since = mg(
        "--store", str(store.path), "verify", "--since", result.result_commit, "--recompute", "20"
    )
    assert since.code == 0 and "0 of 0 fitness claims recomputed" in since.err
    bad = mg("--store", str(store.path), "verify", "--recompute", "many")
    assert bad.code == 2 and "--recompute 'many'" in bad.err


def test_verify_recompute_command_fails_on_a_tampered_claim(
    evolved: tuple[Store, RunResult], mg: Mg
) -> None:
    store, result = evolved

    def nudge(record: GenerationRecord) -> GenerationRecord:
        i = worst(record)
        ind = record.individuals[i]
        assert ind.score is not None
        return with_individual(
            record, i, Individual(ind.state, ind.score * 2 - 1, ind.parents, None)
        )

    bad = tamper_generation(store, result.run_id, nudge)
    res = mg("--store", str(store.path), "verify", "--all", "--recompute", "0")
    assert res.code == 1
    assert f"FAIL {bad[:12]} individual " in res.out and "the sandbox gives" in res.out
    assert "0 commits failed" not in res.err and "1 failed" in res.err


def test_verify_with_a_trust_file_in_a_plain_clone(
    evolved: tuple[Store, RunResult], mg: Mg, tmp_path: Path
) -> None:
    """What CI runs: a checkout (not a store) and the trusted keys from a file."""
    store, _ = evolved
    trust = tmp_path / "allowed_signers"
    trust.write_text(store.trust.export())
    clone = tmp_path / "checkout"
    git("clone", "-q", str(store.path), str(clone))
    git(
        "-C",
        str(clone),
        "fetch",
        "-q",
        "origin",
        "+refs/runs/*:refs/runs/*",
        "+refs/fitness/*:refs/fitness/*",
    )
    res = mg("--store", str(clone), "verify", "--trust", str(trust), "--recompute", "all")
    assert res.code == 0, res.out + res.err
    # The experiment holds one claim, the result; its run's generations come with it, and the
    # run's commits are verified too (3 on the experiment, 6 generations).
    assert f"{GENERATIONS + 1} of {GENERATIONS + 1} fitness claims recomputed, 0 failed" in res.err
    assert f"{3 + GENERATIONS} commits checked, 0 failed" in res.err
    missing = mg("--store", str(clone), "verify", "--trust", str(tmp_path / "nope"))
    assert missing.code == 2 and "no such file" in missing.err
    elsewhere = mg("--store", str(tmp_path), "verify", "--trust", str(trust))
    assert elsewhere.code == 1 and "is not a mindgit store" in elsewhere.err


def replace_in_run_tip(store: Store, run_id: str, path: list[str], data: bytes) -> str:
    """The run's newest generation with the blob at ``path`` replaced, re-signed."""
    ref = f"refs/runs/{run_id}"
    tip = str(store.repo.references[ref].target)
    commit = store.repo[tip].peel(pygit2.Commit)

    def rebuild(tree: pygit2.Tree, rest: list[str]) -> pygit2.Oid:
        tb = store.repo.TreeBuilder(tree)
        if len(rest) == 1:
            tb.insert(rest[0], store.repo.create_blob(data), pygit2.enums.FileMode.BLOB)
        else:
            sub = store.repo[tree[rest[0]].id]
            assert isinstance(sub, pygit2.Tree)
            tb.insert(rest[0], rebuild(sub, rest[1:]), pygit2.enums.FileMode.TREE)
        oid: pygit2.Oid = tb.write()
        return oid

    new = resign(store, tip, rebuild(commit.tree, path), commit.message)
    store.repo.references.create(ref, new, force=True)
    return new


def test_a_swapped_module_cannot_be_rechecked(evolved: tuple[Store, RunResult]) -> None:
    store, result = evolved
    other = (FIXTURES / "fitness" / "onemax.wat").read_bytes()
    bad = replace_in_run_tip(store, result.run_id, ["module.wasm"], other)
    problems = recompute(store.repo, [bad], count=0).problems
    assert [p.commit for p in problems] == [bad]
    assert "cannot be re-checked: module.wasm is not the module" in problems[0].reason


def test_a_state_that_does_not_decode_cannot_be_rechecked(
    evolved: tuple[Store, RunResult],
) -> None:
    store, result = evolved
    tip = read_generation_commit(
        store.repo, str(store.repo.references[f"refs/runs/{result.run_id}"].target)
    )
    state = str(tip.record.individuals[0].state)
    bad = replace_in_run_tip(store, result.run_id, ["states", state], b"{not json")
    (problem,) = recompute(store.repo, [bad], count=0).problems
    assert problem.commit == bad and problem.reason.startswith("cannot be re-checked: ")


def test_a_run_whose_limits_exceed_this_node_s_is_not_rerun(store: Store) -> None:
    """A peer's run cannot make this node spend more fuel than it allows itself."""
    store.set_genes([Gene.make(f"x{i}", "float", 1.5 - i, min=-5.12, max=5.12) for i in range(3)])
    start_run(store, str(RASTRIGIN), RunParams(population=8, generations=2, seed=3), fuel=10**12)
    report = recompute(store.repo, everything(store), count=None)
    assert not report.ok
    assert all("exceed this node's" in p.reason for p in report.problems)
    store.config_set("mindgit.fuel", str(10**12))
    assert recompute(store.repo, everything(store), count=None).ok


def test_the_newest_generation_of_a_run_is_its_generation_0_over_an_unnumbered_claim() -> None:
    # `generation or -1` ranked generation 0 with a claim whose number could not be read, so
    # the later of the two in the list was taken as the run's newest and always re-run.
    gen0 = Claim("a" * 40, GENERATION, "r" * 12, 0)
    unnumbered = Claim("b" * 40, GENERATION, "r" * 12, None)
    assert [c.commit for c in select_claims([gen0, unnumbered], 0)] == [gen0.commit]
