"""The ``mindgit`` command: a thin layer over the library.

Subcommands are imported only when run, so a read command pays for nothing it does not use.
Errors are caught once, here: a ``MindgitError`` is one line on stderr and exit 1 (2 for usage),
anything else is a bug (exit 3, traceback with ``--debug``), Ctrl-C exits 130.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from mindgit.errors import MindgitError

# command name -> (module under mindgit.cli.commands, function name)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("core", "init"),
    "id": ("core", "id_"),
    "think": ("core", "think"),
    "forget": ("core", "forget"),
    "genome": ("core", "genome"),
    "show": ("core", "show"),
    "log": ("core", "log"),
    "fork": ("core", "fork"),
    "switch": ("core", "switch"),
    "experiments": ("core", "experiments"),
    "diff": ("core", "diff"),
    "config": ("core", "config"),
    "trust": ("trust", "trust"),
    "verify": ("verify", "verify"),
    "fitness": ("evolve", "fitness"),
    "evolve": ("evolve", "evolve"),
    "runs": ("evolve", "runs"),
    "lineage": ("evolve", "lineage"),
    "plot": ("evolve", "plot"),
    "demo": ("evolve", "demo"),
    "merge": ("merge", "merge"),
    "merge-driver": ("merge", "merge_driver"),
    "git-setup": ("merge", "git_setup"),
    "remote": ("sync", "remote"),
    "push": ("sync", "push"),
    "pull": ("sync", "pull"),
    "sync": ("sync", "sync"),
    "peers": ("sync", "peers"),
    "export": ("car", "export"),
    "import": ("car", "import_"),
    "cat": ("car", "cat"),
    "import-af": ("agentfile", "import_af"),
    "export-af": ("agentfile", "export_af"),
    "af-info": ("agentfile", "af_info"),
    "block": ("agentfile", "block"),
    "restore": ("agentfile", "restore"),
    "hooks": ("hooks", "hooks"),
    "hook": ("hooks", "hook"),
    "share": ("private", "share"),
    "keys": ("private", "keys"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module = importlib.import_module(f"mindgit.cli.commands.{spec[0]}")
        cmd: click.Command = getattr(module, spec[1])
        return cmd


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    metavar="PATH",
    envvar="MINDGIT_STORE",
    help="The store to use (default: $MINDGIT_STORE, else the current directory or a parent).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="mindgit")
@click.pass_context
def cli(ctx: click.Context, store: str | None, debug: bool) -> None:
    """Version control for the state of AI agents, built on git."""
    ctx.obj = {"store": store, "debug": debug}


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every outcome to an exit code."""
    sys.exit(run(argv))


def run(argv: list[str] | None = None) -> int:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # Without standalone mode click returns the code of an explicit exit instead of raising.
        rv = cli.main(args=argv, prog_name="mindgit", standalone_mode=False)
    except MindgitError as e:
        _error(str(e), e.hint)
        return e.exit_code
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as e:
        if "PRIVATE KEY" in e.format_message():
            # Never echo a pasted private key back to the terminal or a CI log.
            _error(
                "that looks like a private key; give the public key (did:key or ssh-ed25519 line)",
                None,
            )
            return 2
        e.show()
        return e.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        # The world refused (disk full, permission denied): not a bug in mindgit.
        _error(f"{e.strerror or e}: {e.filename}" if e.filename else str(e.strerror or e), None)
        return 1
    except Exception as e:
        if debug:
            raise
        _error(f"internal error: {type(e).__name__}: {e}", "rerun with --debug for a traceback")
        return 3
    return rv if isinstance(rv, int) else 0


def _error(message: str, hint: str | None) -> None:
    line = " ".join(message.split())
    if hint:
        line += f" (hint: {hint})"
    click.echo(f"mindgit: error: {line}", err=True)


def exit_with(code: int) -> Any:
    """Leave a command with ``code`` without treating it as an error."""
    raise click.exceptions.Exit(code)
