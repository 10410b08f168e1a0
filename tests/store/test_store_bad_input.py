"""Bad input the store layer must refuse (found by the CLI bad-input audit): one error line, a
non-zero exit, the store unchanged; and damaged store files named, not reported as mindgit bugs.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mindgit.sandbox.limits import MAX_FUEL, MAX_MEMORY_BYTES, MAX_STACK_BYTES, MAX_TABLE_ELEMENTS
from mindgit.store.genome import Gene
from mindgit.store.repository import (
    HeadDetached,
    HeadUnreadable,
    Store,
    StoreUnreadable,
    init_store,
    open_store,
)
from mindgit.store.settings import MAX_SYNC_TIMEOUT, BadSetting, check_setting
from mindgit.store.state import Block, SchemaError, make_thought
from tests.cli.test_bad_input_audit import assert_one_error_line
from tests.conftest import Mg, git
from tests.snapshots import changes, snapshot

CONTROL_TAGS = ["a\nb", "a\x1b", "a\tb", "a\rb", "\x00", "a\x7fb", "a\u0085b", "a\u2028b"]


@pytest.fixture
def alpha(tmp_path: Path) -> Store:
    store = init_store(tmp_path / "alpha", "alpha")
    store.think("hello", ["greeting"])
    return store


# -- thought tags ---------------------------------------------------------------------------


@pytest.mark.parametrize("tag", CONTROL_TAGS)
def test_a_tag_with_a_character_that_is_not_printable_is_refused(tag: str) -> None:
    with pytest.raises(SchemaError, match="printable"):
        make_thought("x", [tag])


@pytest.mark.parametrize("tag", ["a b", "café", "日本", "x" * 128, "a-b:c/d"])
def test_printable_tags_are_kept(tag: str) -> None:
    assert make_thought("x", [tag]).data.count(tag.encode()) == 1


@pytest.mark.parametrize("tag", ["sec\nret", "sec\x1bret", "sec\tret"])
def test_think_refuses_a_control_character_in_a_tag(alpha: Store, mg: Mg, tag: str) -> None:
    before = snapshot(alpha.path)
    for private in ([], ["--private"]):
        r = mg("--store", str(alpha.path), "think", "x", "--tag", tag, *private)
        assert_one_error_line(r.code, r.err)
        assert "tag" in r.err and "printable" in r.err
        # The tags of a private thought are private: the error does not quote them.
        assert ("sec" in r.err) is not bool(private)
    assert changes(before, snapshot(alpha.path)) == []


def test_a_stored_thought_with_a_control_character_in_a_tag_still_reads(
    alpha: Store, mg: Mg
) -> None:
    # Written before tags were checked (or by another mindgit): the note is valid DAG-JSON under
    # its CID, so refusing it now would make history that verified fail.
    block = Block.encode({"tags": ["a\nb"], "text": "old", "type": "note"})
    state = alpha.state()
    alpha.commit_state(
        state.with_thoughts(state.thoughts | {block.cid}), {block.cid: block.data}, "old"
    )
    assert alpha.verify(all_refs=True).ok
    assert alpha.thought(block.cid) == block.data
    r = mg("--store", str(alpha.path), "show")
    assert r.code == 0 and "old" in r.out
    assert mg("--store", str(alpha.path), "verify", "--all").code == 0


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("fitness", "a\rb", "printable"),
        ("fitness", "a\x1b", "printable"),
        ("fitness", "a\tb", "printable"),
        ("fitness", "a\nb", "printable"),
        ("fitness", "a\u2028b", "printable"),
        ("fitness", "\udcff", "not UTF-8"),
        ("fuel", "99999999999999999999999999999", f"limit of {MAX_FUEL}"),
        ("fuel", str(MAX_FUEL + 1), f"limit of {MAX_FUEL}"),
        ("table", str(MAX_TABLE_ELEMENTS + 1), f"limit of {MAX_TABLE_ELEMENTS}"),
        ("memory", "4097M", f"limit of {MAX_MEMORY_BYTES} bytes (4G)"),
        ("memory", "99999G", f"limit of {MAX_MEMORY_BYTES} bytes (4G)"),
        ("stack", "2049k", f"limit of {MAX_STACK_BYTES} bytes (2M)"),
        ("synctimeout", str(MAX_SYNC_TIMEOUT + 1), f"limit of {MAX_SYNC_TIMEOUT}"),
        ("memory", "0", "positive"),
        ("stack", "0k", "positive"),
        ("maxfetch", "0", "positive"),
        ("maxObjectBytes", "0M", "positive"),
    ],
)
def test_config_set_refuses(alpha: Store, mg: Mg, key: str, value: str, problem: str) -> None:
    with pytest.raises(BadSetting, match=re.escape(problem)):
        check_setting(key, value)
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), "config", "set", key, value)
    assert_one_error_line(r.code, r.err)
    assert f"setting {key!r}" in r.err and problem in r.err
    assert changes(before, snapshot(alpha.path)) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("fitness", "my module.wasm"),
        ("fitness", "café"),
        ("fuel", str(MAX_FUEL)),
        ("table", str(MAX_TABLE_ELEMENTS)),
        ("memory", "4G"),
        ("memory", "4096MiB"),
        ("stack", "2M"),
        ("stack", "64k"),
        ("synctimeout", str(MAX_SYNC_TIMEOUT)),
        ("maxfetch", "99999G"),
        ("maxObjectBytes", "1"),
    ],
)
def test_config_set_takes_values_up_to_the_limit(
    alpha: Store, mg: Mg, key: str, value: str
) -> None:
    assert mg("--store", str(alpha.path), "config", "set", key, value).code == 0
    assert alpha.config_get(f"mindgit.{key}") == value


def test_the_largest_limits_in_the_config_are_what_the_sandbox_takes(alpha: Store) -> None:
    from mindgit.evolve.fitness import limits_for

    for key, value in [("fuel", MAX_FUEL), ("memory", "4G"), ("stack", "2M")]:
        alpha.config_set(check_setting(key, str(value)), str(value))
    alpha.config_set(check_setting("table", str(MAX_TABLE_ELEMENTS)), str(MAX_TABLE_ELEMENTS))
    limits = limits_for(alpha)
    assert (limits.fuel, limits.memory_bytes) == (MAX_FUEL, MAX_MEMORY_BYTES)
    assert (limits.stack_bytes, limits.table_elements) == (MAX_STACK_BYTES, MAX_TABLE_ELEMENTS)


@pytest.mark.parametrize(
    ("stack", "aborts"), [(MAX_STACK_BYTES, False), (MAX_STACK_BYTES + 1, True)]
)
def test_wasmtime_takes_the_stack_limit_and_aborts_past_it(stack: int, aborts: bool) -> None:
    # Why `stack` is bounded when it is set: past the bound wasmtime does not raise, it kills
    # the process (a Rust panic, SIGABRT), so it is tried in a child.
    code = f"from mindgit.sandbox.engine import _make_engine; _make_engine({stack})"
    no_core = lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # noqa: E731
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=False, preexec_fn=no_core
    )
    assert (proc.returncode == -signal.SIGABRT) is aborts, proc.stderr[-500:]
    assert (proc.returncode == 0) is not aborts


def test_a_subprocess_waits_up_to_the_sync_timeout_limit_and_no_longer() -> None:
    # Why `synctimeout` is bounded: a peer's git runs under it (sync/transport.py), and a longer
    # timeout is an OverflowError, not a wait.
    subprocess.run(["true"], capture_output=True, check=True, timeout=MAX_SYNC_TIMEOUT)
    with pytest.raises(OverflowError):
        subprocess.run(["true"], capture_output=True, check=True, timeout=MAX_SYNC_TIMEOUT + 1)


# -- HEAD -----------------------------------------------------------------------------------

USES_HEAD = [["show"], ["log"], ["think", "x"], ["fork", "y"], ["verify"]]


@pytest.mark.parametrize(
    "content", [b"junk\n", b"", b"\xff\xfe\n", b"ref: \n", b"ref: refs/heads/main\nextra\n"]
)
def test_a_damaged_head_is_named_not_an_internal_error(
    alpha: Store, mg: Mg, content: bytes
) -> None:
    (alpha.path / "HEAD").write_bytes(content)
    with pytest.raises(HeadUnreadable):
        _ = alpha.current
    before = snapshot(alpha.path)
    for args in USES_HEAD:
        r = mg("--store", str(alpha.path), *args)
        assert_one_error_line(r.code, r.err)
        assert r.code == 1 and "current experiment cannot be read" in r.err, args
        assert f"{alpha.path / 'HEAD'} is damaged" in r.err
        assert f"`mindgit --store {alpha.path} switch <name>`" in r.err
        assert "the experiments are main" in r.err
    assert changes(before, snapshot(alpha.path)) == []
    assert mg("--store", str(alpha.path), "switch", "main").code == 0
    assert mg("--store", str(alpha.path), "show").code == 0


def test_a_detached_head_says_so(alpha: Store, mg: Mg) -> None:
    alpha.fork("dreamer", switch=False)
    commit = alpha.head("main")
    git("--git-dir", str(alpha.path), "update-ref", "--no-deref", "HEAD", commit)
    with pytest.raises(HeadDetached):
        _ = alpha.current
    before = snapshot(alpha.path)
    for args in USES_HEAD:
        r = mg("--store", str(alpha.path), *args)
        assert_one_error_line(r.code, r.err)
        assert r.code == 1 and f"HEAD is detached at commit {commit[:12]}" in r.err, args
        assert "unknown experiment" not in r.err
        assert "the experiments are dreamer, main" in r.err
    assert changes(before, snapshot(alpha.path)) == []
    # What does not need a current experiment still works; `experiments` lists the names to
    # switch to, none marked current, and says why on stderr.
    r = mg("--store", str(alpha.path), "experiments", "--json")
    assert r.code == 0 and f"HEAD is detached at commit {commit[:12]}" in r.err
    assert [(e["name"], e["current"]) for e in json.loads(r.out)] == [
        ("dreamer", False),
        ("main", False),
    ]
    assert mg("--store", str(alpha.path), "show", "main").code == 0
    assert mg("--store", str(alpha.path), "think", "x", "-e", "dreamer").code == 0
    assert mg("--store", str(alpha.path), "switch", "dreamer").code == 0
    assert alpha.current == "dreamer"


@pytest.mark.parametrize(
    ("target", "said"), [("refs/tags/v1", "'refs/tags/v1'"), ("HEAD", "itself")]
)
def test_a_head_naming_no_experiment_says_so(alpha: Store, mg: Mg, target: str, said: str) -> None:
    (alpha.path / "HEAD").write_text(f"ref: {target}\n")
    r = mg("--store", str(alpha.path), "show")
    assert_one_error_line(r.code, r.err)
    assert f"HEAD points at {said}, not at an experiment" in r.err


# -- a store git cannot open ----------------------------------------------------------------


def test_a_config_that_does_not_parse_is_the_stores_own_error(alpha: Store, mg: Mg) -> None:
    with open(alpha.path / "config", "a") as config:
        config.write("[broken\n")
    for opener in (Store, open_store):
        with pytest.raises(StoreUnreadable) as caught:
            opener(alpha.path)
        assert caught.value.path == alpha.path
        assert "cannot open the store" in str(caught.value) and "config" in str(caught.value)
    # The command line says the same, on one line (tests/cli/test_bad_input_audit.py has more).
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), "show")
    assert_one_error_line(r.code, r.err)
    assert r.code == 1 and f"{alpha.path / 'config'}:" in r.err
    assert changes(before, snapshot(alpha.path)) == []


# -- refs that point at no commit -----------------------------------------------------------


def test_verify_all_names_every_ref_that_points_at_no_commit(alpha: Store, mg: Mg) -> None:
    refs = alpha.path / "refs"
    (refs / "runs").mkdir(exist_ok=True)
    blob = git("--git-dir", str(alpha.path), "hash-object", "-w", "--stdin", input=b"hi").strip()
    damage = {
        "refs/heads/broken": "zzz\n",
        "refs/runs/r1": "zzz\n",
        "refs/heads/ghost": "1234567890" * 4 + "\n",
        "refs/heads/blob": blob + "\n",
        "refs/heads/dangling": "ref: refs/heads/gone\n",
        "refs/heads/bad name": alpha.head() + "\n",
    }
    for ref, content in damage.items():
        (alpha.path / ref).write_text(content)
    (refs / "heads" / "main.lock").write_text("zzz\n")  # a writer's lock: not a ref
    (alpha.path / "refs" / "tags").mkdir(exist_ok=True)
    (alpha.path / "refs" / "tags" / "junk").write_text("zzz\n")  # not a namespace mindgit syncs

    report = alpha.verify(all_refs=True)
    assert not report.ok and report.problems == []
    assert [p.ref for p in report.refs] == sorted(damage)
    reasons = {p.ref: p.reason for p in report.refs}
    assert "corrupted loose reference file" in reasons["refs/heads/broken"]
    assert (
        "which is not in the store: its objects are missing or cannot be read"
        in reasons["refs/heads/ghost"]
    )
    assert reasons["refs/heads/blob"] == "points at a blob, not a commit"
    assert reasons["refs/heads/dangling"] == "points at refs/heads/gone, which does not exist"
    assert reasons["refs/heads/bad name"] == "is not a valid ref name"
    assert len(report.results) == 2  # main's two commits were still checked

    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), "verify", "--all")
    assert r.code == 1
    assert r.out.splitlines() == [f"FAIL {p}" for p in report.refs]
    assert r.err == "2 commits checked, 0 failed, 6 refs point at no commit\n"
    r = mg("--store", str(alpha.path), "verify", "--all", "--json")
    assert r.code == 1 and json.loads(r.out)["refs"] == [
        {"ref": p.ref, "reason": p.reason} for p in report.refs
    ]
    assert json.loads(r.out)["ok"] is False
    # Without --all only the current experiment is verified: the damage is elsewhere.
    assert mg("--store", str(alpha.path), "verify").code == 0
    assert changes(before, snapshot(alpha.path)) == []

    for ref in damage:
        (alpha.path / ref).unlink()
    assert alpha.verify(all_refs=True).ok
    r = mg("--store", str(alpha.path), "verify", "--all", "--json")
    assert r.code == 0 and json.loads(r.out)["refs"] == []


def test_verify_all_names_a_ref_file_that_is_not_utf8_in_valid_json(alpha: Store, mg: Mg) -> None:
    # The name came back as surrogates: --json wrote its raw bytes (not UTF-8 JSON).
    with open(os.path.join(os.fsencode(alpha.path), b"refs", b"heads", b"b\xffd"), "w") as f:
        f.write("zzz\n")
    [problem] = alpha.verify(all_refs=True).refs
    assert problem.ref == "refs/heads/b\\xffd" and "cannot be read" in problem.reason
    r = mg("--store", str(alpha.path), "verify", "--all", "--json")
    assert r.code == 1
    assert json.loads(r.out)["refs"] == [{"ref": "refs/heads/b\\xffd", "reason": problem.reason}]


def test_verify_all_with_a_trust_file_checks_the_refs_of_any_repository(
    alpha: Store, mg: Mg, tmp_path: Path
) -> None:
    trust = tmp_path / "allowed_signers"
    trust.write_text((alpha.path / "mindgit" / "allowed_signers").read_text())
    (alpha.path / "refs" / "heads" / "broken").write_text("zzz\n")
    r = mg("--store", str(alpha.path), "verify", "--all", "--trust", str(trust))
    assert r.code == 1 and r.out.startswith("FAIL refs/heads/broken: cannot be read")


def test_a_symbolic_experiment_ref_is_not_written_through(alpha: Store, mg: Mg) -> None:
    # Found by the merge audit: writing through refs/heads/alias (a link to main) turned the
    # link into a plain ref and left main where it was; git would have moved main.
    git("--git-dir", str(alpha.path), "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    before = snapshot(alpha.path)
    for args in (
        ("think", "through the link", "-e", "alias"),
        ("genome", "set", "x=1", "-e", "alias"),
    ):
        r = mg("--store", str(alpha.path), *args)
        assert_one_error_line(r.code, r.err)
        assert r.code == 1 and "refs/heads/alias is a symbolic ref to refs/heads/main" in r.err
        assert "name main instead" in r.err
    assert changes(before, snapshot(alpha.path)) == []
    assert git("--git-dir", str(alpha.path), "symbolic-ref", "refs/heads/alias").strip() == (
        "refs/heads/main"
    )
    # Read through it still works, as git reads it.
    assert mg("--store", str(alpha.path), "show", "alias").code == 0


@pytest.mark.parametrize(
    "args", [("config", "get", "maxfetch"), ("evolve", "--fitness", "x", "--generations", "1")]
)
def test_a_setting_that_is_not_utf8_is_bad_data(
    alpha: Store, mg: Mg, args: tuple[str, ...]
) -> None:
    # Store.config_get let pygit2's UnicodeDecodeError through: exit 3 for bad data in a file.
    key = "mindgit.maxfetch" if args[0] == "config" else "mindgit.fuel"
    alpha.set_genes([Gene.make("x0", "float", 0.5, min=-1, max=1)])
    subprocess.run(["git", "--git-dir", str(alpha.path), "config", key, "\xff"], check=True)
    with open(alpha.path / "config", "rb") as f:
        text = f.read()
    (alpha.path / "config").write_bytes(text.replace("\xff".encode(), b"\xff"))
    before = snapshot(alpha.path)
    r = mg("--store", str(alpha.path), *args)
    assert_one_error_line(r.code, r.err)
    assert r.code == 1 and f"config {key}" in r.err and "not UTF-8" in r.err, r.err
    assert changes(before, snapshot(alpha.path)) == []
