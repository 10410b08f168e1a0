"""`mindgit verify`: the check CI runs."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from mindgit.cli.options import (
    experiment_option,
    json_option,
    open_store_from,
    typed_given,
    typed_rev,
    warn_no_trust_file,
)
from mindgit.cli.output import emit_json, info
from mindgit.errors import counted, shown_path


@dataclass(frozen=True)
class _Target:
    """The repository to verify, the keys to trust, and where compiled modules may be cached."""

    repo: Any  # pygit2.Repository, imported lazily
    trust: Any  # TrustStore
    cache_dir: Path | None
    store: Any | None  # the Store, when verifying one
    # Refs whose key chains could not be followed (a fork), each a RefProblem: verify fails.
    chain_refs: tuple[Any, ...] = ()

    def resolve(self, rev: str) -> str:
        if self.store is not None:
            return str(self.store.resolve(rev))
        import pygit2

        from mindgit.store.repository import CommitUnreadable, UnknownRef, unreadable_on_the_way

        try:
            commit = self.repo.revparse_single(rev).peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            # As a store names it: a commit in a pack cut short is no unknown revision.
            gitdir = Path(self.repo.path)
            unreadable = unreadable_on_the_way(self.repo, gitdir, rev)
            if unreadable is not None:
                raise CommitUnreadable(gitdir, rev, *unreadable) from None
            raise UnknownRef(rev) from None
        return str(commit.id)

    def head(self) -> str:
        if self.store is not None:
            return str(self.store.head())
        return self.resolve("HEAD")


def _target(ctx: click.Context, trust_file: Path | None, *, sandbox: bool) -> _Target:
    if trust_file is None:
        store = open_store_from(ctx)
        if not sandbox:
            return _Target(store.repo, store.trust, None, store)
        # Only a recompute needs the sandbox (and its import cost).
        from mindgit.evolve.fitness import cache_dir

        return _Target(store.repo, store.trust, cache_dir(store), store)
    # With --trust any git repository will do: a CI checkout is not a store.
    import pygit2

    from mindgit.errors import UsageError
    from mindgit.identity.trust import TrustStore
    from mindgit.store.repository import NotAStore, StoreUnreadable
    from mindgit.sync import keychains

    if not trust_file.exists():
        raise UsageError(f"--trust {shown_path(trust_file)}: no such file")
    if trust_file.is_dir():
        raise UsageError(
            f"--trust {shown_path(trust_file)}: a directory, not an allowed-signers file"
        )
    # Read once (at most 16 MiB) and checked, then used from a private copy: a pipe
    # (`--trust <(mindgit trust export)`) or /dev/zero was "no such file".
    from mindgit.sync.hooks import read_trust_file

    trust_text = read_trust_file(trust_file)
    where = Path(ctx.find_root().obj.get("store") or ".")
    found = pygit2.discover_repository(str(where))
    if found is None:
        raise NotAStore(where.resolve())
    try:
        repo = pygit2.Repository(found)
    except pygit2.GitError as e:
        # A repository of a format libgit2 does not read (extensions.*, a newer git's): as a
        # store's open says it, not an internal error.
        raise StoreUnreadable(Path(found), str(e).strip()) from None
    # The key chains the checkout holds (refs/keys/*) rotate the file's keys, as a gated
    # server's and a pull's do: a node's work after it rotated verifies with the file as it was.
    scratch = Path(ctx.with_resource(tempfile.TemporaryDirectory(prefix="mindgit-verify-")))
    from mindgit.store.verify import RefProblem

    tips = keychains.held_chains(repo, skip_unreadable=True)
    budget = keychains.MAX_ANNOUNCEMENTS
    chains, unread = keychains.read_chains_in(repo, tips, budget)
    # Not scratch/allowed_signers: that is where a rotation's copy of it goes.
    copy = scratch / "given_allowed_signers"
    copy.write_text(trust_text, encoding="utf-8")
    trust = keychains.rotated_trust(repo, TrustStore(copy), chains, scratch)
    # A chain left unread bounds none of the keys it retires: the check fails.
    unread_tips = {p.commit for p in keychains.over_budget(unread, budget)}
    limit = keychains.OVER_BUDGET.format(budget)
    over = tuple(
        RefProblem(ref, f"not read: the key chains here hold {limit}; not followed")
        for ref, tip in sorted(tips.items())
        if ref not in chains and tip in unread_tips
    )
    # A fork is someone holding a node's key (a thief, a leak) rotating it otherwise: which
    # chain is the node's cannot be told, neither is followed, and the check fails.
    forks = tuple(
        RefProblem(
            f.ref,
            f"forks key chain {f.other}: both rotate {f.key.did}, {f.commit[:12]} to another "
            "key; neither is followed",
        )
        for f in keychains.forks(chains)
    )
    return _Target(repo, trust, None, None, forks + over)


@click.command()
@click.argument("revs", nargs=-1)
@click.option(
    "--all",
    "all_refs",
    is_flag=True,
    help="Every experiment, run, fitness module and key rotation, not just the current experiment.",
)
@click.option(
    "--since", metavar="REV", help="Only commits not reachable from REV (e.g. origin/main)."
)
@click.option(
    "--recompute",
    metavar="N|all",
    help="Also re-run N fitness claims (spread evenly, plus every final one) or all of them "
    "in the sandbox; any score that is not bit-identical fails.",
)
@click.option(
    "--trust",
    "typed_trust_file",
    metavar="FILE",
    # As typed (str): click's Path('') is '.', which was "--trust .: a directory".
    type=click.Path(dir_okay=False, path_type=str),
    help="Trust the keys of this allowed-signers file; then any git repository can be "
    "verified (a CI checkout), not only a store.",
)
@experiment_option
@json_option
@click.pass_context
def verify(
    ctx: click.Context,
    revs: tuple[str, ...],
    all_refs: bool,
    since: str | None,
    recompute: str | None,
    typed_trust_file: str | None,
    experiment: str | None,
    as_json: bool,
) -> None:
    """Check every commit: trusted signature, schema, CIDs. Exit 1 on any failure."""
    from mindgit.cli.main import exit_with
    from mindgit.errors import UsageError, one_line
    from mindgit.store.repository import SYNCED_PREFIXES
    from mindgit.store.verify import RefProblem, ref_tips, verify_commits

    for rev in revs:
        typed_rev(rev, "REV")
    typed_rev(since, "--since")
    trust_file = None
    if typed_trust_file is not None:
        trust_file = Path(typed_given(typed_trust_file, "--trust", "give an allowed-signers file"))
    # All known from the command line: refused before the store is opened (outside one, these
    # said "not a mindgit store"), and REV with --all was dropped without a word.
    if experiment is not None and (all_refs or revs or trust_file is not None):
        raise UsageError("-e/--experiment goes alone, and only with a store")
    if all_refs and revs:
        raise UsageError("give revisions or --all, not both")
    count = None
    broken: list[RefProblem] = []
    runs: list[RefProblem] = []
    if recompute is not None:
        from mindgit.sync.recompute import parse_count

        count = parse_count(recompute)
    target = _target(ctx, trust_file, sandbox=recompute is not None)
    repo = target.repo
    if experiment is not None:
        assert target.store is not None  # no --trust: checked above
        tips = [str(target.store.head(experiment))]
    elif all_refs:
        tips, broken = ref_tips(repo, SYNCED_PREFIXES)
        runs = _run_ref_problems(repo, {p.ref for p in broken})
    elif revs:
        tips = [target.resolve(r) for r in revs]
    else:
        tips = [target.head()]
    hide = [target.resolve(since)] if since else []
    claims = None
    if recompute is not None:
        from mindgit.sync.recompute import recompute as rerun

        claims = rerun(repo, tips, hide, count, cache_dir=target.cache_dir)
        # The runs the results rest on are part of what is verified.
        tips = [*tips, *(t for t in claims.runs if t not in tips)]
    if target.store is not None:
        warn_no_trust_file(target.store)
    report = verify_commits(repo, target.trust, tips, hide)
    report.refs = broken + runs + list(target.chain_refs)
    ok = report.ok and (claims is None or claims.ok)
    if as_json:
        out: dict[str, Any] = {
            "ok": ok,
            "checked": len(report.results),
            "commits": [
                {
                    "commit": r.commit,
                    "ok": r.ok,
                    "signer": r.signer.did if r.signer else None,
                    "trusted_as": r.trusted_as,
                    "problems": [{"object": p.object, "reason": p.reason} for p in r.problems],
                }
                for r in report.results
            ],
        }
        if all_refs or report.refs:
            out["refs"] = [{"ref": p.ref, "reason": p.reason} for p in report.refs]
        if claims is not None:
            out["recompute"] = {
                "ok": claims.ok,
                "claims": claims.found,
                "recomputed": [
                    {
                        "commit": c.commit,
                        "kind": c.kind,
                        "run": c.run_id,
                        "generation": c.generation,
                    }
                    for c in claims.checked
                ],
                "problems": [
                    {
                        "commit": p.commit,
                        "individual": p.individual,
                        "reason": p.reason,
                        "claimed": p.claimed,
                        "recomputed": p.recomputed,
                    }
                    for p in claims.problems
                ],
            }
        emit_json(out)
    else:
        # A problem may quote a peer's words (a trailer, a ref name): one line, no escape codes.
        for p in report.problems:
            click.echo(f"FAIL {one_line(str(p))}")
        for r in report.refs:
            click.echo(f"FAIL {one_line(str(r))}")
        bad = len({p.commit for p in report.problems})
        refs = ""
        if broken:
            refs = f", {counted(len(broken), 'ref points', 'refs point')} at no commit"
        if runs:
            refs += f", {counted(len(runs), 'run ref names', 'run refs name')} no generation of their run"
        info(f"{counted(len(report.results), 'commit', 'commits')} checked, {bad} failed{refs}")
        if claims is not None:
            for c in claims.problems:
                click.echo(f"FAIL {one_line(str(c))}")
            wrong = len({c.commit for c in claims.problems})
            info(
                f"{len(claims.checked)} of {claims.found} fitness claims recomputed, {wrong} failed"
            )
    if not ok:
        exit_with(1)


def _run_ref_problems(repo: Any, skip: set[str]) -> list[Any]:
    """Each refs/runs/<id> must name a generation of run <id>: one that names another commit
    verified as a commit, while `mindgit runs`, `plot` and `--resume` refused it."""
    import pygit2

    from mindgit.errors import MindgitError
    from mindgit.store.generation import RUNS_PREFIX, read_run_tip
    from mindgit.store.verify import RefProblem

    problems = []
    for ref in sorted(r for r in repo.references if r.startswith(RUNS_PREFIX)):
        if ref in skip:
            continue  # already reported: it points at no commit
        run_id = ref.removeprefix(RUNS_PREFIX)
        try:
            tip = read_run_tip(repo, run_id)
        except (MindgitError, KeyError, ValueError, pygit2.GitError) as e:
            problems.append(RefProblem(ref, f"is not a generation of a run: {e}"))
            continue
        if tip is not None and tip.run_id != run_id:
            problems.append(RefProblem(ref, f"points at a generation of run {tip.run_id}"))
    return problems
