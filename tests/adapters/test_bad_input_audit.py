"""An adversarial audit of agent-file and CAR import/export, from the command line and Python.

Every refusal is one line on stderr with a non-zero exit, and leaves every file under the store
exactly as it was (path, mode and bytes). Every output target is written as asked: a pipe or a
device is written through, never replaced by a file, and a failed export to standard output
leaves nothing there.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mindgit.adapters.agentfile import export_af, import_af
from mindgit.adapters.agentfile_json import MAX_DEPTH
from mindgit.adapters.car_export import export as export_car
from mindgit.store import layout
from mindgit.store.objects import as_commit
from mindgit.store.repository import Store, init_store
from tests.adapters.test_car_builders import export_bytes, rich_store
from tests.conftest import FIXTURES, ROOT, Mg, stdout_closed
from tests.snapshots import changes, snapshot

AF = FIXTURES / "agent-files" / "memgpt_agent.af"
SHARED = Path("/work/shared/agent-files")
SHIM = "import sys; from mindgit.cli.main import run; sys.exit(run(sys.argv[1:]))"


def run_binary(
    *args: str, input: bytes | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", SHIM, *args],
        input=input,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        **kwargs,
    )


def one_error_line(err: str, code: int, expected: int) -> None:
    assert code == expected, (code, err)
    assert err.startswith("mindgit: error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in err, err


@pytest.fixture
def agents(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    import_af(store, AF, name="m")
    rich_store(store)
    monkeypatch.setenv("MINDGIT_STORE", str(store.path))
    return store


def v2(agent: dict[str, Any]) -> dict[str, Any]:
    return {"agents": [{"name": "a", **agent}], "blocks": [], "tools": []}


# -- round trips -------------------------------------------------------------------------------


def shared_files() -> list[Path]:
    try:
        return sorted(SHARED.glob("*.af"))
    except OSError:
        return []


@pytest.mark.parametrize("path", shared_files(), ids=lambda p: p.name)
def test_the_shared_agent_files_come_back_byte_for_byte(store: Store, path: Path) -> None:
    imported = import_af(store, path, name="x")
    out = io.BytesIO()
    export_af(store, [a.experiment for a in imported], out)
    assert out.getvalue() == path.read_bytes()


@pytest.mark.parametrize("field", ["reasoning_effort", "effort", "verbosity"])
@pytest.mark.parametrize("where", ["llm_config", "model_settings"])
def test_an_enumerated_setting_with_a_lone_surrogate_round_trips(
    store: Store, field: str, where: str
) -> None:
    # It became a choice gene whose value DAG-JSON cannot encode: the import failed with
    # "cannot encode DAG-JSON at $", naming neither the file nor the field.
    data = json.dumps(v2({where: {field: "\ud800"}}), indent=2).encode()
    [agent] = import_af(store, io.BytesIO(data), name="x")
    assert not any(g.endswith(field) for g in agent.genes)
    out = io.BytesIO()
    export_af(store, "x", out)
    assert out.getvalue() == data


SETTINGS = ["temperature", "top_p", "top_k", "max_tokens", "context_window", "reasoning_effort"]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
    | st.sampled_from(["low", "medium", "high", "minimal", "\ud800"])
)


@settings(max_examples=60)
@given(
    where=st.sampled_from(["llm_config", "model_settings"]),
    values=st.dictionaries(st.sampled_from(SETTINGS), SCALARS, min_size=1),
)
def test_any_scalar_in_a_gene_field_comes_back_as_written(
    tmp_path_factory: pytest.TempPathFactory, where: str, values: dict[str, Any]
) -> None:
    store = init_store(tmp_path_factory.mktemp("genes") / "s", "s")
    data = json.dumps(v2({where: values}), indent=2).encode()
    import_af(store, io.BytesIO(data), name="x")
    out = io.BytesIO()
    export_af(store, "x", out)
    assert out.getvalue() == data


# -- bad input from the command line -------------------------------------------------------------


def bad_inputs(tmp: Path) -> dict[str, tuple[list[str], int]]:
    """Command lines that must be refused, with their exit code."""
    files = tmp / "in"
    files.mkdir()
    (files / "garbage").write_bytes(b"\x00\xff not json")
    (files / "latin1.af").write_bytes(
        json.dumps(v2({"name": "caf\xe9"}), ensure_ascii=False).encode("latin-1")
    )
    (files / "list.af").write_text("[]")
    (files / "deep.af").write_text("[" * 100_000 + "]" * 100_000)
    (files / "no-agents.af").write_text('{"agents": []}')
    (files / "unlabelled.af").write_text(
        json.dumps({"agents": [{"block_ids": ["b"]}], "blocks": [{"id": "b", "value": "v"}]})
    )
    (files / "version.af").write_text(json.dumps({**v2({}), "version": "2"}))
    (files / "1e400.af").write_text(json.dumps(v2({"x": 1})).replace("1", "1e400"))
    (files / "huge int.af").write_text(json.dumps(v2({"x": 1})).replace("1", "9" * 5000))
    with (files / "sparse.af").open("wb") as f:
        f.truncate(500 * 2**20)  # 500 MB that take no disk: refused from their size
    (files / "empty.car").write_bytes(b"")
    (files / "v2.car").write_bytes(bytes.fromhex("0aa16776657273696f6e02") + bytes(40))
    (files / "overflow.car").write_bytes(b"\xff" * 10)
    return {
        "af not json": (["import-af", str(files / "garbage")], 1),
        "af not utf-8": (["import-af", str(files / "latin1.af")], 1),
        "af a list": (["import-af", str(files / "list.af")], 1),
        "af nested 100,000 deep": (["import-af", str(files / "deep.af")], 1),
        "af without agents": (["import-af", str(files / "no-agents.af")], 1),
        "af block without label": (["import-af", str(files / "unlabelled.af")], 1),
        "af unknown version": (["import-af", str(files / "version.af")], 1),
        "af 1e400": (["import-af", str(files / "1e400.af")], 1),
        "af 5000-digit int": (["import-af", str(files / "huge int.af")], 1),
        "af of 500 MB": (["import-af", str(files / "sparse.af")], 1),
        "af a directory": (["import-af", str(files)], 1),
        "af missing": (["import-af", str(files / "absent.af")], 1),
        "af --as with a space": (["import-af", str(AF), "--as", "a b"], 2),
        "af --as HEAD": (["import-af", str(AF), "--as", "HEAD"], 2),
        "af --as taken": (["import-af", str(AF), "--as", "m"], 1),
        "af -o a directory": (["export-af", "m", "-o", str(files)], 2),
        "af -o in the store": (["export-af", "m", "-o", "@store/config"], 2),
        "af of no agent": (["export-af", "main", "-o", str(tmp / "x.af")], 1),
        "car empty": (["import", str(files / "empty.car"), "--as", "c"], 1),
        "car v2": (["import", str(files / "v2.car"), "--as", "c"], 1),
        "car varint overflow": (["import", str(files / "overflow.car"), "--as", "c"], 1),
        "car an af": (["import", str(AF), "--as", "c"], 1),
        "car --as with a space": (["import", str(files / "empty.car"), "--as", "a b"], 2),
        "car --as ..": (["import", str(files / "empty.car"), "--as", "a..b"], 2),
        "car into the store": (["export", "m", "--car", "@store/HEAD"], 2),
        "car a directory": (["export", "m", "--car", str(files)], 2),
    }


def test_bad_input_is_one_line_and_changes_nothing(agents: Store, tmp_path: Path, mg: Mg) -> None:
    cases = bad_inputs(tmp_path)
    before = snapshot(agents.path)
    outside = {p for p in tmp_path.iterdir()}
    for name, (args, code) in cases.items():
        args = [a.replace("@store", str(agents.path)) for a in args]
        r = mg(*args)
        assert r.out == "", (name, r.out)
        one_error_line(r.err, r.code, code)
        assert changes(before, snapshot(agents.path)) == [], name
    assert {p for p in tmp_path.iterdir()} == outside


def test_a_closed_standard_input_is_one_line(agents: Store) -> None:
    before = snapshot(agents.path)
    for args in (["import-af", "-"], ["import", "-", "--as", "c"]):
        r = run_binary(*args, stdin=subprocess.DEVNULL, preexec_fn=lambda: os.close(0))
        # The input failed, not the command line: exit 1, as for a file that cannot be read.
        one_error_line(r.stderr.decode(), r.returncode, 1)
        assert "cannot read stdin: it is closed" in r.stderr.decode()
    assert changes(before, snapshot(agents.path)) == []


def test_a_closed_standard_output_is_one_line(agents: Store) -> None:
    for args in (["export-af", "m", "-o", "-"], ["export", "m", "--car", "-"]):
        r = stdout_closed(*args)
        # A write stdout refuses is a failed operation, as for every command (cli/output.py).
        one_error_line(r.stderr.decode(), r.returncode, 1)
        assert "cannot write to stdout" in r.stderr.decode(), r.stderr


# -- where output goes ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["export-af", "export"])
def test_a_fifo_is_written_through_not_replaced(
    agents: Store, tmp_path: Path, mg: Mg, command: str
) -> None:
    # A device or pipe was "written" by renaming a temporary file over it: as root,
    # `-o /dev/null` left /dev/null a regular file; as anyone, a FIFO became a file.
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # Opened for reading first and without blocking, so that the writer's open does not wait;
    # the export (~26 KB) fits in the pipe's buffer.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        args = ["-o", str(fifo)] if command == "export-af" else ["--car", str(fifo)]
        r = mg(command, "m", *args)
        assert r.code == 0, r.err
        assert stat.S_ISFIFO(fifo.lstat().st_mode)
        got = b""
        while chunk := os.read(reader, 1 << 16):
            got += chunk
    finally:
        os.close(reader)
    if command == "export-af":
        assert got == AF.read_bytes()
    else:
        assert got == export_bytes(agents, "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha", "pipe"]


def test_a_pipe_named_by_dev_fd_is_written(agents: Store) -> None:
    # `mindgit export-af m -o >(gzip > m.af.gz)` names the pipe /dev/fd/N: a temporary file
    # cannot be made in /dev/fd, so this was "cannot write /dev/fd/N".
    for args in (["export-af", "m", "-o"], ["export", "m", "--car"]):
        read, write = os.pipe()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", SHIM, *args, f"/dev/fd/{write}"],
                pass_fds=(write,),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            os.close(write)
            with os.fdopen(read, "rb") as pipe:
                got = pipe.read()
            _, err = proc.communicate(timeout=120)
        finally:
            for fd in (read, write):
                with contextlib.suppress(OSError):  # closed already on the way
                    os.close(fd)
        assert proc.returncode == 0, err
        expected = AF.read_bytes() if args[0] == "export-af" else export_bytes(agents, "m")
        assert got == expected


def broken_experiment(store: Store) -> str:
    """An experiment whose head's tree lacks one thought its manifest links (a damaged store)."""
    repo = store.repo
    commit = as_commit(repo[store.head("dreamer")])
    assert commit is not None
    tree = commit.tree
    thoughts = repo[tree[layout.THOUGHTS].id]
    assert isinstance(thoughts, pygit2.Tree) and len(thoughts) > 1
    builder = repo.TreeBuilder(thoughts)
    builder.remove(sorted(str(e.name) for e in thoughts)[-1])
    top = repo.TreeBuilder(tree)
    top.insert(layout.THOUGHTS, builder.write(), pygit2.GIT_FILEMODE_TREE)
    # No parent: with --history, a parent holding the same manifest would have sent every
    # block already.
    oid = repo.create_commit(
        "refs/heads/broken", commit.author, commit.committer, "damaged", top.write(), []
    )
    assert oid is not None
    return "broken"


@pytest.mark.parametrize("history", [False, True], ids=["plain", "history"])
def test_an_export_to_stdout_that_fails_partway_writes_nothing(
    agents: Store, history: bool
) -> None:
    broken = broken_experiment(agents)
    with pytest.raises(layout.StateNotFound):
        export_car(agents, broken, io.BytesIO(), history=history)
    before = snapshot(agents.path)
    r = run_binary("export", broken, "--car", "-", *(["--history"] if history else []))
    one_error_line(r.stderr.decode(), r.returncode, 1)
    assert r.stdout == b""  # was the header and the manifest: the start of a CAR
    assert changes(before, snapshot(agents.path)) == []
    r = run_binary("export", "dreamer", "--car", "-", *(["--history"] if history else []))
    assert r.returncode == 0 and r.stdout == export_bytes(agents, "dreamer", history=history)


@pytest.mark.parametrize("command", ["export-af", "export"])
def test_an_exported_file_gets_the_mode_a_shell_would_give_it(
    agents: Store, tmp_path: Path, mg: Mg, command: str
) -> None:
    # export-af wrote every file 0600 (mkstemp's mode), even over a file that was 0664;
    # export --car wrote every file 0644 whatever the umask.
    flag = "-o" if command == "export-af" else "--car"
    old = os.umask(0o027)
    try:
        assert mg(command, "m", flag, str(tmp_path / "new")).code == 0
        kept = tmp_path / "kept"
        kept.write_bytes(b"old")
        kept.chmod(0o664)
        assert mg(command, "m", flag, str(kept)).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o640
    assert stat.S_IMODE(kept.stat().st_mode) == 0o664 and kept.read_bytes() != b"old"


@pytest.mark.parametrize("command", ["export-af", "export"])
def test_a_symbolic_link_is_written_through(
    agents: Store, tmp_path: Path, mg: Mg, command: str
) -> None:
    real = tmp_path / "real"
    real.write_bytes(b"old")
    link = tmp_path / "link"
    link.symlink_to(real)
    flag = "-o" if command == "export-af" else "--car"
    assert mg(command, "m", flag, str(link)).code == 0
    assert link.is_symlink() and link.read_bytes() == real.read_bytes() != b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha", "link", "real"]


@pytest.mark.parametrize("kind", ["lists", "maps"])
def test_a_file_nested_as_deep_as_import_takes_exports_again(
    agents: Store, tmp_path: Path, mg: Mg, kind: str
) -> None:
    # Import takes documents nested up to MAX_DEPTH; export put the keys back in order with
    # two Python frames a level and died of RecursionError (exit 3), so the agent was stuck.
    n = MAX_DEPTH - 3  # {"agents": [{"metadata": ...}]} is three levels more
    nested = "[" * n + "]" * n if kind == "lists" else '{"z": 1, "a": ' * n + "1" + "}" * n
    source = tmp_path / "deep.af"
    source.write_text('{"agents": [{"name": "a", "metadata": ' + nested + "}]}")
    assert mg("import-af", str(source), "--as", "deep").code == 0
    r = mg("export-af", "deep", "-o", str(tmp_path / "out.af"))
    assert r.code == 0, r.err
    assert (tmp_path / "out.af").read_bytes() == source.read_bytes()


def test_an_agent_named_what_git_refuses_still_gets_an_experiment(store: Store) -> None:
    # Named after the agent without --as: "v1..v2", "x.lock" and "HEAD" are made only of the
    # characters a name keeps, yet git refuses them as ref names, and the import failed.
    names = ["v1..v2", "x.lock", "HEAD", "y.lock.lock"]
    data = json.dumps({"agents": [{"name": n} for n in names]}).encode()
    imported = import_af(store, io.BytesIO(data))
    assert [a.experiment for a in imported] == ["v1.v2", "x", "HEAD-agent", "y"]
    assert [a.agent_name for a in imported] == names


def small_files_only() -> None:
    """In the child: files (not pipes) end at 20,000 bytes, and a write past that fails."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_an_export_to_stdout_whose_spool_fills_up_is_one_line(agents: Store) -> None:
    # The CAR (~26 KB) waits in a temporary file before it goes to stdout. That file's write
    # failing was a bare "No space left on device": closing the file retried the failed write
    # and its error replaced the one that names the spool and TMPDIR.
    before = snapshot(agents.path)
    r = run_binary("export", "m", "--car", "-", preexec_fn=small_files_only)
    one_error_line(r.stderr.decode(), r.returncode, 1)
    assert "cannot spool" in r.stderr.decode() and "TMPDIR" in r.stderr.decode()
    assert r.stdout == b""
    assert changes(before, snapshot(agents.path)) == []


def test_an_export_to_a_closed_pipe_exits_141_and_changes_nothing(agents: Store) -> None:
    before = snapshot(agents.path)
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the export starts
    try:
        r = subprocess.run(
            [sys.executable, "-c", SHIM, "export", "m", "--car", "-"],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
        )
    finally:
        os.close(write)
    assert r.returncode == 141 and r.stderr == b""  # as git, when a reader closes its pipe
    assert changes(before, snapshot(agents.path)) == []


@pytest.mark.parametrize("command", ["export-af", "export"])
def test_an_export_to_a_file_that_cannot_grow_names_the_file(
    agents: Store, tmp_path: Path, command: str
) -> None:
    # export --car FILE said only "File too large": closing the file after the failed write
    # tried it again, and that error replaced the one that names the file.
    target = tmp_path / "out"
    flag = "-o" if command == "export-af" else "--car"
    r = run_binary(command, "m", flag, str(target), preexec_fn=small_files_only)
    one_error_line(r.stderr.decode(), r.returncode, 1)
    assert f"cannot write {target} (File too large); nothing was written" in r.stderr.decode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alpha"]


@pytest.mark.parametrize("args", [["export-af", "m", "-o"], ["export", "m", "--car"]])
def test_dev_stdout_appended_by_the_shell_keeps_what_was_there(
    agents: Store, tmp_path: Path, args: list[str]
) -> None:
    # `-o /dev/stdout >> log` replaced log (the path resolves to it), then truncated it.
    log = tmp_path / "log"
    log.write_bytes(b"precious\n")
    with open(log, "ab") as out:
        r = subprocess.run(
            [sys.executable, "-c", SHIM, *args, "/dev/stdout"],
            stdout=out,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
        )
    assert r.returncode == 0, r.stderr
    data = log.read_bytes()
    assert data.startswith(b"precious\n") and len(data) > 100
