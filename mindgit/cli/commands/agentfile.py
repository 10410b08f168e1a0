"""Letta agent files: import-af, export-af, af-info, and editing memory blocks (block set/restore)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mindgit.cli.housekeeping import housekeep
from mindgit.cli.options import (
    experiment_option,
    json_option,
    open_store_from,
    refuse_inside_any_store,
    refuse_inside_store,
    standard_input,
    typed_experiment_name,
    typed_given,
    typed_rev,
    typed_text,
)
from mindgit.cli.output import emit_json, info, standard_output, warn
from mindgit.cli.targets import refuse_directory_spelling, written_through_to
from mindgit.errors import MindgitError, UsageError, one_line, shown_path


@click.command("import-af")
# A directory is left to the read, which fails it as any file that cannot be read (exit 1), as
# `import` and `fitness add` do: click's check made it a usage error (exit 2).
@click.argument("file", type=click.Path(allow_dash=True, path_type=str))
@click.option(
    "--as",
    "name",
    metavar="NAME",
    help="Experiment name (several agents: NAME-1, NAME-2...; default: the agents' names).",
)
@json_option
@click.pass_context
def import_af(ctx: click.Context, file: str, name: str | None, as_json: bool) -> None:
    """Import a Letta agent file (.af): one new experiment per agent in it.

    Memory blocks become named memories, messages thoughts, LLM settings genes; secrets are
    dropped with a warning. FILE may be - for stdin.
    """
    from mindgit.adapters.agentfile import import_af as run_import

    if not file:
        # Read as a path, "" is the current directory: "cannot read it", as if a file failed.
        raise UsageError("import-af needs a file name ('-' for stdin)")
    if name is not None:
        typed_experiment_name(name, "--as")
    store = open_store_from(ctx)
    source: Any = standard_input() if file == "-" else file
    try:
        agents = run_import(store, source, name=name)
    except MindgitError as error:
        if file != "-":
            _cut_path(error, file)
        raise
    housekeep(store)
    for agent in agents:
        for warning in agent.warnings:
            warn(warning)
    if as_json:
        emit_json(
            [
                {
                    "experiment": a.experiment,
                    "agent": a.agent_name,
                    "commit": a.commit,
                    "state": str(a.state),
                    "memories": list(a.memories),
                    "messages": a.messages,
                    "tools": list(a.tools),
                    "genes": list(a.genes),
                    "warnings": list(a.warnings),
                    "earlier": a.earlier,
                }
                for a in agents
            ]
        )
        return
    for a in agents:
        click.echo(a.experiment)
        who = _shown_name(a.agent_name)
        if a.earlier:
            info(f"agent {who} was imported as {a.experiment} already")
            continue
        info(
            f"imported agent {who} as {a.experiment}: "
            f"{len(a.memories)} blocks, {a.messages} messages, {len(a.tools)} tools, "
            f"{len(a.genes)} genes"
        )


def _shown_name(name: str | None, limit: int = 100) -> str:
    """An agent's name as the file spells it, fit for the import's line: one line (info() kept
    its newlines, and a name holding '\\nmindgit: error: ...' printed that line after an import
    that succeeded) with no control characters, as af-info prints it, cut past ``limit``
    characters as the import's commit subject is (a name of 100 KB made a line as long)."""
    shown = one_line(name or "")
    if not shown:
        return "(unnamed)"
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _cut_path(error: MindgitError, file: str) -> None:
    """``error``'s message with the path of ``file`` in it cut past 160 characters, as the CLI
    cuts a path an OSError names: "<path>: cannot read it" made a 3,000-character path a line as
    long. The error keeps its type (what --json reports) and hint."""
    path = str(Path(file))  # as the reader names it ("./x.af" is x.af)
    shown = shown_path(path)
    if shown == path:
        return
    # Where the message starts with it ("<path>: ..."), not wherever its text occurs: a path of
    # one space (now quoted, shown_path) turned every space of the message into "' '".
    error.args = tuple(
        shown + a[len(path) :] if isinstance(a, str) and a.startswith(f"{path}:") else a
        for a in error.args
    )


@click.command("export-af")
@click.argument("revs", nargs=-1, required=True, metavar="REV...")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(allow_dash=True, path_type=str),
    help="The .af file to write (- for stdout).",
)
@json_option
@click.pass_context
def export_af(ctx: click.Context, revs: tuple[str, ...], output: str, as_json: bool) -> None:
    """Write imported agent(s) as one Letta agent file.

    Give every experiment of a multi-agent import, in order, to get that file back.
    """
    from mindgit.adapters.agentfile import export_af as run_export

    for rev in revs:
        typed_rev(rev, "REV")
    if output == "-" and as_json:
        raise UsageError("-o - and --json both write to stdout; pick one")
    if not output:
        raise UsageError("-o needs a file name ('-' for stdout)")
    if output != "-":
        refuse_directory_spelling("-o", output)
        if Path(output).is_dir():
            # In the words of export --car and plot -o (click's said "Invalid value for '-o' /
            # '--output': File 'out' is a directory" and pointed at --help).
            raise UsageError(f"-o {output} is a directory; give a file to write")
    if as_json and output != "-" and written_through_to(output, sys.stdout):
        # /dev/stdout (or /dev/fd/1) is written through: the JSON would follow the agent file.
        raise UsageError(f"-o {output} and --json both write to stdout; pick one")
    store = open_store_from(ctx)
    if output != "-":
        refuse_inside_store("-o", Path(output), store.path)
        # Another store's HEAD or config is as easily clobbered (`-o ../other/HEAD`).
        refuse_inside_any_store("-o", Path(output))
    out: Any = standard_output() if output == "-" else Path(output)
    result = run_export(store, list(revs), out)
    if output == "-":
        out.flush()
    for warning in result.warnings:
        warn(warning)
    data = {
        "output": output,
        "agents": list(result.agents),
        "bytes": result.size,
        "warnings": list(result.warnings),
    }
    if as_json:
        emit_json(data)
    else:
        info(f"wrote {len(result.agents)} agent(s) to {shown_path(output)} ({result.size} bytes)")


@click.command("af-info")
@click.argument("rev", required=False)
@experiment_option
@json_option
@click.pass_context
def af_info(ctx: click.Context, rev: str | None, experiment: str | None, as_json: bool) -> None:
    """An imported agent: model, memory blocks, tools, message count, genes."""
    from mindgit.adapters.agentfile import NotAnImportedAgent, describe

    typed_rev(rev, "REV")
    if rev is not None and experiment is not None:
        # As show refuses it: -e was dropped without a word (`af-info memgpt -e evie`
        # described memgpt; `-e nosuch` was never looked at).
        raise UsageError("give a revision or -e/--experiment, not both")
    store = open_store_from(ctx)
    if rev is not None:
        s = describe(store, rev)
    else:
        try:
            s = describe(store, store.head(experiment))
        except NotAnImportedAgent:
            # Said of the head's commit id: "2a3b81f95d72... holds no imported agent" named
            # neither the experiment asked for (-e) nor the current one.
            raise NotAnImportedAgent(f"experiment {store.experiment(experiment)}") from None
    if as_json:
        emit_json(
            {
                "name": s.name,
                "layout": s.layout,
                "agent_type": s.agent_type,
                "model": s.model,
                "memories": [{"name": n, "label": label} for n, label in s.memories],
                "tools": list(s.tools),
                "tool_rules": s.tool_rules,
                "messages": s.messages,
                "genes": list(s.genes),
            }
        )
        return
    # Names, model and labels are the agent file's words (anyone's, or a peer's pulled here):
    # each is one line a terminal shows and never runs, as `show` and the import's line print.
    agent_type = one_line(s.agent_type or "?")
    click.echo(f"agent      {one_line(s.name or '(unnamed)')}  ({agent_type}, {s.layout})")
    click.echo(f"model      {one_line(s.model or '?')}")
    click.echo(f"blocks     {len(s.memories)}")
    for name, label in s.memories:
        click.echo(f"  {one_line(label)}" + (f"  (memory {name})" if name != label else ""))
    click.echo(f"tools      {len(s.tools)}: {', '.join(one_line(t) for t in s.tools)}")
    click.echo(f"tool rules {s.tool_rules}")
    click.echo(f"messages   {s.messages}")
    click.echo(f"genes      {', '.join(s.genes)}")


@click.group()
def block() -> None:
    """Edit an imported agent's memory blocks, one signed commit per change."""


@block.command("set")
@click.argument("label")
@click.argument("value")
@experiment_option
@json_option
@click.pass_context
def block_set(
    ctx: click.Context, label: str, value: str, experiment: str | None, as_json: bool
) -> None:
    """Give block LABEL the text VALUE (a new commit; `mindgit diff` shows the change)."""
    from mindgit.adapters.agentfile import set_block

    typed_given(label, "LABEL", "name a memory block (`mindgit af-info` lists them)")
    # The library keeps lone surrogates (an agent file may hold them); typed in, they are a
    # wrong encoding, not a value.
    typed_text(value, "VALUE")
    store = open_store_from(ctx)
    _report(set_block(store, label, value, experiment=experiment), as_json)


@click.command("restore")
@click.argument("label")
@click.option("--from", "from_rev", required=True, metavar="REV", help="Take the block from here.")
@experiment_option
@json_option
@click.pass_context
def restore(
    ctx: click.Context, label: str, from_rev: str, experiment: str | None, as_json: bool
) -> None:
    """Roll block LABEL back to what it was at REV, as a new commit."""
    from mindgit.adapters.agentfile import restore_block

    typed_given(label, "LABEL", "name a memory block (`mindgit af-info` lists them)")
    typed_rev(from_rev, "--from")
    store = open_store_from(ctx)
    _report(restore_block(store, label, from_rev, experiment=experiment), as_json)


block.add_command(restore)


def _report(commit: Any, as_json: bool) -> None:
    if as_json:
        emit_json(
            {"commit": commit.id, "experiment": commit.experiment, "state": str(commit.manifest)}
        )
    else:
        click.echo(commit.id)
