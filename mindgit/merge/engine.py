"""``mindgit merge``: merge one experiment (or any commit) into another, in a store.

- Up to date when theirs is an ancestor of into's head; a fast-forward (no new commit) when
  into's head is an ancestor of theirs.
- Otherwise a three-way merge of the states from their merge base (``mindgit.merge.core``),
  conflicts decided by fitness (``mindgit.merge.search``), written as a signed commit with both
  heads as parents, whose trailers record each fitness decision. The private thoughts that not
  all three states hold are read (not opened: ``mindgit.merge.envelopes``) so that a shared
  one is the same thought; what the merge decided about them is in the message. The
  experiment's ref moves by compare-and-swap from the head the merge was computed on: if it
  moved meanwhile, nothing changes (``RefMoved``).
- Histories with no common commit need ``allow_unrelated`` (the merge then has no base).
  Several merge bases (criss-cross history) are merged into one virtual base first, oldest
  first, as git's ``ort`` strategy does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pygit2

from mindgit.errors import MindgitError, listed, one_line, quoted
from mindgit.ipld import dagjson
from mindgit.ipld.cid import CID, DAG_JSON
from mindgit.merge.core import (
    BY_FITNESS,
    FORGOTTEN,
    Decision,
    ThoughtDecision,
    three_way,
)
from mindgit.merge.envelopes import EnvelopeReader
from mindgit.merge.lookup import FitnessChoice, find_fitness, find_module, module_cache
from mindgit.merge.search import (
    CHOOSE_A_MODULE,
    LISTED_PATTERNS,
    MergeConflict,
    ModuleScorer,
    Scorer,
    resolve,
)
from mindgit.store import layout
from mindgit.store.genome import Gene
from mindgit.store.objects import as_commit
from mindgit.store.refs import RefMoved, locked_ref, update_ref
from mindgit.store.repository import (
    HEADS,
    HeadDetached,
    HeadUnreadable,
    NotAState,
    Snapshot,
    Store,
    held_instead,
)
from mindgit.store.state import SchemaError, State, check_thought
from mindgit.store.verify import MAX_BLOB_BYTES

TRAILER_PATTERN = "Mindgit-Merge-Pattern"
TRAILER_MODULE = "Mindgit-Module"
TRAILER_ENTRY = "Mindgit-Merge-Entry"
TRAILER_STATE = "Mindgit-State"
# Criss-cross histories nest virtual bases; git bounds its own recursion similarly.
_MAX_DEPTH = 32
# Recipients (or envelopes) a message names for one thought, at most; --json has them all.
_LISTED = 8
# What an ed25519 did:key looks like (mindgit.store.sealed refuses more than 64 characters).
_DID_KEY = re.compile(r"did:key:z[1-9A-HJ-NP-Za-km-z]{1,56}")


class UnrelatedHistories(MindgitError):
    """The two sides share no commit, and the caller did not allow that."""

    def __init__(self, into: str, theirs: str) -> None:
        super().__init__(
            f"{theirs} and {into} share no history; nothing was changed",
            hint="merge anyway with --allow-unrelated (every pattern then counts as added)",
        )
        self.into = into
        self.theirs = theirs


class MergeIntoItself(MindgitError):
    """The experiment to merge is the experiment merged into (a slip: two names were meant)."""

    def __init__(self, experiment: str) -> None:
        super().__init__(
            f"cannot merge {experiment} into itself; nothing was changed",
            hint="name another experiment to merge, or the one to merge into with --into EXP",
        )
        self.experiment = experiment


class MergeBasesConflict(MergeConflict):
    """A criss-cross history's merge bases conflict, and no fitness module decides merging
    them into the virtual base (the two sides themselves may agree on those patterns)."""

    def __init__(
        self, patterns: Sequence[str], into: str, theirs: str, bases: Sequence[str]
    ) -> None:
        MindgitError.__init__(
            self,
            f"the merge bases of {into} and {theirs} ({listed([b[:12] for b in bases], _LISTED)}) "
            f"changed {len(patterns)} pattern(s) differently "
            f"({listed(patterns, LISTED_PATTERNS)}) and no "
            "fitness module decides; nothing was changed",
            hint=CHOOSE_A_MODULE,
        )
        self.patterns = tuple(patterns)
        self.bases = tuple(bases)


class InvalidThought(MindgitError):
    """A thought (or a memory's or data's block: ``kind`` "block") the merge takes from theirs
    is not a valid one: the merged state, which this node signs, would fail ``mindgit verify``."""

    def __init__(self, theirs: str, cid: CID, problem: str, kind: str = "thought") -> None:
        super().__init__(
            f"{kind} {cid}, which the merge takes from {theirs[:12]}, is not a valid {kind} "
            f"({problem}); nothing was changed",
            hint=f"`mindgit verify {theirs[:12]}` says what is wrong with that history (a ref "
            "fetched with plain git is never checked); merge a history that passes it",
        )
        self.theirs = theirs
        self.cid = cid
        self.problem = problem
        self.kind = kind


@dataclass(frozen=True, slots=True)
class MergeOutcome:
    """What a merge did (or, for a dry run, would do).

    ``commit`` is what the experiment points at afterwards (the new merge commit, theirs for a
    fast-forward, the unchanged head when up to date); None for a dry run.
    """

    commit: str | None
    manifest: CID
    fast_forward: bool
    up_to_date: bool
    decisions: tuple[Decision, ...]
    module: CID | None
    candidates_scored: int
    into: str = ""
    ours: str = ""
    theirs: str = ""
    bases: tuple[str, ...] = ()
    entry: str | None = None
    minimize: bool = False
    fitness_source: str | None = None
    thoughts_added: tuple[CID, ...] = ()
    thoughts_removed: tuple[CID, ...] = ()
    dry_run: bool = False
    thought_decisions: tuple[ThoughtDecision, ...] = ()


@dataclass(frozen=True, slots=True)
class MergePlan:
    """A merge computed and checked, not yet written: :func:`apply_merge` writes it."""

    outcome: MergeOutcome
    state: State
    message: str
    # What the merged state takes from theirs, read and checked (empty when nothing is written
    # but a ref: up to date or a fast-forward).
    new: Mapping[CID, bytes] = field(compare=False)
    ours_tree: pygit2.Tree | None = field(default=None, compare=False)


def merge(
    store: Store,
    theirs: str,
    *,
    into: str | None = None,
    fitness: str | None = None,
    dry_run: bool = False,
    allow_unrelated: bool = False,
) -> MergeOutcome:
    """Merge ``theirs`` (an experiment, ``name~N``, a commit id) into ``into`` (default: the
    current experiment).

    >>> merge(store, "dreamer", fitness="rastrigin").decisions  # doctest: +SKIP
    """
    plan = plan_merge(store, theirs, into=into, fitness=fitness, allow_unrelated=allow_unrelated)
    if dry_run:
        return plan.outcome
    return apply_merge(store, plan)


def plan_merge(
    store: Store,
    theirs: str,
    *,
    into: str | None = None,
    fitness: str | None = None,
    allow_unrelated: bool = False,
) -> MergePlan:
    """Compute a merge without writing anything (a module given as a path is read, not stored)."""
    try:
        exp = store.experiment(into)
    except (HeadDetached, HeadUnreadable) as e:
        # git would merge into a detached commit; here a merge moves an experiment, and a commit
        # only HEAD holds is lost at the next switch: name the experiment instead.
        e.hint = f"name the experiment to merge into with --into EXP; or {e.hint}"
        raise
    if theirs in (exp, HEADS + exp) or (theirs == "HEAD" and _current(store) == exp):
        raise MergeIntoItself(exp)
    if fitness is not None:
        find_module(store.repo, fitness)  # it must exist, whether or not a conflict needs it
    ours_id = store.head(exp)
    theirs_id = store.resolve(theirs)
    _check_state(store.repo, theirs, theirs_id)
    ours_snap = store.snapshot(ours_id)
    theirs_snap = store.snapshot(theirs_id)
    repo = store.repo
    if ours_id == theirs_id or repo.descendant_of(ours_id, theirs_id):
        return _trivial(exp, ours_snap, theirs_snap, up_to_date=True)
    if repo.descendant_of(theirs_id, ours_id):
        # The experiment takes theirs' tree as it is, and this node's next commit on it signs
        # it: what a merge would take from theirs is checked as a merge checks it (a branch
        # fetched with plain git was never gated).
        _check_taken(theirs_id, _changed_files(repo, ours_snap, theirs_snap))
        return _trivial(exp, ours_snap, theirs_snap, up_to_date=False)
    bases = merge_bases(repo, ours_id, theirs_id)
    if not bases and not allow_unrelated:
        raise UnrelatedHistories(exp, theirs)

    lazy = _LazyFitness(store, fitness, exp)
    envelopes = EnvelopeReader(repo)
    envelopes.add(ours_snap.tree)
    envelopes.add(theirs_snap.tree)
    try:
        base = base_state(repo, bases, lazy.scorer, envelopes=envelopes)
    except MergeConflict as e:
        raise MergeBasesConflict(e.patterns, exp, theirs, bases) from None
    merge3 = three_way(
        base,
        ours_snap.state,
        theirs_snap.state,
        envelopes.for_merge(base, ours_snap.state, theirs_snap.state),
    )
    resolution = resolve(merge3, lazy.scorer() if merge3.conflicts else None)
    # Looked up only when a conflict needed it, here or in merging the merge bases: a module
    # that decided only the bases still decided the merged state, so the commit names it.
    found = lazy.choice
    module = found.cid if found is not None else None
    manifest = resolution.state.manifest()
    outcome = MergeOutcome(
        commit=None,
        manifest=manifest.cid,
        fast_forward=False,
        up_to_date=False,
        decisions=resolution.decisions,
        module=module,
        candidates_scored=resolution.candidates_scored,
        into=exp,
        ours=ours_id,
        theirs=theirs_id,
        bases=tuple(bases),
        entry=resolution.entry,
        minimize=found.minimize if found is not None else False,
        fitness_source=found.source if found is not None else None,
        thoughts_added=_sorted(resolution.state.thoughts - ours_snap.state.thoughts),
        thoughts_removed=_sorted(ours_snap.state.thoughts - resolution.state.thoughts),
        dry_run=True,
        thought_decisions=merge3.thought_decisions,
    )
    # Checked here, so that --dry-run says a merge would fail as the merge does.
    new = new_objects(repo, resolution.state, ours_snap.state, theirs_snap.tree, theirs_id)
    message = merge_message(theirs, exp, outcome)
    return MergePlan(outcome, resolution.state, message, new, ours_snap.tree)


def _current(store: Store) -> str | None:
    """The current experiment, or None when HEAD names none (detached, damaged): ``HEAD`` is
    then a commit to merge like any other, never the experiment merged into."""
    try:
        return store.current
    except (HeadDetached, HeadUnreadable):
        return None


def _check_state(repo: pygit2.Repository, rev: str, commit_id: str) -> None:
    """Refuse a commit that holds no state, saying what it is (see held_instead)."""
    instead = held_instead(repo, commit_id)
    if instead is not None:
        kind, what = instead
        raise NotAState(rev, commit_id, what, _MERGE_HINTS[kind])


# What to merge instead of a commit that holds no state (held_instead's kinds).
_MERGE_HINTS = {
    "run": "a run commits its best state to its experiment when it ends: merge that experiment",
    "fitness": "a module decides a merge, it is not merged: pass it with --fitness",
    "other": "name an experiment (`mindgit experiments`) or one of its commits",
}


class _LazyFitness:
    """The merge's fitness module: looked up and compiled only when a conflict needs it."""

    def __init__(self, store: Store, spec: str | None, experiment: str) -> None:
        self._store = store
        self._spec = spec
        self._experiment = experiment
        self._looked = False
        self._scorer: Scorer | None = None
        self.choice: FitnessChoice | None = None

    def scorer(self) -> Scorer | None:
        if not self._looked:
            self._looked = True
            store = self._store
            self.choice = find_fitness(
                store.repo, spec=self._spec, experiment=self._experiment, own_key=store.public_key
            )
            if self.choice is not None:
                module = self.choice.load(module_cache(store))
                self._scorer = ModuleScorer(module, self.choice.cid, self.choice.minimize)
        return self._scorer


def apply_merge(store: Store, plan: MergePlan) -> MergeOutcome:
    """Write a planned merge: the commit, then the ref by compare-and-swap from the planned head."""
    out = plan.outcome
    ref = HEADS + out.into
    if out.up_to_date:
        return _done(out, out.ours)
    who = f"{store.name} <{store.public_key.did}>"  # a bad key fails before anything is written
    if out.fast_forward:
        update_ref(
            store.repo,
            ref,
            out.theirs,
            out.ours,
            message="merge: fast-forward",
            committer=who,
            wait=store.lock_wait,
        )
        return _done(out, out.theirs)
    assert plan.ours_tree is not None
    repo = store.repo
    state = plan.state
    _ = store.signing_key  # a bad key file must fail before any object is written
    # The ref is locked before any object is written: a merge that cannot take the lock, or
    # finds the ref moved, leaves no unreachable tree or commit behind.
    with locked_ref(repo, ref, wait=store.lock_wait) as held:
        if held.current != out.ours:
            raise RefMoved(ref, out.ours, held.current)
        tree, manifest = layout.write_state(repo, state, plan.new, plan.ours_tree)
        assert manifest.cid == out.manifest
        commit = store.write_commit(tree, [out.ours, out.theirs], plan.message)
        held.set(commit, message=plan.message.splitlines()[0], committer=who)
    return _done(out, commit)


def new_objects(
    repo: pygit2.Repository, merged: State, ours: State, theirs_tree: pygit2.Tree, theirs: str
) -> Mapping[CID, bytes]:
    """The thoughts and blocks the merged state takes from theirs (commit ``theirs``), each
    checked as ``mindgit verify`` checks it: the merged state is signed by this node."""
    try:
        thoughts = dict(layout.read_thoughts(repo, theirs_tree, merged.thoughts - ours.thoughts))
        new = dict(layout.read_blocks(repo, theirs_tree, merged.blocks - ours.blocks))
    except layout.StateNotFound as e:
        raise _named_theirs(e, theirs) from None
    _check_taken(theirs, (thoughts, new))
    new.update(thoughts)
    return new


def _changed_files(
    repo: pygit2.Repository, ours: Snapshot, theirs: Snapshot
) -> tuple[dict[CID, bytes], dict[CID, bytes]]:
    """The thoughts and blocks theirs links whose file ours' tree does not hold the same (by
    blob id, under the same name), read from theirs' tree: what a fast-forward takes."""

    def changed(dirname: str, cids: frozenset[CID]) -> list[CID]:
        mine = _entries(repo, ours.tree, dirname)
        other = _entries(repo, theirs.tree, dirname)
        return sorted(
            (c for c in cids if (o := other.get(str(c))) is None or mine.get(str(c)) != o),
            key=str,
        )

    thoughts = changed(layout.THOUGHTS, theirs.state.thoughts)
    blocks = changed(layout.BLOCKS, theirs.state.blocks)
    try:
        return (
            dict(layout.read_thoughts(repo, theirs.tree, thoughts)),
            dict(layout.read_blocks(repo, theirs.tree, blocks)),
        )
    except layout.StateNotFound as e:
        raise _named_theirs(e, theirs.commit) from None


def _named_theirs(e: layout.StateNotFound, theirs: str) -> layout.StateNotFound:
    """A thought or block theirs' manifest links and its tree does not hold (or not as a
    file): said of the commit it is taken from, with what to do. It read as 'thought X is not
    in tree T', a tree the user never named, with no hint; a damaged store keeps its own."""
    if isinstance(e, layout.StateUnreadable) or e.hint is not None:
        return e
    return layout.StateNotFound(
        f"{e}, the tree of {theirs[:12]}, which the merge takes it from; nothing was changed",
        hint=f"`mindgit verify {theirs[:12]}` says what is wrong with that history (a ref "
        "fetched with plain git is never checked); merge a history that passes it",
    )


def _entries(repo: pygit2.Repository, tree: pygit2.Tree, dirname: str) -> dict[str, object]:
    """A state directory's entries: name -> (blob id, mode); none if the tree has no such
    directory, or one that cannot be read (read_thoughts then says what is wrong)."""
    if dirname not in tree:
        return {}
    try:
        sub = repo.get(tree[dirname].id)
    except (KeyError, pygit2.GitError):
        return {}
    if not isinstance(sub, pygit2.Tree):
        return {}
    return {e.name: (e.id, e.filemode) for e in sub if e.name is not None}


def _check_taken(theirs: str, taken: tuple[Mapping[CID, bytes], Mapping[CID, bytes]]) -> None:
    """Refuse a thought or block taken from commit ``theirs`` that ``mindgit verify`` would."""
    thoughts, new = taken
    for cid, data in (*thoughts.items(), *new.items()):
        # Theirs may be a ref fetched with plain git, never verified: a blob held under
        # another thought's name went into the merged state this node signs.
        cid.verify(data)
    for cid, data in thoughts.items():
        # And a thought no verify passes (an envelope of 20 MB, a recipient that is no key),
        # which the merge signed: a peer's copy of a private thought this node forgot came
        # back so, as a thought of its own the merge could not read as an envelope.
        try:
            check_thought(cid, data)
        except SchemaError as e:
            raise InvalidThought(theirs, cid, e.problem) from None
    for cid, data in new.items():
        problem = _block_problem(cid, data)
        if problem is not None:
            raise InvalidThought(theirs, cid, problem, "block")


def _block_problem(cid: CID, data: bytes) -> str | None:
    """Why a memory's or data's block fails ``mindgit verify`` (a canonical DAG-JSON block of
    at most MAX_BLOB_BYTES; it hashes to its name), or None: a peer's block of ``{"a": 1}``,
    spaced, was signed into the merged state."""
    if len(data) > MAX_BLOB_BYTES:
        return f"{len(data)} bytes is over the {MAX_BLOB_BYTES}-byte limit"
    if cid.codec != DAG_JSON:
        return f"codec 0x{cid.codec:x} is not dag-json"
    try:
        dagjson.decode(data)
    except MindgitError as e:
        return f"not canonical DAG-JSON: {e}"
    return None


def merge_message(theirs: str, into: str, outcome: MergeOutcome) -> str:
    """The merge commit's message: a summary and one trailer block recording the decisions."""
    fitness = [d for d in outcome.decisions if d.reason == BY_FITNESS]
    # A revision may be spelled with a newline (a regex: ``name^{/a|\nb}``): one line, always,
    # so what was typed can never stand as a line, or a trailer, of the signed message; and
    # with no control codes, which `git log` would hand to every terminal that shows it.
    theirs = one_line(theirs)
    lines = [f"merge {theirs} into {into}", ""]
    taken = sum(1 for d in outcome.decisions if d.winner == "theirs")
    lines.append(
        f"{taken} of {len(outcome.decisions)} changed pattern(s) from {theirs}, "
        f"{len(fitness)} decided by fitness; {len(outcome.thoughts_added)} thought(s) added, "
        f"{len(outcome.thoughts_removed)} removed."
    )
    lines.extend(thought_decision_line(d) for d in outcome.thought_decisions)
    lines.append("")
    for d in fitness:
        lines.append(
            f"{TRAILER_PATTERN}: {d.pattern} ours={_score(d.scores['ours'])} "
            f"theirs={_score(d.scores['theirs'])} winner={d.winner}"
        )
    if outcome.module is not None:
        lines.append(f"{TRAILER_MODULE}: {outcome.module}")
    if outcome.entry is not None:
        lines.append(f"{TRAILER_ENTRY}: {outcome.entry}")
    lines.append(f"{TRAILER_STATE}: {outcome.manifest}")
    return "\n".join(lines) + "\n"


def thought_decision_line(d: ThoughtDecision) -> str:
    """One sentence saying what a merge decided about a private thought both sides changed."""
    other = "theirs" if d.winner == "ours" else "ours"
    if d.reason == FORGOTTEN:
        shared = d.theirs if d.winner == "ours" else d.ours
        return (
            f"Private thought {_cids(d.base)} stays forgotten: {d.winner} forgot it, {other} "
            f"shared it (as {_cids(shared)})."
        )
    kept, lost = (d.ours, d.theirs) if d.winner == "ours" else (d.theirs, d.ours)
    what = (
        f"Private thought {_cids(d.base)} was shared on both sides"
        if d.base
        else f"Private thought {_cids(kept)} is held as another envelope on each side"
    )
    line = f"{what}: {d.winner}' envelope {_cids(kept)} kept, {other}' {_cids(lost)} not"
    if d.dropped:
        line += f"; no longer shared with {listed([_did(r) for r in d.dropped], _LISTED)}"
    return line + "."


def _cids(cids: tuple[CID, ...]) -> str:
    return listed([str(c) for c in cids], _LISTED) if cids else "(none)"


def _did(text: str) -> str:
    """A recipient as the message shows it: a did:key as it is, anything else quoted, cut and
    on one line. The merge reads an envelope's recipients without parsing the keys, and a
    peer's "did:key:" followed by newlines and a trailer, or a terminal's escape codes, went
    into the message this node signs and onto the terminal as written."""
    return text if _DID_KEY.fullmatch(text) else one_line(quoted(text, 40))


def _score(value: float | None) -> str:
    return "failed" if value is None else repr(value)


def _sorted(cids: frozenset[CID]) -> tuple[CID, ...]:
    return tuple(sorted(cids, key=str))


def _done(outcome: MergeOutcome, commit: str) -> MergeOutcome:
    return replace(outcome, commit=commit, dry_run=False)


def _trivial(exp: str, ours: Snapshot, theirs: Snapshot, *, up_to_date: bool) -> MergePlan:
    target = ours if up_to_date else theirs
    outcome = MergeOutcome(
        commit=None,
        manifest=target.manifest.cid,
        fast_forward=not up_to_date,
        up_to_date=up_to_date,
        decisions=(),
        module=None,
        candidates_scored=0,
        into=exp,
        ours=ours.commit,
        theirs=theirs.commit,
        thoughts_added=() if up_to_date else _sorted(theirs.state.thoughts - ours.state.thoughts),
        thoughts_removed=() if up_to_date else _sorted(ours.state.thoughts - theirs.state.thoughts),
        dry_run=True,
    )
    return MergePlan(outcome, target.state, "", {})


def merge_bases(repo: pygit2.Repository, a: str | Sequence[str], b: str) -> list[str]:
    """Every best common ancestor of ``a`` (one commit, or all of several) and ``b``, oldest
    first (by commit time, then id)."""
    tips = [a] if isinstance(a, str) else list(a)
    if all(repo.merge_base(pygit2.Oid(hex=t), pygit2.Oid(hex=b)) is None for t in tips):
        return []
    walker = repo.walk(None)
    for tip in tips:
        walker.push(pygit2.Oid(hex=tip))
    ancestors = {str(c.id) for c in walker}
    found: set[str] = set()
    seen: set[str] = set()
    todo = [b]
    while todo:
        cid = todo.pop()
        if cid in seen:
            continue
        seen.add(cid)
        if cid in ancestors:
            found.add(cid)  # its own ancestors are common too, but never better
            continue
        commit = as_commit(repo[cid])
        assert commit is not None
        todo.extend(str(p) for p in commit.parent_ids)
    best = [c for c in found if not any(d != c and repo.descendant_of(d, c) for d in found)]
    return sorted(best, key=lambda c: (_time(repo, c), c))


def base_state(
    repo: pygit2.Repository,
    bases: Sequence[str],
    scorer: Callable[[], Scorer | None],
    depth: int = 0,
    *,
    envelopes: EnvelopeReader,
) -> State | None:
    """The merge base's state; several bases are merged into one (oldest first), like git.

    ``envelopes`` reads the private thoughts each of those merges needs (and learns the bases'
    trees).
    """
    if not bases:
        return None
    merged = _state(repo, bases[0], envelopes)
    if depth >= _MAX_DEPTH:
        return merged
    merged_from = [bases[0]]
    for commit in bases[1:]:
        # The virtual base so far descends from every base merged into it.
        inner = base_state(
            repo, merge_bases(repo, merged_from, commit), scorer, depth + 1, envelopes=envelopes
        )
        theirs = _state(repo, commit, envelopes)
        known = envelopes.for_merge(inner, merged, theirs)
        merge3 = three_way(inner, merged, theirs, known)
        merged = resolve(merge3, scorer() if merge3.conflicts else None).state
        merged_from.append(commit)
    return merged


def _state(repo: pygit2.Repository, commit_id: str, envelopes: EnvelopeReader) -> State:
    commit = as_commit(repo[commit_id])
    assert commit is not None
    tree = layout.commit_tree(repo, commit)
    envelopes.add(tree)
    return layout.read_state(repo, tree)[0]


def _time(repo: pygit2.Repository, commit_id: str) -> int:
    commit = as_commit(repo[commit_id])
    assert commit is not None
    return commit.commit_time


def decisions_json(decisions: Sequence[Decision]) -> list[dict[str, object]]:
    """Decisions as plain JSON data (for ``--json`` and other tools)."""
    return [
        {
            "pattern": d.pattern,
            "kind": d.kind,
            "ours": _value_json(d.ours),
            "theirs": _value_json(d.theirs),
            "scores": dict(d.scores),
            "winner": d.winner,
            "reason": d.reason,
        }
        for d in decisions
    ]


def _value_json(value: object) -> object:
    if isinstance(value, Gene):
        return value.to_node()
    if isinstance(value, CID):
        return {"/": str(value)}
    return None


def outcome_json(outcome: MergeOutcome) -> Mapping[str, object]:
    """A merge outcome as plain JSON data."""
    return {
        "commit": outcome.commit,
        "manifest": str(outcome.manifest),
        "fast_forward": outcome.fast_forward,
        "up_to_date": outcome.up_to_date,
        "dry_run": outcome.dry_run,
        "into": outcome.into,
        "ours": outcome.ours,
        "theirs": outcome.theirs,
        "bases": list(outcome.bases),
        "module": None if outcome.module is None else str(outcome.module),
        "fitness_source": outcome.fitness_source,
        "entry": outcome.entry,
        "minimize": outcome.minimize,
        "candidates_scored": outcome.candidates_scored,
        "decisions": decisions_json(outcome.decisions),
        "thoughts_added": [str(c) for c in outcome.thoughts_added],
        "thoughts_removed": [str(c) for c in outcome.thoughts_removed],
        "thought_decisions": [
            {
                "base": [str(c) for c in d.base],
                "ours": [str(c) for c in d.ours],
                "theirs": [str(c) for c in d.theirs],
                "winner": d.winner,
                "reason": d.reason,
                "dropped": list(d.dropped),
            }
            for d in outcome.thought_decisions
        ],
    }
