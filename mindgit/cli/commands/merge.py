"""Merge commands: merge, merge-driver (what git calls), git-setup (registers it in a clone)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mindgit.cli.options import json_option, open_store_from
from mindgit.cli.output import emit_json, info
from mindgit.errors import one_line, shown_path

if TYPE_CHECKING:
    from mindgit.merge.core import Decision


@click.command("merge")
@click.argument("theirs")
@click.option("--into", metavar="EXP", default=None, help="Merge into this experiment.")
@click.option(
    "--fitness",
    metavar="NAME|CID|PATH",
    default=None,
    help="The module that decides conflicts (default: config fitness, else the module of "
    "this node's latest signed run of the experiment).",
)
@click.option("--dry-run", is_flag=True, help="Show the decisions; write nothing.")
@click.option(
    "--allow-unrelated", is_flag=True, help="Merge histories that share no commit (no base)."
)
@json_option
@click.pass_context
def merge(
    ctx: click.Context,
    theirs: str,
    into: str | None,
    fitness: str | None,
    dry_run: bool,
    allow_unrelated: bool,
    as_json: bool,
) -> None:
    """Merge THEIRS (an experiment or commit) into the current experiment, keeping the fitter
    patterns; print what was kept and why."""
    from mindgit.cli.main import exit_with, report_error
    from mindgit.merge.engine import merge as run_merge
    from mindgit.merge.engine import outcome_json, thought_decision_line
    from mindgit.merge.search import MergeConflict

    check_merge_arguments(theirs, into, fitness)
    store = open_store_from(ctx)
    try:
        out = run_merge(
            store,
            theirs,
            into=into,
            fitness=fitness,
            dry_run=dry_run,
            allow_unrelated=allow_unrelated,
        )
    except MergeConflict as e:
        if not as_json:
            raise
        # The conflicting patterns are data a script wants, not only words in the message.
        details = {"conflicts": list(e.patterns)}
        report_error(str(e), e.hint, type(e).__name__, as_json=True, details=details)
        exit_with(e.exit_code)
    if as_json:
        emit_json(outcome_json(out))
        return
    if out.up_to_date:
        info(f"{out.into} is already up to date with {one_line(theirs)}")
        click.echo(out.commit or out.ours)
        return
    if out.fast_forward:
        added = len(out.thoughts_added)
        info(f"fast-forward {out.into} to {one_line(theirs)} ({added} thought(s) added)")
        click.echo(out.commit or f"(dry run) {out.theirs}")
        return
    for line in decision_lines(out.decisions, one_line(theirs)):
        click.echo(line)
    for d in out.thought_decisions:
        click.echo(thought_decision_line(d))
    click.echo(
        f"thoughts: {len(out.thoughts_added)} added from {one_line(theirs)}, "
        f"{len(out.thoughts_removed)} removed"
    )
    if out.module is not None:
        direction = "lower" if out.minimize else "higher"
        if out.entry is None:  # the module decided conflicts between the merge bases only
            info(
                f"the merge bases were merged by {out.module} "
                f"({out.fitness_source}, {direction} is fitter)"
            )
        else:
            info(
                f"{out.candidates_scored} candidate(s) scored by {out.module} "
                f"({out.fitness_source}, {out.entry}, {direction} is fitter)"
            )
    if out.commit is None:
        info(f"dry run: nothing written (the merged state would be {out.manifest})")
    else:
        info(f"merged {one_line(theirs)} into {out.into}: state {out.manifest}")
        click.echo(out.commit)


def check_merge_arguments(theirs: str, into: str | None, fitness: str | None) -> None:
    """Refuse values no store could make right (exit 2), before the store is opened: an empty
    revision or module, an experiment name git cannot hold."""
    from mindgit.cli.options import (
        check_fitness_option,
        typed_experiment_name,
        typed_reflog_counts,
    )
    from mindgit.errors import UsageError

    if not theirs.strip():
        raise UsageError("THEIRS is empty: name the experiment or commit to merge")
    typed_reflog_counts(theirs, "THEIRS")
    if into is not None:
        typed_experiment_name(into, "--into")
    check_fitness_option(fitness)


def decision_lines(decisions: Sequence[Decision], theirs: str = "theirs") -> list[str]:
    """One line per pattern the sides disagree on: which side was kept and why."""
    from mindgit.merge.core import BY_FITNESS, OURS_ONLY

    lines = []
    for d in decisions:
        if d.winner == "ours":
            side = "ours"
        else:
            side = "theirs" if theirs == "theirs" else f"theirs ({theirs})"
        if d.reason == BY_FITNESS:
            why = (
                f"fitness: ours {_score(d.scores.get('ours'))}, "
                f"theirs {_score(d.scores.get('theirs'))}"
            )
        elif d.reason == OURS_ONLY:
            why = "only ours changed it"
        else:
            why = "only theirs changed it"
        # One line: a pattern names a block, whose label is an agent file's words.
        lines.append(one_line(f"kept {side} for {d.pattern}: {why}"))
    return lines


def _score(value: float | None) -> str:
    return "failed" if value is None else repr(value)


@click.command("merge-driver")
@click.argument("base", required=False, type=click.Path(path_type=Path))
@click.argument("ours", required=False, type=click.Path(path_type=Path))
@click.argument("theirs", required=False, type=click.Path(path_type=Path))
@click.argument("path", required=False)
@click.option(
    "--tidy",
    is_flag=True,
    help="After a merge commit, make blocks/ exactly what its manifest links (the post-merge hook).",
)
@click.option(
    "--tidy-rebase",
    is_flag=True,
    help="After `git rebase --rebase-merges`, tidy the merges it made (the post-rewrite hook; "
    "reads git's OLD NEW lines on stdin).",
)
@click.option(
    "--virtual-base",
    is_flag=True,
    help="git is merging the merge bases of a criss-cross history (merge.mindgit.recursive): "
    "on failure, leave a mark that stops the real merge.",
)
def merge_driver(
    base: Path | None,
    ours: Path | None,
    theirs: Path | None,
    path: str | None,
    tidy: bool,
    tidy_rebase: bool,
    virtual_base: bool,
) -> None:
    """The git merge driver for manifest.json: `mindgit merge-driver %O %A %B %P`.

    Writes the merged manifest over %A and exits 0; on failure leaves %A as it was, says why on
    stderr and exits non-zero, so git records a conflict.
    """
    from mindgit.errors import UsageError
    from mindgit.merge.gitdriver import setup_predates_safe_path

    if setup_predates_safe_path():
        info(
            "mindgit: warning: this clone's merge driver and hooks start mindgit with the work "
            "tree first on Python's path, where a merged branch's mindgit/ folder could run its "
            "code: run `mindgit git-setup` again"
        )

    if tidy_rebase:
        if base is not None or virtual_base or tidy:
            raise UsageError("--tidy-rebase takes no file arguments")
        import sys

        from mindgit.merge import gitdriver

        done = gitdriver.tidy_rebase(sys.stdin)
        if done.merges:
            info(
                f"mindgit: {len(done.merges)} merge(s) the rebase made tidied (blocks/ and "
                f"thoughts/ what each manifest links), {done.rewritten} commit(s) written again"
                + ("" if done.head is None else f"; HEAD is now {done.head}")
            )
        return
    if tidy:
        if base is not None or virtual_base:
            raise UsageError("--tidy takes no file arguments")
        from mindgit.merge.gitdriver import tidy_blocks

        tidied = tidy_blocks()
        if tidied.commit is not None:
            changed = [
                f"{name} ({len(gone)} unlinked removed, {len(back)} restored)"
                for name, gone, back in (
                    ("blocks/", tidied.removed, tidied.restored),
                    ("thoughts/", tidied.thoughts_removed, tidied.thoughts_restored),
                )
                if gone or back
            ]
            info(
                f"mindgit: {' and '.join(changed)} tidied after the merge; merge commit is now "
                f"{tidied.commit}"
            )
        return
    if base is None or ours is None or theirs is None:
        raise UsageError("usage: mindgit merge-driver BASE OURS THEIRS [PATH]  (git's %O %A %B %P)")
    from mindgit.errors import MindgitError
    from mindgit.merge.gitdriver import (
        merge_files,
        setup_predates_bases_driver,
        setup_predates_commit_hook,
    )

    # git's %P, a path in the clone: a newline in it printed a line of its own.
    where = shown_path(path or "manifest.json")
    if not virtual_base and setup_predates_bases_driver():
        info(
            "mindgit: warning: this clone's merge driver setup is older than its merge-bases "
            "driver; in a criss-cross history git may merge from a guessed base: run "
            "`mindgit git-setup` again"
        )
    try:
        result = merge_files(base, ours, theirs, virtual_base=virtual_base)
    except MindgitError:
        if not virtual_base and setup_predates_commit_hook():
            info(
                "mindgit: warning: this clone's hooks are older than its post-commit hook: the "
                "merge you commit after this conflict keeps in thoughts/ and blocks/ what its "
                "manifest does not link: run `mindgit git-setup` again, or `mindgit "
                "merge-driver --tidy` after committing"
            )
        raise
    for line in decision_lines(result.decisions):
        info(f"mindgit: {where}: {line}")
    if result.thought_decisions:
        from mindgit.merge.engine import thought_decision_line

        for d in result.thought_decisions:
            info(f"mindgit: {where}: {thought_decision_line(d)}")
    if result.module is not None:
        info(
            f"mindgit: {result.candidates_scored} candidate(s) scored by {result.module} "
            f"({result.fitness_source})"
        )
    info(f"mindgit: {where} merged: state {result.manifest}")


@click.command("git-setup")
# As typed (str): click's Path('') is '.', so `git-setup ''` set up the working directory's clone.
@click.argument(
    "path", required=False, default=".", type=click.Path(file_okay=False, path_type=str)
)
@click.option("--remote", default="origin", show_default=True, help="Fetch modules and runs from.")
@click.option("--no-fetch", is_flag=True, help="Only write the configuration; fetch nothing.")
@click.option("--no-hook", is_flag=True, help="Do not install the hooks that tidy merges.")
@click.option(
    "--node",
    metavar="DID",
    default=None,
    help="This node's did:key (`mindgit id`): only its runs may pick the fitness module "
    "(default: the key of the store `mindgit --store STORE git-setup` names, else of the "
    "remote's store when it is on this machine).",
)
@json_option
@click.pass_context
def git_setup(
    ctx: click.Context,
    path: str,
    remote: str,
    no_fetch: bool,
    no_hook: bool,
    node: str | None,
    as_json: bool,
) -> None:
    """Register mindgit's merge driver in a `git clone` of a store, so that `git merge` merges
    states as `mindgit merge` does.

    PATH is the clone (default: the working directory). A --store typed before git-setup names
    this node's store, whose key is then the --node (MINDGIT_STORE is not read).
    """
    from mindgit.cli.options import typed_given, typed_key, typed_store
    from mindgit.errors import UsageError
    from mindgit.merge.gitdriver import git_setup as setup
    from mindgit.store.repository import MINDGIT_DIR, TRUST_FILE

    typed_given(path, "PATH", "give the directory of a `git clone` of a store")
    typed_given(remote, "--remote", "name the clone's remote to fetch from (`git remote -v`)")
    key = typed_key(node, "--node") if node is not None else None
    signers = None
    if typed_store(ctx) is not None:
        # --store was passed over: the node was the remote's store's, whatever store was named.
        from mindgit.store.repository import NotAStore

        try:
            mine = open_store_from(ctx)
            own = mine.public_key
        except NotAStore as e:
            # `mindgit --store CLONE git-setup`: "give the path of a store" did not say that
            # --store is read here as this node's store, not as the clone.
            e.hint = (
                "git-setup reads --store as this node's store (its key is the --node); the "
                "clone is PATH: `mindgit git-setup PATH`"
            )
            raise
        if key is not None and key != own:
            raise UsageError(
                "--node and --store name two nodes (--node is not the key of the store --store "
                "names); nothing was changed",
                hint="give one of them: --store STORE sets the node to that store's key",
            )
        key = own
        signers = mine.path / MINDGIT_DIR / TRUST_FILE
    result = setup(
        Path(path), remote=remote, fetch=not no_fetch, hook=not no_hook, node=key, signers=signers
    )
    if as_json:
        emit_json(
            {
                "repository": str(result.repository),
                "attributes": str(result.attributes),
                "driver": result.driver,
                "refspecs": list(result.refspecs),
                "fetched": result.fetched,
                "hook": None if result.hook is None else str(result.hook),
                "commit_hook": None if result.commit_hook is None else str(result.commit_hook),
                "rewrite_hook": None if result.rewrite_hook is None else str(result.rewrite_hook),
                "hooks_path": result.hooks_path,
                "node": None if result.node is None else result.node.did,
                "allowed_signers": None if result.signers is None else str(result.signers),
            }
        )
        return
    click.echo(str(result.repository))
    info(f"merge driver 'mindgit' registered ({shown_path(result.attributes)})")
    if result.signers is not None:
        info(f"git verify-commit trusts the nodes {shown_path(result.signers)} trusts")
    if result.fetched:
        info(f"fetched fitness modules and runs from {remote}")
    if result.hooks_path is not None and not no_hook:
        info(
            f"core.hooksPath is set ({shown_path(result.hooks_path)}): git runs hooks from there, so no hook "
            "was installed and blocks/ and thoughts/ are not tidied after merges: have its "
            "post-merge and post-commit hooks run `mindgit merge-driver --tidy`, and its "
            "post-rewrite hook `mindgit merge-driver --tidy-rebase` after a rebase"
        )
    elif result.hook is None and not no_hook:
        info("a post-merge hook exists already: blocks/ is not tidied after merges")
    if result.commit_hook is None and result.hooks_path is None and not no_hook:
        info(
            "a post-commit hook exists already: a merge committed after a conflict is not "
            "tidied (run `mindgit merge-driver --tidy` after it)"
        )
    if result.rewrite_hook is None and result.hooks_path is None and not no_hook:
        info(
            "a post-rewrite hook exists already: merges `git rebase --rebase-merges` makes are "
            "tidied as it makes them, and a commit after one stops the rebase (docs/merge.md)"
        )
    if result.node is None:
        info(
            "no node key known: runs will not pick the fitness module "
            "(set one with --node DID, or set mindgit.fitness)"
        )
