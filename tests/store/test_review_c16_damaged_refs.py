"""A ref file or packed-refs damaged by hand is named as the ref it is (review C, pass 16).

An experiment's loose ref file holding junk was "the store is damaged: an object cannot be read
(refs/heads/x: corrupted loose reference file ...)" with `git fsck` for damaged objects as the
hint, for every command that named it as a revision (`show x`, `diff main x`, `fork y --from
x`), while `-e x` said the ref was damaged. A `packed-refs` with a line git cannot parse made
`experiments`, `verify --all` and `runs` say the same of "an object", and the experiment whose
line it was an "unknown experiment"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mindgit.store.refs import CorruptRef, PackedRefsDamaged, packed_refs_fault
from mindgit.store.repository import Store
from tests.conftest import Mg, git
from tests.snapshots import changes, snapshot


def _two_experiments(store: Store) -> str:
    store.think("a thought")
    store.fork("dreamer", switch=False)
    store.think("dreams", experiment="dreamer")
    return store.head("dreamer")


@pytest.mark.parametrize(
    "args",
    [
        ("show", "dreamer"),
        ("show", "refs/heads/dreamer"),
        ("log", "dreamer~1"),
        ("diff", "main", "dreamer"),
        ("fork", "other", "--from", "dreamer"),
        ("verify", "--since", "dreamer"),
    ],
)
@pytest.mark.parametrize("junk", [b"junk\n", b"", b"ref: \n"])
def test_a_loose_ref_file_with_junk_is_named_as_a_ref(
    store: Store, mg: Mg, args: tuple[str, ...], junk: bytes
) -> None:
    _two_experiments(store)
    (store.path / "refs" / "heads" / "dreamer").write_bytes(junk)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *args)
    assert r.code == 1, r.err
    assert r.err.startswith("mindgit: error: refs/heads/dreamer cannot be read ("), r.err
    assert "an object cannot be read" not in r.err
    assert "repair or delete refs/heads/dreamer" in r.err
    assert changes(before, snapshot(store.path)) == []


def test_resolve_raises_corrupt_ref(store: Store) -> None:
    _two_experiments(store)
    (store.path / "refs" / "heads" / "dreamer").write_bytes(b"junk\n")
    with pytest.raises(CorruptRef):
        store.resolve("dreamer")
    with pytest.raises(CorruptRef):
        store.resolve("dreamer~1")


def _damage_packed_refs(store: Store, head: str) -> None:
    git("--git-dir", str(store.path), "pack-refs", "--all")
    packed = store.path / "packed-refs"
    text = packed.read_text()
    assert f"{head} refs/heads/dreamer\n" in text
    packed.write_text(text.replace(f"{head} refs/heads/dreamer\n", "garbage line here\n"))


@pytest.mark.parametrize(
    "args",
    [
        ("experiments",),
        ("verify", "--all"),
        ("runs",),
        ("show", "dreamer"),
        ("log", "-e", "dreamer"),
        ("switch", "dreamer"),
        ("show", "nosuch"),
    ],
)
def test_a_damaged_packed_refs_is_named(store: Store, mg: Mg, args: tuple[str, ...]) -> None:
    head = _two_experiments(store)
    _damage_packed_refs(store, head)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *args, "--json")
    assert r.code == 1, r.err
    line = f"{store.path / 'packed-refs'} cannot be read (line "
    assert r.err.startswith(f"mindgit: error: {line}"), r.err
    assert "'garbage line here'" in r.err
    assert "an object cannot be read" not in r.err
    assert "unknown experiment" not in r.err
    doc = json.loads(r.out)
    assert doc["type"] == "PackedRefsDamaged"
    assert changes(before, snapshot(store.path)) == []
    # git refuses the same file: the report is no stricter than git.
    assert git("--git-dir", str(store.path), "show-ref", check=False) == ""


def test_the_current_experiment_off_the_damaged_line_still_reads(store: Store, mg: Mg) -> None:
    head = _two_experiments(store)
    _damage_packed_refs(store, head)
    assert mg("--store", str(store.path), "show").code == 0


def test_listing_from_python_raises_packed_refs_damaged(store: Store) -> None:
    head = _two_experiments(store)
    _damage_packed_refs(store, head)
    with pytest.raises(PackedRefsDamaged) as caught:
        store.experiments()
    assert caught.value.path == store.path / "packed-refs"
    with pytest.raises(PackedRefsDamaged):
        store.head("dreamer")


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        (b"", None),
        (b"# pack-refs with: peeled fully-peeled sorted \n", None),
        (b"%s refs/heads/a\n^%s\n" % (b"a" * 40, b"b" * 40), None),
        (b"%s refs/heads/a\r\n" % (b"a" * 40), None),
        (b"%s refs/heads/a" % (b"a" * 40), "its last line, line 1, has no newline"),
        (b"^%s\n" % (b"b" * 40), "line 1 is not '<commit id> <ref>': '^" + "b" * 40 + "'"),
        (b"abc refs/heads/a\n", "line 1 is not '<commit id> <ref>': 'abc refs/heads/a'"),
        (b"%s refs/heads/a\n# note\n" % (b"a" * 40), "line 2 is not '<commit id> <ref>': '# note'"),
    ],
)
def test_packed_refs_fault(tmp_path, content: bytes, fault: str | None) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "packed-refs").write_bytes(content)
    assert packed_refs_fault(tmp_path) == fault


def test_packed_refs_fault_agrees_with_libgit2_on_each_case(store: Store) -> None:
    """Every file the parser above refuses, libgit2 refuses (it lists no ref)."""
    import pygit2

    head = _two_experiments(store)
    git("--git-dir", str(store.path), "pack-refs", "--all")
    packed = store.path / "packed-refs"
    good = packed.read_bytes()
    for bad in (
        good + b"garbage\n",
        good + b"%s refs/heads/zz" % head.encode(),
        good.replace(b"refs/heads/dreamer", b"refs/heads/dre\x00amer"),
        good + b"^" + head.encode() + b"\n^" + head.encode() + b"\n",
    ):
        packed.write_bytes(bad)
        assert packed_refs_fault(store.path) is not None
        with pytest.raises(pygit2.GitError):
            list(pygit2.Repository(str(store.path)).references)


@pytest.mark.parametrize(
    "args", [("show", "dreamer"), ("log", "dreamer"), ("diff", "dreamer", "main")]
)
def test_a_symbolic_ref_to_nothing_named_as_a_revision_is_no_unknown_name(
    store: Store, mg: Mg, args: tuple[str, ...]
) -> None:
    """`experiments` lists it, and `-e dreamer` names it; as a revision it was an "unknown
    experiment or revision"."""
    _two_experiments(store)
    git("--git-dir", str(store.path), "symbolic-ref", "refs/heads/dreamer", "refs/heads/gone")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *args)
    assert r.code == 1, r.err
    assert r.err.startswith(
        "mindgit: error: refs/heads/dreamer cannot be read (a symbolic ref to refs/heads/gone, "
    ), r.err
    assert changes(before, snapshot(store.path)) == []
    assert "unknown" in mg("--store", str(store.path), "show", "gone").err


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("repositoryformatversion = 5", "unsupported repository version 5"),
        ("repositoryformatversion = 1\n[extensions]\n\tfooBar = baz", "unsupported extension"),
        ("repositoryformatversion = 1\n[extensions]\n\tobjectFormat = sha256", "extension"),
    ],
)
def test_a_store_of_a_newer_format_says_so(store: Store, mg: Mg, setting: str, said: str) -> None:
    """The hint was "repair or restore the file it names" where libgit2 names no file."""
    config = store.path / "config"
    text = config.read_text()
    assert "repositoryformatversion = 0" in text
    config.write_text(text.replace("repositoryformatversion = 0", setting))
    before = snapshot(store.path)
    for args in (("show",), ("think", "x"), ("verify", "--all")):
        r = mg("--store", str(store.path), *args)
        assert r.code == 1, r.err
        assert said in r.err
        assert f"(hint: {config} asks for a repository format libgit2" in r.err
        assert "the file it names" not in r.err
    assert changes(before, snapshot(store.path)) == []


def test_verify_trust_in_a_repository_of_a_newer_format_is_no_internal_error(
    store: Store, mg: Mg, tmp_path: Path
) -> None:
    """`verify --trust FILE` opens any git repository itself: one libgit2 refused was an
    internal error (exit 3, GitError)."""
    trust = tmp_path / "allowed_signers"
    trust.write_bytes((store.path / "mindgit" / "allowed_signers").read_bytes())
    config = store.path / "config"
    text = config.read_text().replace("repositoryformatversion = 0", "repositoryformatversion = 5")
    config.write_text(text)
    before = snapshot(store.path)
    r = mg("--store", str(store.path), "verify", "--trust", str(trust), "--json")
    assert r.code == 1, r.err
    assert "unsupported repository version 5" in r.err
    assert f"(hint: {config} asks for a repository format libgit2" in r.err
    assert json.loads(r.out)["type"] == "StoreUnreadable"
    assert changes(before, snapshot(store.path)) == []


def test_verify_all_from_python_raises_packed_refs_damaged(store: Store) -> None:
    """Store.verify(all_refs=True) let libgit2's GitError through."""
    head = _two_experiments(store)
    _damage_packed_refs(store, head)
    with pytest.raises(PackedRefsDamaged):
        store.verify(all_refs=True)


@pytest.mark.parametrize("args", [("show", "HEAD"), ("log", "HEAD~1"), ("diff", "HEAD", "main")])
def test_a_damaged_head_named_as_a_revision_is_not_to_be_deleted(
    store: Store, mg: Mg, args: tuple[str, ...]
) -> None:
    """Named as a damaged ref, HEAD got CorruptRef's hint, "repair or delete HEAD": a store
    without HEAD opens in neither git nor mindgit. The hint is the switch that writes it."""
    store.think("one")
    (store.path / "HEAD").write_bytes(b"junk\n")
    before = snapshot(store.path)
    r = mg("--store", str(store.path), *args)
    assert r.code == 1, r.err
    assert r.err.startswith("mindgit: error: HEAD cannot be read ("), r.err
    assert "delete HEAD" not in r.err
    assert f"`mindgit --store {store.path} switch <name>` writes HEAD again" in r.err
    assert changes(before, snapshot(store.path)) == []
    assert mg("--store", str(store.path), "switch", "main").code == 0
    assert mg("--store", str(store.path), *args).code == 0
