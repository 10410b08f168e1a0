"""A review of CAR import, export and cat: cases found by trying them as a user and an attacker."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pygit2
import pytest

from mindgit.adapters.car_history import HistoryBlock, HistoryFormatError
from mindgit.adapters.car_import import import_car
from mindgit.store.repository import Store, init_store
from mindgit.store.state import Block
from mindgit.store.verify import STATE_TRAILER, trailer
from tests.adapters.test_car_builders import (
    car_sections,
    export_bytes,
    make_car,
    rich_store,
    store_fingerprint,
)
from tests.conftest import Mg, git, stdout_to_file


@pytest.fixture
def source(store: Store) -> Store:
    return rich_store(store)


@pytest.fixture
def target(tmp_path: Path) -> Store:
    return init_store(tmp_path / "beta", "beta")


def with_head_message(source: Store, message: str) -> tuple[bytes, HistoryBlock]:
    """``dreamer``'s history CAR with the head's history block saying ``message``."""
    (root,), sections = car_sections(export_bytes(source, "dreamer", history=True))
    blocks = dict(sections)
    head = HistoryBlock.decode(root, blocks[root])
    forged = HistoryBlock(head.state, head.parents, message)
    block = forged.encode()
    rest = [(cid, data) for cid, data in sections if cid != root]
    return make_car([block.cid], [*rest, (block.cid, block.data)]), forged


def head_message(store: Store, experiment: str) -> str:
    commit = store.repo.revparse_single("refs/heads/" + experiment).peel(pygit2.Commit)
    return commit.message


# -- a history block's message cannot give the rebuilt commit a second state trailer ---------


@pytest.mark.parametrize("separator", ["\u2028", "\r", "\x85", "\x0c"])
def test_a_line_break_inside_a_trailer_cannot_forge_the_state_trailer(
    source: Store, target: Store, separator: str
) -> None:
    # The message's trailer paragraph was written back as trailers after the real state's;
    # verify's trailer() splits lines as str.splitlines does, so the last "line" named a state
    # of the attacker's choice, and the signed import showed as invalid in `mindgit log`.
    fake = "baguqeerawxkuyopgmzy4s4y3t5dr4wc5qjrm2t2usy7qzeyifwg46m2njr4a"
    message = f"think: forged\n\n{STATE_TRAILER}: x\nNote: a{separator}{STATE_TRAILER}: {fake}"
    car, block = with_head_message(source, message)
    import_car(target, io.BytesIO(car), experiment="copy")
    rebuilt = head_message(target, "copy")
    assert trailer(rebuilt, STATE_TRAILER) == str(block.state)
    # And the history still round-trips: the re-export names the block imported.
    (root,), _ = car_sections(export_bytes(target, "copy", history=True))
    assert root == block.encode().cid


@pytest.mark.parametrize(
    "message",
    [
        "body\n \nWhy: x",  # a paragraph break of blanks
        "body\n\n\nWhy: x",  # of two empty lines
        "body\n\nMindgit-State: bafy",  # a state trailer of its own
    ],
)
def test_an_imported_history_exports_as_the_same_blocks(
    source: Store, target: Store, message: str
) -> None:
    # split_trailers took these for body and trailers, which write_commit puts back one empty
    # line apart: the re-export's root was another CID than the one imported.
    car, block = with_head_message(source, message)
    import_car(target, io.BytesIO(car), experiment="copy")
    (root,), _ = car_sections(export_bytes(target, "copy", history=True))
    assert root == block.encode().cid


def test_a_message_a_git_commit_cannot_keep_is_refused(source: Store, target: Store) -> None:
    for message in ("ends with a newline\n", "\nstarts with one", "body\n\nWhy: x\n\n"):
        car, _ = with_head_message(source, message)
        before = store_fingerprint(target)
        with pytest.raises(HistoryFormatError, match="newline"):
            import_car(target, io.BytesIO(car), experiment="copy")
        assert store_fingerprint(target) == before


def test_a_store_made_history_with_a_blank_paragraph_break_round_trips(
    store: Store, target: Store
) -> None:
    # Not only hostile CARs: a commit written through the API with such a message did too.
    human = Block.encode({"label": "human", "value": "Ada"})
    state = store.state().with_memories({"human": human.cid})
    store.commit_state(state, {human.cid: human.data}, "edit\n \nWhy: she said so")
    (root,), _ = car_sections(export_bytes(store, None, history=True))
    import_car(target, io.BytesIO(export_bytes(store, None, history=True)), experiment="copy")
    (again,), _ = car_sections(export_bytes(target, "copy", history=True))
    assert again == root


# -- cat over a store with odd experiment refs -----------------------------------------------


def test_cat_skips_a_symbolic_experiment_ref_to_nothing(source: Store, mg: Mg) -> None:
    git("--git-dir", str(source.path), "symbolic-ref", "refs/heads/dangling", "refs/heads/gone")
    thought = next(iter(source.state("dreamer").thoughts))
    r = mg("--store", str(source.path), "cat", str(thought))
    assert r.code == 0, r.err
    assert '"text"' in r.out


def test_cat_names_an_experiment_ref_to_a_blob(source: Store, mg: Mg) -> None:
    blob = str(source.repo.revparse_single("main:manifest.json").id)
    (Path(source.path) / "refs" / "heads" / "odd").write_text(blob + "\n")
    thought = next(iter(source.state("dreamer").thoughts))
    r = mg("--store", str(source.path), "cat", str(thought))
    assert r.code == 1
    assert r.err == "mindgit: error: 'odd' names a blob, not a commit (a state is a commit)\n"


# -- export --car that names a directory -------------------------------------------------------


@pytest.mark.parametrize("suffix", ["/", "/."])
def test_export_to_a_missing_directory_writes_no_file_of_its_name(
    source: Store, mg: Mg, tmp_path: Path, suffix: str
) -> None:
    # pathlib took "out/" for "out": the CAR became a file named like the directory meant.
    out = tmp_path / "out"
    r = mg("--store", str(source.path), "export", "--car", str(out) + suffix)
    assert r.code == 2 and r.out == ""
    assert r.err == f"mindgit: error: --car {out}{suffix} names a directory; give a file to write\n"
    assert not out.exists()


# -- a store that lost an object -------------------------------------------------------------


def lose(store: Store, oid: str) -> None:
    loose = Path(store.path) / "objects" / oid[:2] / oid[2:]
    assert loose.is_file()  # written loose by think, not yet packed
    loose.unlink()


@pytest.mark.parametrize("what", ["thought", "manifest", "thoughts tree"])
def test_export_and_cat_name_a_missing_object(
    store: Store, mg: Mg, tmp_path: Path, what: str
) -> None:
    # libgit2's KeyError for an object that is gone reached the CLI as an internal error, exit 3.
    _, thought = store.think("soon lost")
    path = {"thought": f"thoughts/{thought}", "manifest": "manifest.json"}.get(what, "thoughts")
    oid = str(store.repo.revparse_single(f"main:{path}").id)
    lose(store, oid)
    at = ("--store", str(store.path))
    for args in (
        ("export", "--car", str(tmp_path / "a.car")),
        ("export", "--history", "--car", str(tmp_path / "a.car")),
        ("cat", str(thought)),
    ):
        r = mg(*at, *args)
        assert r.code == 1, (args, r.err)
        assert f"object {oid} is missing (run `git fsck` on the store)" in r.err
        assert r.err.count("\n") == 1
    assert not (tmp_path / "a.car").exists()


def test_import_onto_a_head_whose_manifest_is_missing_writes_nothing(
    source: Store, mg: Mg, tmp_path: Path
) -> None:
    car = tmp_path / "dreamer.car"
    car.write_bytes(export_bytes(source, "dreamer"))
    beta = init_store(tmp_path / "gamma", "gamma")
    beta.think("soon lost")
    lose(beta, str(beta.repo.revparse_single("main:manifest.json").id))
    before = store_fingerprint(beta)
    r = mg("--store", str(beta.path), "import", str(car), "--as", "main")
    assert r.code == 1 and "is missing (run `git fsck` on the store)" in r.err
    assert store_fingerprint(beta) == before


def test_export_history_and_cat_name_a_missing_ancestor(
    store: Store, mg: Mg, tmp_path: Path
) -> None:
    _, old = store.think("before the loss")
    store.think("the lost commit")
    lost = str(store.repo.revparse_single("main").id)
    store.think("after it")
    lose(store, lost)
    at = ("--store", str(store.path))
    for args in (("export", "--history", "--car", str(tmp_path / "a.car")), ("cat", str(old))):
        r = mg(*at, *args)
        assert r.code == 1, (args, r.err)
        assert r.err == (
            f"mindgit: error: the history: object {lost} is missing (run `git fsck` on the store)\n"
        )
    # The head's own state does not need the lost commit.
    assert mg(*at, "export", "--car", str(tmp_path / "a.car")).code == 0


# -- cat given an IPLD path ------------------------------------------------------------------


@pytest.mark.parametrize("form", ["{root}/thoughts/0", "/ipfs/{root}", "{root}/"])
def test_cat_of_an_ipld_path_says_so(source: Store, mg: Mg, form: str) -> None:
    # docs/ipfs.md shows `ipfs dag get <root>/thoughts/0`; the same typed to cat was refused as
    # "base32 text has an impossible length".
    root = source.snapshot("dreamer").manifest.cid
    text = form.format(root=root)
    r = mg("--store", str(source.path), "cat", text)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(
        f"mindgit: error: {text!r} is an IPLD path; `mindgit cat` takes one CID"
    )


# -- export --car /dev/stdout ----------------------------------------------------------------


def export_to_stdout(store: Store, tmp_path: Path, *args: str) -> tuple[int, bytes, bytes]:
    """`mindgit export ARGS` with standard output a real file."""
    return stdout_to_file(tmp_path, "--store", str(store.path), "export", *args)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="/dev/fd/N is Linux's")
@pytest.mark.parametrize("target", ["/dev/stdout", "/dev/fd/1"])
def test_export_to_dev_stdout_writes_the_car_alone(
    source: Store, tmp_path: Path, target: str
) -> None:
    # The root CID's line followed the CAR on the same stdout: a section that does not parse.
    code, out, err = export_to_stdout(source, tmp_path, "dreamer", "--car", target)
    assert code == 0, err
    assert out == export_bytes(source, "dreamer")
    assert b"root baguqeera" in err


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="/dev/fd/N is Linux's")
def test_export_to_dev_stdout_with_json_is_refused(source: Store, tmp_path: Path) -> None:
    code, out, err = export_to_stdout(source, tmp_path, "--car", "/dev/stdout", "--json")
    assert code == 2
    assert b"--car /dev/stdout and --json both write to stdout; pick one" in err
    assert json.loads(out)["type"] == "UsageError"  # --json's error document, and no CAR


def test_export_into_another_store_is_refused(source: Store, mg: Mg, tmp_path: Path) -> None:
    # Only the exporting store was guarded: `--car ../other/HEAD` left a store that did not open.
    other = init_store(tmp_path / "other", "other")
    before = store_fingerprint(other)
    for name in ("HEAD", "config", "refs/heads/main", "new.car"):
        r = mg("--store", str(source.path), "export", "--car", str(other.path / name))
        assert r.code == 2 and "is inside the store" in r.err, r.err
    assert store_fingerprint(other) == before
    assert not (other.path / "new.car").exists()
    assert (other.path / "config").read_text().startswith("[core]")


# -- a commit whose message no history block can carry ---------------------------------------


def test_a_commit_too_long_for_a_history_block_is_named_and_cat_passes_it(
    store: Store, mg: Mg, tmp_path: Path
) -> None:
    human = Block.encode({"label": "human", "value": "Ada"})
    state = store.state().with_memories({"human": human.cid})
    long = store.commit_state(state, {human.cid: human.data}, "edit\n\n" + "y" * 70_000)
    at = ("--store", str(store.path))
    # It said "history block: 'message' is ... bytes" with the import's hint, "the CAR was not
    # written by `mindgit export --history`", though no CAR was read.
    r = mg(*at, "export", "--history", "--car", str(tmp_path / "a.car"))
    assert r.code == 1
    assert r.err.startswith(f"mindgit: error: commit {long.id} in this history cannot be")
    assert "export without --history" in r.err and "not written by" not in r.err
    # cat of a block no store holds looked at every history block and failed on this one.
    absent = "baguqeerawxkuyopgmzy4s4y3t5dr4wc5qjrm2t2usy7qzeyifwg46m2njr4a"
    r = mg(*at, "cat", absent)
    assert r.code == 1 and f"block {absent} is not in this store" in r.err
    assert mg(*at, "cat", str(human.cid)).code == 0
    assert mg(*at, "export", "--car", str(tmp_path / "a.car")).code == 0
