"""The same merge under stock ``git merge``: a merge driver for ``manifest.json``.

In a plain ``git clone`` of a store, ``mindgit git-setup`` (:func:`git_setup`) registers:

- ``$GIT_DIR/info/attributes``: ``/manifest.json merge=mindgit`` (there rather than in a
  ``.gitattributes`` file, so the work tree holds only the state);
- ``merge.mindgit.name`` and ``merge.mindgit.driver`` (``<python> -m mindgit merge-driver %O %A
  %B %P``, with the interpreter that ran the setup, so it works from a virtualenv);
- ``merge.mindgit.recursive`` = ``mindgit-bases``, a second driver (the same merge, with
  ``--virtual-base``) that git uses to merge the merge bases of a criss-cross history. git keeps
  whatever a failed merge of bases leaves as the base of the real merge, and goes on from it
  without a word; this driver leaves a mark there instead, which stops the real merge;
- ``+refs/fitness/*:refs/fitness/*`` and ``+refs/runs/*:refs/runs/*`` in the remote's fetch
  refspecs, then fetches them, so the driver finds fitness modules the way ``mindgit merge``
  does (``mindgit.merge.lookup``; ``mindgit.fitness`` and ``mindgit.minimize`` may be set in
  the clone's git config);
- ``mindgit.node``: this node's public key (given, or read from the store the remote names when
  it is a store on this machine), the only key whose runs may choose the fitness module;
- ``merge.renames`` = ``false`` and ``pull.twohead`` = ``recursive``: files named by their CIDs
  are never renamed, and git's rename detection made an edit of one memory on both sides a
  rename/rename conflict (:data:`NO_RENAMES`);
- ``pull.rebase`` = ``false``: ``git pull`` of a diverged experiment merges through the driver.

git merges ``thoughts/`` and ``blocks/`` itself (every name is a CID, so two sides never
conflict there) and calls the driver on ``manifest.json`` when both sides changed it. The
driver reads the three manifests, applies the same rule as ``mindgit merge`` and writes the
merged manifest over ``%A``. On any failure it leaves ``%A`` untouched, so git records a
conflict and nothing is lost. The rule needs to know which private thoughts are one thought
shared (``mindgit.merge.envelopes``): the driver reads the thoughts the three manifests do not
all list from the commits git is merging (``HEAD``, the ``GITHEAD_<id>`` heads ``git merge``
names in the environment, ``MERGE_HEAD``, ``CHERRY_PICK_HEAD``, ``REBASE_HEAD``, and their merge
bases), and fails, leaving a conflict, when one is in none of them (unless it is a note found
in a few more commits: :func:`_more_trees`, for a rebase, a cherry-pick or a revert).

``blocks/`` and ``thoughts/`` need one more step: git's tree merge keeps the losing side's block
of a memory or data conflict, drops a block that one side stopped using even when the merged
manifest still links it under another name, keeps an envelope one side shared of a thought the
other forgot, and takes theirs' file under a name both sides link when only theirs changed it
(git does not check that it hashes to its name). :func:`tidy_blocks` (run by the ``post-merge``
hook that ``git-setup`` installs, and by its ``post-commit`` hook for a merge concluded by
``git commit`` after a conflict) rewrites both of the merge commit to exactly what the merged manifest links, so the
commit holds the same tree as ``mindgit merge`` writes. While ``git rebase`` runs, they leave
its merges alone (rewriting one there stopped the rebase), and :func:`tidy_rebase`, run by the
``post-rewrite`` hook git-setup installs too, tidies the merges ``--rebase-merges`` made once
the rebase is done.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pygit2

from mindgit.errors import MindgitError, quoted, shown_path
from mindgit.identity.keys import PublicKey
from mindgit.ipld.cid import CID
from mindgit.merge.core import Decision, Envelope, ThoughtDecision, three_way
from mindgit.merge.engine import merge_bases
from mindgit.merge.envelopes import EnvelopeReader, verified_blob
from mindgit.merge.lookup import CONFIG_NODE, FitnessChoice, find_fitness, node_key
from mindgit.merge.search import FitnessFailedEverywhere, ModuleScorer, Resolution, resolve
from mindgit.store import layout
from mindgit.store.fitness_store import FITNESS_PREFIX, UnknownFitness
from mindgit.store.generation import RUNS_PREFIX
from mindgit.store.objects import as_commit
from mindgit.store.repository import HEADS, MINDGIT_DIR, TRUST_FILE, Store
from mindgit.store.state import SchemaError, State, parse_manifest
from mindgit.store.verify import MAX_BLOB_BYTES

DRIVER = "mindgit"
# git merges the merge bases of a criss-cross history with the driver that
# merge.<driver>.recursive names: this one, the same merge that marks its failure.
BASES_DRIVER = "mindgit-bases"
ATTRIBUTE_LINE = f"/{layout.MANIFEST} merge={DRIVER}"
DRIVER_NAME = "mindgit fitness-guided merge of mind states"
REFSPECS = (f"+{FITNESS_PREFIX}*:{FITNESS_PREFIX}*", f"+{RUNS_PREFIX}*:{RUNS_PREFIX}*")
# What git-setup sets so that git's tree merge never sees a rename (see git_setup).
NO_RENAMES = (("merge.renames", "false"), ("pull.twohead", "recursive"))
PULL_REBASE = "pull.rebase"
HOOK = "post-merge"
# The same tidy after `git commit`, which concludes a merge that stopped on a conflict (or ran
# with --no-commit): git runs no post-merge hook then, and the merge commit kept in thoughts/
# the envelope one side shared of a thought the other forgot.
COMMIT_HOOK = "post-commit"
# While `git rebase --rebase-merges` runs, the tidy waits for its end: the sequencer keeps the
# index it committed in memory, and a merge rewritten under it stopped the rebase at the next
# pick ("your local changes would be overwritten"). git runs post-rewrite once the rebase is
# done, with the commits it made: :func:`tidy_rebase` tidies the merges among them then.
REWRITE_HOOK = "post-rewrite"
TIDY_REBASE_FLAG = "--tidy-rebase"
REBASE_REFLOG = "mindgit: tidy merges after rebase"
HOOK_MARK = "# written by mindgit git-setup"
VIRTUAL_BASE_FLAG = "--virtual-base"
# What the driver leaves as git's virtual merge base when it cannot merge the merge bases: not a
# manifest, so the merge that reads it as its base stops instead of going on from a guess.
UNMERGED_BASES = b"mindgit: unmerged merge bases: "


class MalformedManifest(MindgitError):
    """A manifest handed to the merge driver is not a valid state manifest."""

    def __init__(self, side: str, path: Path, problem: str) -> None:
        super().__init__(
            f"{side} manifest ({path}) is not a valid mindgit manifest: {problem}; "
            "the file was left as it was"
        )
        self.side = side
        self.path = path
        self.problem = problem


class UnmergedBases(MindgitError):
    """git's virtual merge base is the mark the driver left when it could not merge the merge
    bases of a criss-cross history (see :data:`UNMERGED_BASES`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the merge bases of this criss-cross history could not be merged into one "
            f"({reason}); the file was left as it was",
            hint="set a module that decides (`git config mindgit.fitness NAME`) and merge again, "
            "or resolve the conflict by hand",
        )
        self.reason = reason


class NotAClone(MindgitError):
    """git-setup was pointed at something that is not a git work tree."""

    def __init__(self, path: Path, why: str, hint: str | None = None) -> None:
        super().__init__(
            f"{shown_path(path)} {why}",
            hint=hint or "run `mindgit git-setup` inside a `git clone` of a store",
        )
        self.path = path


class SetupFileError(MindgitError):
    """git-setup cannot read or write a file of the clone's git directory."""

    def __init__(self, path: Path, problem: str, hint: str | None = None) -> None:
        super().__init__(
            f"cannot update {path}: {problem}; the merge driver was not registered",
            hint=hint or "check the file's permissions and run `mindgit git-setup` again",
        )
        self.path = path
        self.problem = problem


class GitSetupError(MindgitError):
    """A git command that git-setup runs failed."""

    def __init__(
        self, command: str, detail: str, hint: str | None = None, *, whole: str | None = None
    ) -> None:
        super().__init__(f"`{command}` failed: {detail}", hint=hint)
        self.command = command
        self.detail = detail
        # git's line uncut, for a caller that hides credentials in it before cutting it.
        self.whole = detail if whole is None else whole


@dataclass(frozen=True, slots=True)
class DriverResult:
    """What the driver wrote over ``%A``, and how it decided."""

    manifest: CID
    decisions: tuple[Decision, ...]
    module: CID | None
    candidates_scored: int
    fitness_source: str | None
    thought_decisions: tuple[ThoughtDecision, ...] = ()


def open_repository(start: Path | None = None) -> pygit2.Repository:
    """The repository git is working in: ``$GIT_DIR`` if set, else found from ``start``."""
    start = Path.cwd() if start is None else start
    git_dir = os.environ.get("GIT_DIR")
    found = str(start / git_dir) if git_dir else pygit2.discover_repository(str(start))
    if not found:
        raise NotAClone(start, "is not inside a git repository")
    try:
        return pygit2.Repository(found)
    except pygit2.GitError as e:
        # A $GIT_DIR naming no repository: one line and exit 1, not an internal error (exit 3).
        raise NotAClone(Path(found), f"is not a git repository ({e})") from None


def setup_predates_bases_driver(start: Path | None = None) -> bool:
    """Whether this clone registered the driver before ``merge.mindgit.recursive`` existed.

    There, git merges a criss-cross history's merge bases with the plain driver and, when that
    fails, goes on from a guessed base without a word; ``mindgit git-setup`` again fixes it.
    """
    try:
        config = open_repository(start).config
    except (MindgitError, pygit2.GitError):
        return False
    return f"merge.{DRIVER}.driver" in config and f"merge.{DRIVER}.recursive" not in config


def setup_predates_commit_hook(start: Path | None = None) -> bool:
    """Whether this clone's hooks were installed before the ``post-commit`` one existed (its
    mindgit ``post-merge`` hook is there, no ``post-commit`` hook at all): a merge committed
    after a conflict is not tidied there; ``mindgit git-setup`` again fixes it."""
    try:
        hooks = common_dir(open_repository(start)) / "hooks"
        merge_hook = hooks / HOOK
        ours = merge_hook.is_file() and HOOK_MARK in merge_hook.read_text(errors="replace")
        return ours and not (hooks / COMMIT_HOOK).exists()
    except (MindgitError, pygit2.GitError, OSError):
        return False


def common_dir(repo: pygit2.Repository) -> Path:
    """The git directory that holds ``info/attributes`` and ``hooks/``: in a linked worktree
    (``git worktree add``), the main one its ``commondir`` file names, not its own (git reads
    neither file there: setup in a worktree reported success and git merged manifest.json as
    text, without the driver or the hooks)."""
    own = Path(repo.path)
    try:
        named = (own / "commondir").read_text().strip()
    except OSError:
        return own
    return (own / named).resolve() if named else own


def current_branch(repo: pygit2.Repository) -> str | None:
    """The branch HEAD names (the experiment being merged into), or None if detached.

    While ``git rebase`` runs, HEAD is detached and the branch is the one being rebased (its
    ``head-name``): a merge ``--rebase-merges`` makes again is a merge into it, decided by its
    runs as ``git merge`` on it decided (without it, no run chose and the rebase stopped).
    """
    try:
        target = repo.lookup_reference("HEAD").target
    except KeyError:
        return None
    name = str(target)
    if not name.startswith(HEADS) and rebase_in_progress(repo):
        try:
            name = (Path(repo.path) / "rebase-merge" / "head-name").read_text().strip()
        except OSError:
            return None
    return name.removeprefix(HEADS) if name.startswith(HEADS) else None


def merge_files(
    base: Path,
    ours: Path,
    theirs: Path,
    *,
    repo_dir: Path | None = None,
    virtual_base: bool = False,
) -> DriverResult:
    """Merge three manifest files as the driver does, writing the result over ``ours``.

    An empty ``base`` means no common ancestor (``git merge --allow-unrelated-histories``).
    Nothing is written unless the merge succeeds; except with ``virtual_base`` (git merging the
    merge bases of a criss-cross history, ``merge.mindgit.recursive``): git takes whatever is
    left in ``ours`` as the base of the real merge even when the driver fails, so a failure
    leaves :data:`UNMERGED_BASES` and the reason there, and the real merge stops on it.
    """
    try:
        return _merge_files(base, ours, theirs, repo_dir)
    except Exception as e:  # any failure at all: git would go on from a guess
        if virtual_base:
            if isinstance(e, UnmergedBases):
                reason = e.reason
            elif isinstance(e, MindgitError):
                reason = " ".join(str(e).split())
            else:
                reason = f"{type(e).__name__}: {' '.join(str(e).split())}"
            # Not over what is no regular file (a device given by hand): git hands a file.
            try:
                regular = stat.S_ISREG(ours.stat().st_mode)
            except OSError:
                regular = True  # write_over says what is wrong, as before
            if regular:
                write_over(ours, UNMERGED_BASES + reason.encode() + b"\n")
        raise


def write_over(path: Path, data: bytes) -> None:
    """Replace ``path``'s bytes with ``data`` whole or not at all: written to a file beside it,
    given its mode, then renamed over it. git reads %A by its name once the driver exits (and
    unlinks it by name), so the renamed file is the one it reads; written in place, a write
    that failed midway (a full disk, a size limit, a kill) left it cut short, for git to take
    as the merge's result. A file that cannot be stat'ed or a folder where no file can be made
    beside it is written in place, as before."""
    try:
        mode = path.stat().st_mode & 0o7777
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".mindgit", dir=path.parent)
    except OSError:
        path.write_bytes(data)
        return
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def _merge_files(base: Path, ours: Path, theirs: Path, repo_dir: Path | None) -> DriverResult:
    states: list[State | None] = []
    for side, path in (("base", base), ("ours", ours), ("theirs", theirs)):
        try:
            data = _read_manifest(side, path)
        except OSError as e:
            raise MalformedManifest(side, path, e.strerror or str(e)) from None
        if data.startswith(UNMERGED_BASES):
            reason = data[len(UNMERGED_BASES) :].decode(errors="replace").strip()
            raise UnmergedBases(reason)
        if side == "base" and not data:
            states.append(None)
            continue
        try:
            states.append(parse_manifest(data))
        except SchemaError as e:
            raise MalformedManifest(side, path, e.problem) from None
    base_state, ours_state, theirs_state = states
    assert ours_state is not None and theirs_state is not None
    envelopes = _envelopes(repo_dir, base_state, ours_state, theirs_state)
    merge3 = three_way(base_state, ours_state, theirs_state, envelopes)
    found: FitnessChoice | None = None
    resolution: Resolution
    if merge3.conflicts:
        repo = open_repository(repo_dir)
        try:
            found = find_fitness(repo, experiment=current_branch(repo), own_key=node_key(repo))
        except UnknownFitness as e:
            # Its words were a store's ("in this store", `mindgit fitness add FILE`), which
            # no command of this clone can act on.
            e.args = (str(e).replace("in this store", "in this clone (refs/fitness/*)"),)
            e.hint = (
                "fetch the store's modules (`git fetch`, with the refspecs `mindgit git-setup` "
                "adds), or set `git config mindgit.fitness` to a module's name, CID or file path"
            )
            raise
        scorer = None if found is None else ModuleScorer(found.load(), found.cid, found.minimize)
        try:
            resolution = resolve(merge3, scorer)
        except FitnessFailedEverywhere as e:
            # Its hint was a store's (`mindgit config set fuel N`, --fitness): neither is
            # anything `git merge` in a clone takes.
            e.hint = (
                "fix the module, raise its limits (`git config mindgit.fuel N`), or name "
                "another module: `git config mindgit.fitness NAME|CID|PATH`"
            )
            raise
    else:
        resolution = resolve(merge3, None)
    manifest = resolution.state.manifest()
    write_over(ours, manifest.data)
    return DriverResult(
        manifest.cid,
        resolution.decisions,
        found.cid if found is not None else None,
        resolution.candidates_scored,
        found.source if found is not None else None,
        merge3.thought_decisions,
    )


def _read_manifest(side: str, path: Path) -> bytes:
    """The bytes of a manifest file the driver was handed, at most MAX_BLOB_BYTES of them.

    Sized before it is read: verify refuses a blob this large in any state, and a file of
    hundreds of MB took seconds and a GB of memory to find that out. A file that is no regular
    file is refused before it is read (ours, which is written over, must be one): a FIFO held
    the driver until a writer came, and /dev/zero, of size 0, was read until memory ran out.
    Something git does not hand a driver, but `mindgit merge-driver` is a command too.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        device = stat.S_ISCHR(info.st_mode) and side != "ours"  # /dev/null: no base, say
        if not stat.S_ISREG(info.st_mode) and not device:
            raise MalformedManifest(side, path, "not a regular file")
        if info.st_size > MAX_BLOB_BYTES:
            raise MalformedManifest(
                side,
                path,
                f"{info.st_size} bytes is over the {MAX_BLOB_BYTES}-byte limit of a blob",
            )
        data = f.read(MAX_BLOB_BYTES + 1)
    if len(data) > MAX_BLOB_BYTES:
        raise MalformedManifest(
            side, path, f"more than {MAX_BLOB_BYTES} bytes, over the limit of a blob"
        )
    return data


# The refs git writes for the commits a merge, cherry-pick or rebase brings in.
_MERGING_REFS = ("MERGE_HEAD", "CHERRY_PICK_HEAD", "REBASE_HEAD")
# Commits whose trees the driver searches for thoughts, at most.
_MAX_MERGE_COMMITS = 64


def _envelopes(
    repo_dir: Path | None, base: State | None, ours: State, theirs: State
) -> Mapping[CID, Envelope]:
    """The envelopes among the thoughts the three manifests do not all list, read from the
    commits git is merging; none read (and no repository needed) when they all list the same."""
    old = base.thoughts if base is not None else frozenset()
    if old == ours.thoughts == theirs.thoughts:
        return {}
    repo = open_repository(repo_dir)
    # `git merge` names its heads (GITHEAD_<id>): the commits being merged are known, and a
    # thought none of them holds is not looked for elsewhere (theirs' junk under its name,
    # which git's tree merge takes, stops the merge as before).
    merging = any(name.startswith("GITHEAD_") for name in os.environ)
    reader = EnvelopeReader(repo, strict=True, more=None if merging else _more_trees(repo))
    for commit in _merging_commits(repo):
        reader.add(layout.commit_tree(repo, commit))
    return reader.for_merge(base, ours, theirs)


# HEAD's ancestors (first parents) the driver looks through for a thought no commit being
# merged holds, at most.
_MAX_ANCESTORS = 256


def _more_trees(repo: pygit2.Repository) -> Iterator[pygit2.Tree]:
    """Where else a note may be, for the driver to look when no commit being merged holds it:
    git names no commit to the driver in a cherry-pick, a revert or a rebase, and a note the
    picked commit adds (or the one a reverted forget removed) was in none of them. The commit
    the sequencer picks and its parents, the tips of the branches, remote-tracking branches and
    tags (what is picked is mostly on one), then HEAD's ancestors. Any bytes found are checked
    to hash to the thought's name; a private thought found only here is not taken (reading
    it, a replay made no conflict where its tree keeps an envelope the merge dropped, which
    only a merge's hook tidies)."""
    tips: list[pygit2.Oid] = []
    picking = _picking(repo)
    if picking is not None:
        try:
            picked = as_commit(repo.get(picking))
        except (ValueError, pygit2.GitError):
            picked = None
        if picked is not None:
            tips += [picked.id, *picked.parent_ids]
    with contextlib.suppress(KeyError, ValueError, pygit2.GitError):
        tips.append(repo.lookup_reference("ORIG_HEAD").peel(pygit2.Commit).id)
    tips.extend(_other_tips(repo))  # HEAD's own branch is the walk below
    # A single pick leaves no trace of its commit until it stops; one no ref holds is mostly
    # one fetched by URL (`git cherry-pick FETCH_HEAD`) or on a branch since deleted.
    tips.extend(_fetched(repo))
    tips.extend(_visited(repo))
    commits: list[pygit2.Oid] = list(dict.fromkeys(tips))
    if not repo.head_is_unborn:
        walker = repo.walk(repo.head.target, pygit2.enums.SortMode.NONE)
        walker.simplify_first_parent()
        for i, commit in enumerate(walker):
            if i >= _MAX_ANCESTORS:
                break
            commits.append(commit.id)
    for oid in commits:
        try:
            found = as_commit(repo.get(oid))
            if found is not None:
                yield layout.commit_tree(repo, found)
        except (MindgitError, ValueError, pygit2.GitError):
            continue


def _fetched(repo: pygit2.Repository) -> list[pygit2.Oid]:
    """The commits the last fetch named (FETCH_HEAD: ``<id>\t...`` a line), at most
    _MAX_ANCESTORS."""
    try:
        with open(Path(repo.path) / "FETCH_HEAD", "rb") as f:
            text = f.read(1 << 20)
    except OSError:
        return []
    found: list[pygit2.Oid] = []
    for line in text.splitlines()[:_MAX_ANCESTORS]:
        word = line.split(b"\t", 1)[0].strip()
        with contextlib.suppress(ValueError):
            found.append(pygit2.Oid(hex=word.decode("ascii")))
    return found


def _visited(repo: pygit2.Repository) -> list[pygit2.Oid]:
    """The commits HEAD's reflog says it was at lately (newest first), at most _MAX_ANCESTORS."""
    found: list[pygit2.Oid] = []
    try:
        for i, entry in enumerate(repo.lookup_reference("HEAD").log()):
            if i >= _MAX_ANCESTORS:
                break
            found.append(entry.oid_new)
    except (KeyError, ValueError, pygit2.GitError):
        pass
    return found


def _merging_commits(repo: pygit2.Repository) -> list[pygit2.Commit]:
    """``HEAD``, the commits git is bringing in, the parents of one picked alone (cherry-pick,
    rebase: its parent is the base), and the merge bases of them all (of merge bases too, for
    the virtual base of a criss-cross history)."""
    heads: list[tuple[str, bool]] = []
    if not repo.head_is_unborn:
        heads.append((str(repo.head.target), False))
    heads.extend(
        (name.removeprefix("GITHEAD_"), False) for name in os.environ if name.startswith("GITHEAD_")
    )
    for ref in _MERGING_REFS:
        path = Path(repo.path) / ref
        if path.is_file():
            picked = ref != "MERGE_HEAD"
            heads.extend((text, picked) for text in path.read_text(errors="replace").split())
    commits: dict[pygit2.Oid, pygit2.Commit] = {}
    for text, picked in heads:
        try:
            commit = as_commit(repo.get(text))
        except (ValueError, pygit2.GitError):
            continue  # not a commit id: nothing of this merge
        if commit is None:
            continue
        commits.setdefault(commit.id, commit)
        if picked:
            for parent in commit.parents:
                commits.setdefault(parent.id, parent)
    todo = list(commits)
    while todo:
        a = todo.pop()
        for b in list(commits):
            if len(commits) >= _MAX_MERGE_COMMITS:
                return list(commits.values())
            if b == a:
                continue
            one = repo.merge_base(a, b)
            if one is None or one in (a, b):
                continue  # unrelated, or one descends from the other: no base to add
            for oid in merge_bases(repo, str(a), str(b)):
                base = as_commit(repo.get(oid))
                if base is not None and base.id not in commits:
                    commits[base.id] = base
                    todo.append(base.id)
    return list(commits.values())


def _picking(repo: pygit2.Repository) -> str | None:
    """The commit the sequencer is picking (or reverting) now, as its files name it: the last
    command done of a rebase (``rebase-merge/done``), the first to do of a cherry-pick or revert
    of several commits (``sequencer/todo``). git writes CHERRY_PICK_HEAD and REBASE_HEAD only
    after the merge, when it stops, so the driver found the picked commit nowhere, and a rebase
    of a branch that added a note stopped on a conflict in manifest.json."""
    git_dir = Path(repo.path)
    for path, last in (
        (git_dir / "rebase-merge" / "done", True),
        (git_dir / "sequencer" / "todo", False),
    ):
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        commands = [line.split() for line in lines if line.strip() and not line.startswith("#")]
        if not commands:
            continue
        words = commands[-1] if last else commands[0]
        if words[0] not in _PICKS:
            continue
        for word in words[1:]:
            if not word.startswith("-"):
                return word
    return None


# The sequencer's commands that merge a commit's change through the driver (long and short).
_PICKS = frozenset({"pick", "p", "revert", "edit", "e", "reword", "r", "fixup", "f", "squash", "s"})


# How the driver and the hooks start mindgit. -P: git runs them in the clone's work tree, which
# came first on sys.path for -m; with mindgit installed editable, a branch merged in that held a
# mindgit/ folder (mindgit/errors.py, say) had its code run by the post-merge hook, and by every
# driver run after it was checked out.
_RUN_MINDGIT = f"{shlex.quote(sys.executable)} -P -m mindgit"


def setup_predates_safe_path(start: Path | None = None) -> bool:
    """Whether this clone's driver was registered before git-setup started mindgit with ``-P``
    (``<python> -m mindgit merge-driver ...``): its driver and hooks run mindgit with the work
    tree first on ``sys.path``; ``mindgit git-setup`` again fixes it."""
    try:
        driver = _config_str(open_repository(start), f"merge.{DRIVER}.driver")
    except (MindgitError, pygit2.GitError, UnicodeDecodeError):
        return False
    return driver is not None and " -m mindgit merge-driver" in driver and " -P " not in driver


def driver_command(command: str | None = None, *, virtual_base: bool = False) -> str:
    """The ``merge.mindgit.driver`` value: how git calls ``mindgit merge-driver``; with
    ``virtual_base``, the ``merge.mindgit-bases.driver`` value (git merging merge bases)."""
    prefix = command if command is not None else _RUN_MINDGIT
    flag = f" {VIRTUAL_BASE_FLAG}" if virtual_base else ""
    return f"{prefix} merge-driver{flag} %O %A %B %P"


@dataclass(frozen=True, slots=True)
class SetupResult:
    """What git-setup wrote."""

    repository: Path
    attributes: Path
    driver: str
    refspecs: tuple[str, ...]
    fetched: bool
    hook: Path | None
    node: PublicKey | None = None
    commit_hook: Path | None = None
    # core.hooksPath, when set: git runs hooks from there, so none was installed.
    hooks_path: str | None = None
    rewrite_hook: Path | None = None
    # The trust file `git verify-commit` reads in the clone (gpg.ssh.allowedSignersFile), when
    # git-setup set it: a store's, which makes git trust exactly the nodes that store trusts.
    signers: Path | None = None


def git_setup(
    path: Path,
    *,
    remote: str = "origin",
    command: str | None = None,
    fetch: bool = True,
    hook: bool = True,
    node: PublicKey | None = None,
    signers: Path | None = None,
) -> SetupResult:
    """Register the mindgit merge driver in the clone at ``path`` (see the module docstring).

    ``node`` is this node's public key; without it, the key of the store ``remote`` names when
    that is a store on this machine whose key this user can read, else whatever ``mindgit.node``
    the clone already has. ``signers`` is this node's trust file, which ``git verify-commit``
    then reads in the clone; without it, that store's (when found), unless the clone's own
    config names one already: git refused to verify any commit in a clone, for want of it.
    Running it again changes nothing. An existing ``post-merge`` hook not written by mindgit is
    left alone (and reported as not installed).
    """
    repo = open_repository(path)
    if repo.is_bare or repo.workdir is None:
        raise NotAClone(path, "is a bare repository (a store); clone it with `git clone` first")
    has_remote = remote in repo.remotes.names()
    if fetch and not has_remote:
        # Checked before anything is written: a refused setup leaves the clone as it was.
        raise NotAClone(
            path,
            f"has no remote {quoted(remote)} to fetch fitness modules and runs from",
            hint="`git remote -v` lists the clone's remotes: name one with --remote NAME, or "
            "set up without fetching: --no-fetch",
        )
    if fetch:
        # Before anything is written too: a fetch that failed (a remote moved, or offline) left
        # the driver registered without its post-merge hook, under an error, and merges then
        # kept the envelopes of forgotten thoughts in thoughts/ (docs/merge.md).
        try:
            _git(Path(repo.workdir), "fetch", "--quiet", remote, *REFSPECS)
        except GitSetupError as e:
            from mindgit.errors import said

            raise GitSetupError(
                f"git fetch {remote}",
                # Hidden before cut: a cut that took a userinfo's '@' left the secret shown.
                said(e.whole, repo.remotes[remote].url or ""),
                hint="check the remote's URL (`git remote -v`), or set up without fetching: "
                "mindgit git-setup --no-fetch",
            ) from None
    git_dir = common_dir(repo)
    attributes = git_dir / "info" / "attributes"
    held = _read_attributes(attributes)
    # The config before the attributes line: a clone whose config cannot be written (another
    # git holds config.lock) was an internal error, with that line already added.
    try:
        driver = driver_command(command)
        repo.config[f"merge.{DRIVER}.name"] = DRIVER_NAME
        repo.config[f"merge.{DRIVER}.driver"] = driver
        repo.config[f"merge.{DRIVER}.recursive"] = BASES_DRIVER
        repo.config[f"merge.{BASES_DRIVER}.name"] = f"{DRIVER_NAME}: merge bases"
        repo.config[f"merge.{BASES_DRIVER}.driver"] = driver_command(command, virtual_base=True)
        # Every file under blocks/ and thoughts/ is named by its CID: an edited memory is one
        # file removed and a similar one added, which git's merge pairs up as a rename, and the
        # same memory edited on both sides became a rename/rename conflict that `mindgit merge`
        # decides by fitness. git's ort strategy heeds merge.renames only from git 2.50; before,
        # only the recursive strategy does (from 2.50 "recursive" is ort), and pull.twohead is
        # the strategy both `git merge` and `git pull` use for two heads.
        for key, value in NO_RENAMES:
            repo.config[key] = value
        # `git pull` of a diverged experiment refuses ("need to specify how to reconcile
        # divergent branches") unless told; a rebase replays states without the post-merge hook
        # (docs/merge.md).
        repo.config[PULL_REBASE] = "false"
        refspecs: tuple[str, ...] = ()
        if has_remote:
            key = f"remote.{remote}.fetch"
            for spec in REFSPECS:
                # Replace our own earlier line (same source prefix), else add it.
                pattern = "^" + spec.split(":")[0].replace("+", r"\+").replace("*", r"\*") + ":"
                repo.config.set_multivar(key, pattern, spec)
            refspecs = REFSPECS
            if node is None or signers is None:
                store = local_store(repo.remotes[remote].url, Path(repo.workdir))
                if store is not None:
                    node = node or store.public_key
                    signers = signers or store.path / MINDGIT_DIR / TRUST_FILE
        if node is not None:
            repo.config[CONFIG_NODE] = node.did
        else:
            node = node_key(repo)
        if signers is not None and _local_config(repo, SIGNERS_CONFIG) is None:
            repo.config[SIGNERS_CONFIG] = str(signers)
        else:
            signers = None
    except pygit2.GitError as e:
        raise SetupFileError(
            common_dir(repo) / "config",
            " ".join(str(e).split()).rstrip(":"),
            hint=f"check that no git process holds {common_dir(repo) / 'config.lock'} (remove "
            "it if none runs) and that the config is writable, then run `mindgit git-setup` "
            "again",
        ) from None
    if held is not None:
        _add_attribute(attributes, held)
    # With core.hooksPath set (often globally), git runs no hook from .git/hooks: installed
    # there, the hooks were reported as installed and never ran. That directory is the user's.
    hooks_path = _config_str(repo, "core.hooksPath")
    install = hook and hooks_path is None
    hook_path = _install_hook(git_dir, command) if install else None
    commit_hook = _install_hook(git_dir, command, COMMIT_HOOK) if install else None
    rewrite_hook = _install_hook(git_dir, command, REWRITE_HOOK) if install else None
    return SetupResult(
        Path(repo.workdir),
        attributes,
        driver,
        refspecs,
        fetch and bool(refspecs),
        hook_path,
        node,
        commit_hook,
        hooks_path,
        rewrite_hook,
        signers,
    )


# Where `git verify-commit` finds the keys it trusts for SSH signatures.
SIGNERS_CONFIG = "gpg.ssh.allowedSignersFile"


def _local_config(repo: pygit2.Repository, key: str) -> str | None:
    """``key`` as the clone's own config file sets it (not the user's global one)."""
    try:
        config = pygit2.Config(str(common_dir(repo) / "config"))
        return str(config[key]) if key in config else None
    except (pygit2.GitError, UnicodeDecodeError):
        return None


def _read_attributes(attributes: Path) -> bytes | None:
    """git's attributes file as bytes (a pattern or a value may be in any encoding: read as
    UTF-8, a Latin-1 line made the setup an internal error), or None if it has the driver's
    line already."""
    try:
        data = attributes.read_bytes() if attributes.exists() else b""
    except OSError as e:
        raise SetupFileError(attributes, e.strerror or str(e)) from None
    return None if ATTRIBUTE_LINE.encode() in data.splitlines() else data


def _add_attribute(attributes: Path, data: bytes) -> None:
    """Append :data:`ATTRIBUTE_LINE` to the attributes file that held ``data``."""
    try:
        attributes.parent.mkdir(parents=True, exist_ok=True)
        with open(attributes, "ab") as f:
            end = b"\n" if data and not data.endswith(b"\n") else b""
            f.write(end + ATTRIBUTE_LINE.encode() + b"\n")
    except OSError as e:
        raise SetupFileError(attributes, e.strerror or str(e)) from None


def local_store(url: str | None, work: Path) -> Store | None:
    """The store at ``url`` if it is a store on this machine whose key this user can read (it
    is then this user's own node), else None. A relative path is read from the clone's work
    tree ``work``, as git reads it when it fetches."""
    if not url:
        return None
    if url.startswith("file://"):
        url = url.removeprefix("file://")
    elif "://" in url or (":" in url.split("/", 1)[0]):
        return None  # ssh, https or scp-style host:path: not a store on this machine
    try:
        # Only read: a store found there that was moved is not rewritten by this merge.
        store = Store(work / url, follow_move=False)
        _ = store.public_key
        return store
    except (MindgitError, OSError, pygit2.GitError):
        return None


def _git(cwd: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env} if env else None,
    )
    if proc.returncode != 0:
        raise GitSetupError(
            "git " + " ".join(args),
            _git_said(proc.stderr),
            whole=_git_said(proc.stderr, cut=False),
        )
    return proc.stdout


def _git_said(stderr: str, *, cut: bool = True) -> str:
    """What a failed git command said, in one line: its first ``fatal:`` or ``error:`` line,
    else its last (cut past 300 characters unless not ``cut``). The last alone was often the
    tail of an advice ("and the repository exists.", of a fetch from a remote that moved)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    found = next((line for line in lines if line.startswith(("fatal:", "error:"))), None)
    if found is None:
        found = lines[-1] if lines else "no output"
    return _cut_line(found) if cut else found


def _cut_line(line: str) -> str:
    """A line of git's, cut past 300 characters (it may quote a long URL or path)."""
    return line if len(line) <= 300 else line[:297] + "..."


def _install_hook(git_dir: Path, command: str | None, name: str = HOOK) -> Path | None:
    hooks = git_dir / "hooks"
    path = hooks / name
    if path.exists() and HOOK_MARK not in path.read_text(errors="replace"):
        return None
    prefix = command if command is not None else _RUN_MINDGIT
    hooks.mkdir(parents=True, exist_ok=True)
    if name == REWRITE_HOOK:
        # git runs it after `git commit --amend` too ("amend"): no Python start for that.
        run = f'test "$1" = rebase || exit 0\nexec {prefix} merge-driver {TIDY_REBASE_FLAG}\n'
    else:
        run = f"exec {prefix} merge-driver --tidy\n"
    path.write_text(f"#!/bin/sh\n{HOOK_MARK}\n{run}")
    path.chmod(0o755)
    return path


@dataclass(frozen=True, slots=True)
class TidyResult:
    """What :func:`tidy_blocks` changed: the blocks removed and restored, the new commit, and
    the thoughts removed and restored."""

    removed: tuple[str, ...]
    restored: tuple[str, ...]
    commit: str | None
    thoughts_removed: tuple[str, ...] = ()
    thoughts_restored: tuple[str, ...] = ()


def tidy_blocks(repo_dir: Path | None = None) -> TidyResult:
    """Make ``blocks/`` and ``thoughts/`` of the merge commit at HEAD exactly the blocks and
    thoughts its manifest links.

    Does nothing unless HEAD is a merge commit holding a state whose ``blocks/`` or
    ``thoughts/`` differs from what its manifest links. Otherwise it removes the unlinked files
    (a block that lost a conflict, the envelope one side shared of a thought the other forgot)
    and restores linked ones from the merge's parents (ours' bytes for a file git took from
    theirs that does not hash to its name), in the index and the work tree, and amends the
    merge commit with the same parents, author and message (the user's committer identity, and
    signing if ``commit.gpgsign`` is set).
    """
    repo = open_repository(repo_dir)
    if repo.is_bare or repo.workdir is None or repo.head_is_unborn:
        return TidyResult((), (), None)
    if rebase_in_progress(repo) and rewrite_hook_tidies(repo):
        return TidyResult((), (), None)  # tidy_rebase does it when the rebase is done
    head = repo.head.peel(pygit2.Commit)
    if len(head.parent_ids) < 2 or layout.MANIFEST not in head.tree:
        return TidyResult((), (), None)
    # A merge commit that came from elsewhere (a fast-forward onto it, from a remote or another
    # local branch) is not ours to rewrite: the merge that just ran made HEAD only if no other
    # ref holds it.
    for tip in _other_tips(repo):
        if tip == head.id or repo.descendant_of(tip, head.id):
            return TidyResult((), (), None)
    try:
        state, _ = layout.read_state(repo, head.tree)
    except MindgitError:
        return TidyResult((), (), None)
    parent_trees = [p.tree for p in head.parents]
    blocks = _untidy(repo, head.tree, parent_trees, layout.BLOCKS, {str(c) for c in state.blocks})
    thoughts = _untidy(
        repo, head.tree, parent_trees, layout.THOUGHTS, {str(c) for c in state.thoughts}
    )
    if not any((*blocks, *thoughts)):
        return TidyResult((), (), None)
    work = Path(repo.workdir)
    # The tidy tree is made from the commit's own tree, not from the index: run by hand (as
    # docs/merge.md says to, or after `git rm` of a block `mindgit verify` reported), the index
    # may differ from HEAD, and `git rm --cached` of a file already removed failed, as
    # `write-tree` would have put whatever else was staged into the rewritten merge.
    tree = _tidy_tree(repo, head.tree, parent_trees)
    # `git commit --amend` refuses while MERGE_HEAD exists, which it still does in post-merge:
    # write the replacement commit with the same parents, author and message instead.
    commit = _recommit(repo, work, head, str(tree), list(head.parent_ids))
    # Index and work tree from the merge's tree to the tidy one, as a checkout moves them:
    # refused, with nothing changed, if a local change is in the way (a file removed here that
    # was edited was deleted with the edit); what else is staged or edited stays so.
    try:
        _git(work, "read-tree", "-m", "-u", str(head.tree_id), str(tree))
    except GitSetupError as e:
        e.hint = (
            "a local change is in the way of the files the tidy removes or writes (`git "
            "status`): commit or undo it, then run `mindgit merge-driver --tidy`"
        )
        raise
    _git(
        work, "update-ref", "-m", "mindgit: tidy blocks/ after merge", "HEAD", commit, str(head.id)
    )
    return TidyResult(
        blocks[0],
        tuple(n for n, _ in blocks[1]),
        commit,
        thoughts[0],
        tuple(n for n, _ in thoughts[1]),
    )


def _other_tips(repo: pygit2.Repository) -> Iterator[pygit2.Oid]:
    """The commits the branches (but HEAD's), remote-tracking branches and tags hold: what the
    tidies leave as they are, as not theirs to rewrite."""
    branch = repo.lookup_reference("HEAD").target
    for ref in repo.references:
        if ref == branch or not ref.startswith(("refs/heads/", "refs/remotes/", "refs/tags/")):
            continue
        try:
            yield repo.lookup_reference(ref).peel(pygit2.Commit).id
        except (pygit2.GitError, KeyError, ValueError):
            continue  # a symbolic ref to nowhere (origin/HEAD in an empty remote), a tag of a tree


def _recommit(
    repo: pygit2.Repository, work: Path, like: pygit2.Commit, tree: str, parents: list[pygit2.Oid]
) -> str:
    """A commit of ``tree`` on ``parents`` with ``like``'s author and message (the user's
    committer identity, signed if ``commit.gpgsign`` is set)."""
    author = like.author
    env = {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_AUTHOR_DATE": f"@{author.time} {_offset(author.offset)}",
    }
    args = ["commit-tree", tree]
    for parent_id in parents:
        args += ["-p", str(parent_id)]
    if _config_true(repo, "commit.gpgsign"):
        args.append("-S")
    return _git(work, *args, input=like.message, env=env).strip()


def rebase_in_progress(repo: pygit2.Repository) -> bool:
    """Whether ``git rebase`` (the sequencer: ``--rebase-merges``, ``-i``, the default
    backend) is under way in this work tree."""
    return (Path(repo.path) / "rebase-merge").is_dir()


def rewrite_hook_tidies(repo: pygit2.Repository) -> bool:
    """Whether the ``post-rewrite`` hook git runs here calls ``mindgit merge-driver
    --tidy-rebase`` (git-setup's, or one in ``core.hooksPath``): only then does the tidy wait
    for the end of a rebase (a clone set up before it tidied, and stopped, as before)."""
    hooks_path = _config_str(repo, "core.hooksPath")
    if hooks_path is None:
        hooks = common_dir(repo) / "hooks"
    else:
        hooks = Path(repo.workdir or repo.path) / os.path.expanduser(hooks_path)
    try:
        return TIDY_REBASE_FLAG in (hooks / REWRITE_HOOK).read_text(errors="replace")
    except OSError:
        return False


@dataclass(frozen=True, slots=True)
class RebaseTidy:
    """What :func:`tidy_rebase` changed: the merges it tidied (as the rebase made them), how
    many commits it wrote again (those and the ones after them), and HEAD's new commit."""

    merges: tuple[str, ...]
    rewritten: int
    head: str | None


def tidy_rebase(rewritten: Iterable[str], repo_dir: Path | None = None) -> RebaseTidy:
    """Tidy the merge commits a finished ``git rebase`` made (``--rebase-merges``), as
    :func:`tidy_blocks` tidies one at HEAD, and write the commits after them again on top.

    ``rewritten`` is what git hands the ``post-rewrite`` hook: a line ``OLD NEW`` per commit
    the rebase rewrote. A merge among the new commits whose ``blocks/`` or ``thoughts/`` is not
    what its manifest links gets the tree :func:`tidy_blocks` would write; every commit after
    it (up to HEAD) is written again on the new one, same author, message and changes, its own
    ``blocks/`` and ``thoughts/`` made what its manifest links (they held what the merge should
    not have). HEAD (its branch), the index and the work tree move to the new tip, as does any
    other branch the rebase left on a commit written again (``--update-refs``). Nothing else is
    touched: the rebase's own commits stay in the reflog, and a commit another branch, a
    remote-tracking branch or a tag holds (taken at a rebase's stop) is not the rebase's, nor
    is any before it: it is left as it is, and so is that ref.
    """
    none = RebaseTidy((), 0, None)
    repo = open_repository(repo_dir)
    if repo.is_bare or repo.workdir is None or repo.head_is_unborn:
        return none
    made: set[pygit2.Oid] = set()
    for line in rewritten:
        words = line.split()
        if len(words) < 2 or words[0] == words[1]:
            continue  # a commit the rebase kept as it was (fast-forward) is not its to tidy
        try:
            commit = as_commit(repo.get(words[1]))
        except (ValueError, pygit2.GitError):
            continue
        if commit is not None:
            made.add(commit.id)
    if not made:
        return none
    head = repo.head.peel(pygit2.Commit)
    walker = repo.walk(head.id, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
    for oid in made:
        for parent_id in repo[oid].peel(pygit2.Commit).parent_ids:
            if parent_id not in made:
                walker.hide(parent_id)
    # What another ref holds is not the rebase's: git lists as an edited commit's new self
    # whatever HEAD was when its stop ended, a commit of another branch (or a remote's) after a
    # fast-forward or a reset there. That commit and those before it are left as they are, and
    # so is the branch (git moves the --update-refs ones after this hook, from update-refs).
    for tip in _other_tips(repo):
        walker.hide(tip)
    work = Path(repo.workdir)
    replaced: dict[pygit2.Oid, pygit2.Oid] = {}
    merges: list[str] = []
    for commit in walker:
        parents = [replaced.get(p, p) for p in commit.parent_ids]
        moved = parents != list(commit.parent_ids)
        a_merge = len(parents) >= 2 and commit.id in made
        if not (moved or a_merge):
            continue
        tree = _tidy_tree(repo, commit.tree, [repo[p].peel(pygit2.Tree) for p in parents])
        if tree == commit.tree_id and not moved:
            continue
        replaced[commit.id] = pygit2.Oid(hex=_recommit(repo, work, commit, str(tree), parents))
        if a_merge and tree != commit.tree_id:
            merges.append(str(commit.id))
    if not replaced:
        return none
    new_head = replaced.get(head.id)
    if new_head is not None:
        # Index and work tree from the rebased tip's tree to the tidied one (refused, leaving
        # everything as the rebase left it, if a local change is in the way).
        _git(work, "read-tree", "-m", "-u", str(head.id), str(new_head))
        _git(work, "update-ref", "-m", REBASE_REFLOG, "HEAD", str(new_head), str(head.id))
    # `git rebase --update-refs`: git moves the other branches after this hook, to the commits
    # its update-refs file names (REF, BEFORE, AFTER: three lines a branch), so they go to the
    # commits written here. No other branch is moved: none holds a commit written here.
    update_refs = Path(repo.path) / "rebase-merge" / "update-refs"
    try:
        lines = update_refs.read_text().splitlines()
    except OSError:
        lines = []
    if any(i % 3 == 2 and _replaced(replaced, line) for i, line in enumerate(lines)):
        for i in range(2, len(lines), 3):
            lines[i] = _replaced(replaced, lines[i]) or lines[i]
        temporary = update_refs.with_name("update-refs.mindgit")
        temporary.write_text("".join(f"{line}\n" for line in lines))
        os.replace(temporary, update_refs)
    return RebaseTidy(tuple(merges), len(replaced), None if new_head is None else str(new_head))


def _replaced(replaced: Mapping[pygit2.Oid, pygit2.Oid], text: str) -> str | None:
    """The commit written in place of the one ``text`` names (a full id), if any."""
    try:
        oid = pygit2.Oid(hex=text.strip())
    except (ValueError, pygit2.GitError):
        return None
    new = replaced.get(oid) if str(oid) == text.strip() else None
    return None if new is None else str(new)


def _tidy_tree(
    repo: pygit2.Repository, tree: pygit2.Tree, parent_trees: list[pygit2.Tree]
) -> pygit2.Oid:
    """``tree`` with ``blocks/`` and ``thoughts/`` what its manifest links (files restored from
    ``parent_trees``, as :func:`tidy_blocks` does); ``tree`` itself if it holds no state."""
    try:
        state, _ = layout.read_state(repo, tree)
    except MindgitError:
        return tree.id
    new = tree.id
    for dirname, linked in (
        (layout.BLOCKS, {str(c) for c in state.blocks}),
        (layout.THOUGHTS, {str(c) for c in state.thoughts}),
    ):
        removed, restored = _untidy(repo, tree, parent_trees, dirname, linked)
        if not (removed or restored):
            continue
        top = repo[new].peel(pygit2.Tree)
        sub = repo.TreeBuilder(top[dirname].id) if dirname in top else repo.TreeBuilder()
        for name in removed:
            sub.remove(name)
        for name, oid in restored:
            sub.insert(name, oid, pygit2.enums.FileMode.BLOB)
        builder = repo.TreeBuilder(top.id)
        if len(sub):
            builder.insert(dirname, sub.write(), pygit2.enums.FileMode.TREE)
        else:
            builder.remove(dirname)  # git keeps no empty directory
        new = builder.write()
    return new


def _untidy(
    repo: pygit2.Repository,
    tree: pygit2.Tree,
    parent_trees: list[pygit2.Tree],
    dirname: str,
    linked: set[str],
) -> tuple[tuple[str, ...], tuple[tuple[str, pygit2.Oid], ...]]:
    """The files of ``dirname`` in ``tree`` that its manifest does not link, and the linked
    ones to write back: those it lacks, with their blobs in a parent's tree, and those git's
    tree merge took from theirs as bytes that are not what the name says, with ours'."""
    present = _entries(repo, tree, dirname)
    parents = [_entries(repo, t, dirname) for t in parent_trees]
    removed = tuple(sorted(set(present) - linked))
    restored: list[tuple[str, pygit2.Oid]] = []
    for name in sorted(linked - set(present)):
        for entries in parents:
            if name in entries:
                restored.append((name, entries[name]))
                break
    # Every name is a CID, and git does not check it: a peer's commit that holds other bytes
    # under a thought ours holds too, its manifest unchanged, had git's tree merge take them
    # (only theirs changed that file) into the merge commit, where `mindgit merge` keeps ours'.
    ours = parents[0] if parents else {}
    for name in sorted(linked & set(present)):
        mine = ours.get(name)
        if mine is None or mine == present[name]:
            continue
        if not _holds(repo, present[name], name) and _holds(repo, mine, name):
            restored.append((name, mine))
    return removed, tuple(restored)


def _holds(repo: pygit2.Repository, oid: pygit2.Oid, name: str) -> bool:
    """Whether blob ``oid`` is the block the CID ``name`` names."""
    try:
        cid = CID.parse(name)
    except (MindgitError, KeyError, ValueError):
        return False
    return verified_blob(repo, oid, cid, MAX_BLOB_BYTES) is not None


def _offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _config_str(repo: pygit2.Repository, key: str) -> str | None:
    try:
        value = repo.config[key]
    except (KeyError, pygit2.GitError, ValueError):
        return None
    return str(value) if value else None


def _config_true(repo: pygit2.Repository, key: str) -> bool:
    try:
        return bool(repo.config.get_bool(key))
    except (KeyError, pygit2.GitError):
        return False


def _entries(repo: pygit2.Repository, tree: pygit2.Tree, dirname: str) -> dict[str, pygit2.Oid]:
    if dirname not in tree:
        return {}
    sub = repo[tree[dirname].id]
    return {str(e.name): e.id for e in sub} if isinstance(sub, pygit2.Tree) else {}
