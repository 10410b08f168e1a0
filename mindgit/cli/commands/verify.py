"""`mindgit verify`: the check CI runs."""

from __future__ import annotations

import click

from mindgit.cli.options import json_option, open_store_from
from mindgit.cli.output import emit_json, info


@click.command()
@click.argument("revs", nargs=-1)
@click.option(
    "--all",
    "all_refs",
    is_flag=True,
    help="Every experiment and run, not just the current experiment.",
)
@click.option(
    "--since", metavar="REV", help="Only commits not reachable from REV (e.g. origin/main)."
)
@json_option
@click.pass_context
def verify(
    ctx: click.Context, revs: tuple[str, ...], all_refs: bool, since: str | None, as_json: bool
) -> None:
    """Check every commit: trusted signature, schema, CIDs. Exit 1 on any failure."""
    from mindgit.cli.main import exit_with
    from mindgit.store.verify import verify_commits

    store = open_store_from(ctx)
    if all_refs:
        tips = [
            str(store.repo.references[r].resolve().target)
            for r in store.repo.references
            if r.startswith(("refs/heads/", "refs/runs/"))
        ]
    elif revs:
        tips = [store.resolve(r) for r in revs]
    else:
        tips = [store.head()]
    hide = [store.resolve(since)] if since else []
    report = verify_commits(store.repo, store.trust, tips, hide)
    if as_json:
        emit_json(
            {
                "ok": report.ok,
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
        )
    else:
        for p in report.problems:
            click.echo(f"FAIL {p}")
        bad = len({p.commit for p in report.problems})
        info(f"{len(report.results)} commits checked, {bad} failed")
    if not report.ok:
        exit_with(1)
