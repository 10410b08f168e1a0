"""CAR commands: export, import, cat (IPFS interop; see docs/ipfs.md)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO, cast

import click

from mindgit.cli.housekeeping import housekeep
from mindgit.cli.options import (
    json_option,
    open_store_from,
    refuse_inside_any_store,
    refuse_inside_store,
    standard_input,
    typed_experiment_name,
    typed_rev,
)
from mindgit.cli.output import emit_json, info, standard_output, terminal_safe_json
from mindgit.cli.targets import refuse_directory_spelling, same_file
from mindgit.errors import MindgitError, UsageError, as_usage, quoted, shown_path


class CarUnreadable(MindgitError):
    """The CAR file given to ``import`` cannot be read."""

    def __init__(self, path: str, reason: str) -> None:
        # A path past 160 characters is cut (a 3,000-character one made a line as long).
        super().__init__(f"cannot read {shown_path(path)}: {reason}; nothing was imported")
        self.path = path


@click.command()
@click.argument("rev", required=False)
@click.option(
    "--car",
    "car_path",
    required=True,
    metavar="FILE",
    help="Write the CAR v1 file here ('-' for stdout).",
)
@click.option(
    "--history",
    is_flag=True,
    help="Also every ancestor state, linked by history blocks; the root is the head's.",
)
@json_option
@click.pass_context
def export(
    ctx: click.Context, rev: str | None, car_path: str, history: bool, as_json: bool
) -> None:
    """Export the state at REV (default: the current experiment) as a CAR file for IPFS.

    The root is the state's manifest CID, or with --history the head commit's history block.
    Prints the root CID.
    """
    from mindgit.adapters.car_export import export as export_car
    from mindgit.adapters.car_spool import SpoolError

    if car_path == "-" and as_json:
        raise UsageError("--json prints on stdout, where --car - writes the CAR; pick one")
    if not car_path:
        raise UsageError("--car needs a file name ('-' for stdout)")
    # `export ''` was 'unknown experiment or revision', exit 1, as if looked up.
    typed_rev(rev, "REV")
    if car_path != "-":
        refuse_directory_spelling("--car", car_path)
    elif standard_output().isatty():
        # A CAR is binary (varints, CID digests): bytes a terminal may act on, as plot -o and
        # gzip refuse to write there.
        raise UsageError(
            "--car - is a terminal; a CAR is binary",
            hint="redirect it (> FILE.car) or pipe it (| ipfs dag import)",
        )
    store = open_store_from(ctx)
    if car_path != "-":
        refuse_inside_store("--car", Path(car_path), store.path)
        # Another store's HEAD or config is as easily clobbered (`--car ../other/HEAD`).
        refuse_inside_any_store("--car", Path(car_path))
    if car_path == "-":
        stdout = standard_output()
        # The CAR waits in an unnamed temporary file until the export has succeeded: one that
        # fails partway must not leave the start of a CAR in a pipe (`| ipfs dag import`).
        spool = _spool_file()
        try:
            try:
                summary = export_car(store, rev, spool, history=history)
                spool.seek(0)
            except OSError as error:
                raise SpoolError(tempfile.gettempdir(), error.strerror or str(error)) from None
            shutil.copyfileobj(spool, stdout, 1 << 20)
            stdout.flush()
        finally:
            # After a full disk, closing would try to write the buffer again and raise a bare
            # OSError in place of the SpoolError; the file goes away unnamed either way.
            with contextlib.suppress(OSError):
                spool.close()
    else:
        output = _atomic_output(Path(car_path), as_json=as_json)
        with output as out:
            summary = export_car(store, rev, out, history=history)
    data = {
        "root": str(summary.root),
        "state": str(summary.state),
        "commit": summary.commit,
        "history": summary.history,
        "states": summary.states,
        "blocks": summary.blocks,
        "bytes": summary.bytes,
        "car": car_path,
    }
    if as_json:
        emit_json(data)
        return
    if car_path != "-" and not output.on_stdout:
        # After the CAR on the same stdout, the root's line was a broken section at its end.
        click.echo(str(summary.root))
    info(
        f"exported {summary.states} state(s), {summary.blocks} blocks, {summary.bytes} bytes "
        f"to {'stdout' if car_path == '-' else shown_path(car_path)}; root {summary.root}"
    )


def _spool_file() -> BinaryIO:
    from mindgit.adapters.car_spool import SpoolError

    try:
        return tempfile.TemporaryFile()
    except OSError as error:
        raise SpoolError(tempfile.gettempdir(), error.strerror or str(error)) from None


# A partial CAR beside its FILE: `.FILE.<12 hex digits>.partial` (the name cut to fit).
_PARTIAL_SUFFIX = ".partial"
_PARTIAL_RANDOM = 12
# An export's partial older than this, and not held by its export's flock, was left by a killed
# export (kill -9, a power cut) and is removed by the next export to the same FILE.
STALE_PARTIAL_SECONDS = 600
# SIGINT raises KeyboardInterrupt, which unwinds through the file's cleanup; these end the
# process where it is, so they remove the partial first.
_ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _partial_prefix(target: Path) -> str:
    """``.NAME.``, NAME cut (by bytes) so that the partial's whole name fits in NAME_MAX."""
    from mindgit.adapters.agentfile_export import temp_prefix

    return temp_prefix(target, _PARTIAL_RANDOM + len(_PARTIAL_SUFFIX))


def _partial_pattern(target: Path) -> re.Pattern[str]:
    return re.compile(
        re.escape(_partial_prefix(target))
        + f"[0-9a-f]{{{_PARTIAL_RANDOM}}}"
        + re.escape(_PARTIAL_SUFFIX)
    )


def remove_stale_partials(target: Path) -> list[Path]:
    """Remove the partial CARs that exports to ``target`` killed outright left beside it; return
    those removed.

    Only names of this module's pattern for ``target`` (``.NAME.<12 hex>.partial``), only regular
    files of this user, only those untouched for ``STALE_PARTIAL_SECONDS``, and only when no
    export holds the flock it takes on its partial as soon as it has made it: an export still
    writing, however slow or stopped, keeps its file.
    """
    from mindgit.leftovers import remove_stale

    return remove_stale(target.parent, _partial_pattern(target), STALE_PARTIAL_SECONDS)


class _atomic_output:
    """A file written under a temporary name and renamed into place only on success.

    A target that exists and is neither a file nor a directory (a device, a FIFO, /dev/fd/N)
    is written through instead: renamed over, it would be replaced (as root, /dev/null).

    The temporary file (``.NAME.<12 hex>.partial``) goes on failure and on Ctrl-C, and on a
    SIGTERM or SIGHUP too (`timeout`, a CI job cancelled, a closed terminal), which end the
    process without unwinding: it is removed, then the signal ends the process as before. A
    ``kill -9`` cannot be caught: its partial is removed by a later export to the same FILE
    once it is stale (``remove_stale_partials``).
    """

    def __init__(self, path: Path, *, as_json: bool = False) -> None:
        self.path = path
        # As the messages name it: cut past 160 characters (a 3,000-character path made
        # "cannot write <path>" a line as long).
        self.shown = shown_path(path)
        self.as_json = as_json
        self.on_stdout = False  # written through to the file that is standard output
        self.target = path
        self.mode = 0o644  # set with the target in __enter__
        self.tmp: Path | None = None
        self.file: BinaryIO | None = None
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> BinaryIO:
        # A target that cannot be written fails the export (exit 1), as for export-af -o.
        from mindgit.adapters.agentfile_export import (
            CannotWrite,
            atomic_target,
            check_descriptor,
            check_replaceable,
        )

        if self.path.is_dir():
            # As export-af -o DIR (click refuses it): no file could be written there.
            raise UsageError(f"--car {self.shown} is a directory; give a file to write")
        planned = atomic_target(self.path)
        if planned is None:
            # /dev/stdout with stdout closed names the CLI's read-only /dev/null: refused here,
            # not found out only when the root CID's print to stdout fails.
            check_descriptor(self.path)
            try:
                # Appended to, as export-af -o does (a device or pipe takes it alike; see there).
                self.file = open(self.path, "ab", buffering=1 << 20)
            except OSError as error:
                raise CannotWrite.of(self.shown, error) from None
            if self.file.isatty():
                self.file.close()
                raise UsageError(
                    f"--car {self.shown} is a terminal; a CAR is binary",
                    hint="give a file, or pipe it (--car - | ipfs dag import)",
                )
            self.on_stdout = same_file(self.file.fileno(), sys.stdout)
            if self.on_stdout and self.as_json:
                self.file.close()
                raise UsageError(f"--car {self.shown} and --json both write to stdout; pick one")
            return self.file
        self.target, self.mode = planned
        check_replaceable(self.target, self.shown)
        remove_stale_partials(self.target)
        fd = self._create_partial()
        self.file = os.fdopen(fd, "wb", buffering=1 << 20)
        return self.file

    def _create_partial(self) -> int:
        from mindgit.adapters.agentfile_export import CannotWrite

        directory = self.target.parent
        prefix = _partial_prefix(self.target)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        while True:
            tmp = directory / f"{prefix}{secrets.token_hex(_PARTIAL_RANDOM // 2)}{_PARTIAL_SUFFIX}"
            try:
                fd = os.open(tmp, flags, 0o600)
            except FileExistsError:
                continue
            except OSError as error:
                raise CannotWrite.of(self.shown, error) from None
            break
        self.tmp = tmp
        # Held until the file is renamed or gone: remove_stale_partials leaves it. Where flock
        # is not supported, the sweep cannot take it either, so it removes nothing.
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._catch_ending_signals()
        return fd

    def _catch_ending_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (a library caller's thread)
        for signum in _ENDING_SIGNALS:
            # An ignored signal (nohup) stays ignored, and a caller's own handler stays theirs.
            if signal.getsignal(signum) is signal.SIG_DFL:
                self.previous[signum] = signal.signal(signum, self._ended)

    def _ended(self, signum: int, frame: FrameType | None) -> None:
        if self.tmp is not None:
            with contextlib.suppress(OSError):
                self.tmp.unlink()
        self._restore_signals()
        os.kill(os.getpid(), signum)  # ends the process as the signal would have

    def _restore_signals(self) -> None:
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)
        self.previous.clear()

    def __exit__(self, kind: Any, error: Any, tb: Any) -> None:
        from mindgit.adapters.agentfile_export import CannotWrite

        assert self.file is not None
        try:
            if kind is not None:
                # After a failed write (disk full, file too large) closing retries it and
                # raises again: that bare OSError hid which file could not be written.
                with contextlib.suppress(OSError):
                    self.file.close()
                if isinstance(error, OSError):
                    raise CannotWrite.of(self.shown, error) from None
                return
            try:
                self.file.close()
            except OSError as failure:
                raise CannotWrite.of(self.shown, failure) from None
            if self.tmp is not None:
                os.chmod(self.tmp, self.mode)
                try:
                    os.replace(self.tmp, self.target)
                except OSError as failure:
                    raise CannotWrite.of(self.shown, failure) from None
        finally:
            if self.tmp is not None:
                self.tmp.unlink(missing_ok=True)
            self._restore_signals()


@click.command("import")
@click.argument("car_path", metavar="FILE")
@click.option(
    "--as",
    "experiment",
    required=True,
    metavar="NAME",
    help="The experiment to import into: created if missing, else the state goes on top of it.",
)
@json_option
@click.pass_context
def import_(ctx: click.Context, car_path: str, experiment: str, as_json: bool) -> None:
    """Import a CAR file ('-' for stdin): verify every block, then commit the state(s) signed.

    Nothing is written unless the whole CAR checks out. Importing the same CAR again changes
    nothing.
    """
    from mindgit.adapters.car_import import import_car

    # `import ''` was "cannot read '': No such file or directory", exit 1.
    if not car_path:
        raise UsageError("FILE is empty: give a CAR file, or - for standard input")
    typed_experiment_name(experiment, "--as")
    store = open_store_from(ctx)
    with contextlib.ExitStack() as stack:
        if car_path == "-":
            stream: BinaryIO = standard_input()
        else:
            try:
                stream = stack.enter_context(open(car_path, "rb", buffering=1 << 20))
            except OSError as error:
                # As import-af and fitness add: a file that cannot be read fails the command
                # (exit 1); only what no file could fix is a usage error.
                raise CarUnreadable(car_path, error.strerror or str(error)) from None
        if _is_terminal(stream):
            # A CAR is binary: one forgotten `<` left the import waiting for the keyboard, as
            # export refuses to write a CAR there (gzip -d refuses alike).
            where = "stdin" if car_path == "-" else quoted(car_path)
            raise UsageError(
                f"{where} is a terminal; a CAR is binary",
                hint="redirect it (< FILE.car) or pipe it (ipfs dag export ROOT | mindgit import -)",
            )
        shown = "stdin" if car_path == "-" else car_path
        summary = import_car(store, cast(BinaryIO, _Reading(stream, shown)), experiment=experiment)
    if summary.changed:
        housekeep(store)
    if as_json:
        emit_json(
            {
                "root": str(summary.root),
                "experiment": summary.experiment,
                "state": str(summary.state),
                "commit": summary.commit,
                "changed": summary.changed,
                "created": summary.created,
                "history": summary.history,
                "states": summary.states,
                "commits": summary.commits,
                "blocks": summary.blocks,
                "ignored": summary.ignored,
            }
        )
        return
    click.echo(summary.commit)
    if not summary.changed:
        info(
            f"nothing changed: experiment {summary.experiment} already holds state {summary.state}"
        )
        return
    verb = "created" if summary.created else "updated"
    info(
        f"{verb} experiment {summary.experiment}: state {summary.state} "
        f"({summary.states} state(s), {summary.blocks} blocks, {summary.commits} commit(s))"
    )
    if summary.ignored:
        info(f"ignored {summary.ignored} block(s) that nothing in the DAG links to")


def _is_terminal(stream: BinaryIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):  # a caller's own stream: not a terminal
        return False


class _Reading:
    """The CAR's stream, its read errors said as the file's: an I/O error partway (a failing
    disk, a network file system) reached the CLI's edge as a bare "Input/output error", naming
    neither the file nor that nothing was imported.

    A standard input left non-blocking by another program (node does so to a shared pipe) has
    its reads return None while the writer has not caught up: ``BlockingReads`` waits for it,
    as ``CarReader`` itself does (import_car looks at the first bytes before its reader does)."""

    def __init__(self, stream: BinaryIO, path: str) -> None:
        from mindgit.ipld.car import BlockingReads

        self.reads = BlockingReads(stream)
        self.path = path

    def read(self, size: int = -1) -> bytes:
        try:
            return self.reads.read(size)
        except OSError as error:
            raise CarUnreadable(self.path, error.strerror or str(error)) from None


@click.command()
@click.argument("cid")
@click.option("--raw", is_flag=True, help="Print the block's exact bytes.")
@json_option
@click.pass_context
def cat(ctx: click.Context, cid: str, raw: bool, as_json: bool) -> None:
    """Print a block by CID (manifest, thought, memory, data, history), like `ipfs dag get`."""
    from mindgit.adapters.car_export import cat as cat_block
    from mindgit.ipld import dagjson
    from mindgit.ipld.cid import CID, InvalidCID

    if raw and as_json:
        raise UsageError("--raw and --json are two different outputs; pick one")
    try:
        target = CID.parse(cid)
    except InvalidCID as e:  # typed on the command line: a usage error
        if "/" in cid:
            # `ipfs dag get <root>/thoughts/0` (docs/ipfs.md) reads like this; CID.parse's own
            # reason for such text was "base32 text has an impossible length". Only text that is
            # no CID: base64 (multibase 'm') spells half of all CIDs with a '/'.
            raise UsageError(
                f"{quoted(cid)} is an IPLD path; `mindgit cat` takes one CID",
                hint="cat the root, then the CID it links there (`ipfs dag get` follows paths)",
            ) from None
        raise as_usage(e, hint="give a CID as `mindgit show` lists it") from None
    store = open_store_from(ctx)
    data = cat_block(store, target)
    if raw:
        out = standard_output()
        out.write(data)
        out.flush()
        return
    node = dagjson.decode(data)
    if as_json:
        import json

        emit_json({"cid": str(target), "size": len(data), "value": json.loads(data)})
        return
    # A peer's words may hold C1 codes (U+009B is CSI) or bidi overrides, which dagjson writes
    # raw and some terminals obey: escaped as --json escapes them, the text reads back the same.
    click.echo(terminal_safe_json(_pretty(node, 0)))


def _pretty(node: Any, depth: int) -> str:
    """Indented DAG-JSON; every scalar, link and bytes value spelled as the codec spells it."""
    from mindgit.ipld import dagjson

    pad = "  " * (depth + 1)
    end = "  " * depth
    if isinstance(node, dict) and node:
        items = [
            f"{pad}{dagjson.encode(key).decode()}: {_pretty(value, depth + 1)}"
            for key, value in sorted(node.items(), key=lambda kv: kv[0].encode())
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(node, list) and node:
        return "[\n" + ",\n".join(pad + _pretty(v, depth + 1) for v in node) + "\n" + end + "]"
    return dagjson.encode(node).decode()
