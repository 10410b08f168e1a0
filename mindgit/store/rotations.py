"""Key rotation in a store: this node's own, and the ones peers announce.

Key rotation replaces this node's key. The old key file is kept under ``mindgit/retired/`` (mode
0600) so thoughts sealed to it stay readable; the change is announced by a commit on
``refs/keys/announce`` that the old key signs, holding the rotation record and the new key's
proof (``mindgit.identity.rotation``). Peers that trust the old key accept the new one with
``apply_rotations``; the old key stays trusted under ``<name>.retired-<n>``, bounded by the heads
the record names (``mindgit.store.retired``), so the commits it signed before the rotation still
verify and nothing it signs later does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pygit2

from mindgit.errors import MindgitError
from mindgit.identity.fsutil import fsync_dir
from mindgit.identity.gitsig import split_gpgsig
from mindgit.identity.keys import NodeKey, PublicKey
from mindgit.identity.rotation import (
    BadRotation,
    RotationRecord,
    check_proof,
    is_retired_name,
    prove,
    retired_base,
    retired_name,
)
from mindgit.identity.sshsig import BadSignature, verify
from mindgit.identity.trust import TrustStore, check_heads
from mindgit.ipld import dagjson
from mindgit.store import layout
from mindgit.store.objects import as_commit
from mindgit.store.refs import RefLocked, lock_held, read_ref, update_ref
from mindgit.store.repository import (
    KEY_FILE,
    MINDGIT_DIR,
    SYNCED_PREFIXES,
    Store,
)
from mindgit.store.retired import MAX_ANNOUNCEMENT_BYTES, RECORD_FILE
from mindgit.store.verify import walk

ANNOUNCE_REF = "refs/keys/announce"
PROOF_FILE = "proof.sig"
TRUST_JOURNAL = "rotation-journal.json"


class UntrustedRotation(MindgitError):
    """A key rotation not signed by a key this node trusts as a node's current key, or to a
    key removed from trust on purpose. ``refused`` is the key the user may trust by hand for it
    to go through: ``old`` when no node here holds it, else ``new`` (``old`` is retired here, or
    ``new`` was removed), which ``mindgit trust add`` trusts as a node's key of its own."""

    def __init__(
        self, commit: str, old: PublicKey, reason: str, *, new: PublicKey | None = None
    ) -> None:
        self.commit = commit
        self.old = old
        self.new = new
        self.reason = reason
        # The hint named the old key for every refusal: for a retired one, or a new key the
        # user removed, that key is trusted already and trusting it again changed nothing.
        self.refused = old if new is None else new
        if new is None:
            hint = "if you know this node, trust its key first: "
        else:
            hint = "trust the key it rotates to only if you know it is this node's: "
        super().__init__(
            f"refused key rotation {commit[:12]}: {reason}; nothing was changed",
            hint=f"{hint}`mindgit trust add {self.refused.did} --name <name>`",
        )


class RotationBusy(MindgitError):
    """Another process holds this store's rotation (see :func:`rotate_key`)."""

    def __init__(self) -> None:
        super().__init__(
            "another `mindgit keys rotate` is running in this store; nothing was changed",
            hint="wait for it to finish: it gives this node its new key",
        )


class RotationNotStarted(MindgitError):
    """The store's ``mindgit/`` folder, whose lock a rotation holds, cannot be opened."""

    def __init__(self, folder: Path, reason: str) -> None:
        super().__init__(
            f"cannot rotate this node's key: cannot open {folder}: {reason}; nothing was changed",
            hint="a rotation writes into the store: run it as a user who may",
        )
        self.folder = folder


class RotationTooLarge(MindgitError):
    """A rotation record that would name more heads than peers read in one announcement."""

    def __init__(self, heads: int, size: int) -> None:
        self.heads = heads
        self.size = size
        super().__init__(
            f"a key rotation here would name {heads} ref tips ({size} bytes), over the "
            f"{MAX_ANNOUNCEMENT_BYTES} bytes a peer reads in one announcement; nothing was changed",
            hint="merge experiments you have finished, or delete the ones (`mindgit experiments "
            "--delete NAME`) and runs (`mindgit runs --delete RUN`) you no longer need, then "
            "rotate again",
        )


@dataclass(frozen=True, slots=True)
class Rotation:
    """This node's key rotation: the announcement commit, the keys and where the old one went."""

    commit: str
    old: PublicKey
    new: PublicKey
    name: str
    retired_as: str
    retired_key: Path


@dataclass(frozen=True, slots=True)
class RotationOutcome:
    """What ``apply_rotations`` did with one announcement."""

    commit: str
    old: PublicKey | None
    new: PublicKey | None
    name: str | None  # the local name the new key is trusted under
    # earlier: the old key of a rotation to a key already trusted here, now trusted (bounded)
    # so that the node's history from before the rotation verifies
    status: Literal["applied", "already", "earlier", "refused"]
    reason: str | None = None


# -- key rotation -------------------------------------------------------------------------


def read_announcement(store: Store, commit: str) -> RotationRecord:
    """The rotation record of an announcement commit, once both signatures are checked.

    The commit must be signed by the record's old key and hold the new key's proof. Whether the
    old key is trusted is the caller's question.
    """
    return read_announcement_in(store.repo, commit)


def read_announcement_in(repo: pygit2.Repository, commit: str) -> RotationRecord:
    """:func:`read_announcement` in any repository (a server's gate has no :class:`Store`)."""
    what = commit[:12]
    _check_size(repo, commit, what, "the commit")
    obj = as_commit(repo.get(commit))
    if obj is None:
        raise BadRotation(what, "not a commit in this store")
    _check_size(repo, str(obj.tree_id), what, "its tree")
    record = _announced_record(repo, obj.tree, what)
    payload, armored = split_gpgsig(repo.read(commit)[1])
    if armored is None:
        raise BadRotation(what, "the announcement is not signed")
    try:
        signer = verify(armored, payload)
    except BadSignature as e:
        raise BadRotation(what, f"the commit signature: {e.reason}") from None
    if signer != record.old:
        raise BadRotation(what, f"the commit is signed by {signer.did}, not by the old key")
    return record


def _check_size(repo: pygit2.Repository, oid: str, what: str, name: str) -> None:
    """Refuse an object too large for an announcement before it is inflated (a peer's
    announcements are read before the gate sizes anything)."""
    try:
        _, size = repo.odb.read_header(pygit2.Oid(hex=oid))
    except (KeyError, ValueError, pygit2.GitError):
        raise BadRotation(what, "not a commit in this store") from None
    if size > MAX_ANNOUNCEMENT_BYTES:
        raise BadRotation(what, f"{name} is {size} bytes, over {MAX_ANNOUNCEMENT_BYTES}")


def _announced_record(repo: pygit2.Repository, tree: pygit2.Tree, what: str) -> RotationRecord:
    """The record an announcement tree holds, with the new key's proof checked."""
    names = {str(e.name) for e in tree}
    if names != {RECORD_FILE, PROOF_FILE}:
        raise BadRotation(
            what, f"the tree holds {sorted(names)}, not {RECORD_FILE} and {PROOF_FILE}"
        )
    blobs: dict[str, bytes] = {}
    for name in (RECORD_FILE, PROOF_FILE):
        entry = tree[name]
        # Sized from the object header before anything is read: a peer's announcement is not
        # trusted yet, and a huge blob must not be inflated into memory to find that out.
        try:
            _, size = repo.odb.read_header(entry.id)
        except (KeyError, ValueError, pygit2.GitError):
            raise BadRotation(what, f"{name} is missing") from None
        if size > MAX_ANNOUNCEMENT_BYTES:
            raise BadRotation(what, f"{name} is {size} bytes, over {MAX_ANNOUNCEMENT_BYTES}")
        blob = repo.get(entry.id)
        if entry.filemode != layout.BLOB or not isinstance(blob, pygit2.Blob):
            raise BadRotation(what, f"{name} is not a regular file")
        blobs[name] = blob.read_raw()
    record = RotationRecord.parse(blobs[RECORD_FILE], what)
    check_proof(record, blobs[PROOF_FILE], what)
    return record


def check_rotation_tree(
    repo: pygit2.Repository, tree: pygit2.Tree
) -> Iterator[tuple[str | None, str]]:
    """Problems of a key-rotation announcement tree, for the verifier (same contract as states)."""
    try:
        _announced_record(repo, tree, f"tree {tree.id}")
    except BadRotation as e:
        yield RECORD_FILE, str(e)


def rotate_key(store: Store) -> Rotation:
    """Give this node a new key, announced on ``refs/keys/announce`` and signed by the old one.

    The old key moves to ``mindgit/retired/`` and stays trusted as ``<name>.retired-<n>``; the
    new key becomes ``mindgit/node.key`` and is trusted under the node's name. Interrupted, it
    can be run again and finishes the same rotation. Raises :class:`RotationBusy` while another
    process rotates this store's key.
    """
    with _rotating(store):
        # The key may have been read before another rotation ended: read it again.
        store.forget_key()
        return _rotate_key(store)


@contextlib.contextmanager
def _rotating(store: Store) -> Iterator[None]:
    """Hold this store's rotation: an advisory lock on its ``mindgit/`` directory (the kernel
    drops it when the process dies; a file of its own would be one more thing a refused
    rotation wrote). Two rotations at once each saved a pending key and announced, leaving a
    store whose every signature was refused as "a key rotation is unfinished", which no later
    rotation finished."""
    folder = store.path / MINDGIT_DIR
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise RotationNotStarted(folder, e.strerror or str(e)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RotationBusy() from None
        yield
    finally:
        os.close(fd)


def _rotate_key(store: Store) -> Rotation:
    _finish_trust_journal(store)
    old = store.key
    # Read before anything is written: a trust file that cannot be read must stop the rotation
    # before a new key is saved or announced. Finishing a rotation whose trust file moved
    # already, the old key's entry is its retired name (bounded by heads): the node's name is
    # the store's.
    own = store.trust.find(old.public)
    name = own.name if own is not None and own.heads is None else store.name
    heads = rotation_heads(store.repo)
    # Checked before anything is written: a record peers would refuse as too large must not be
    # announced (a did:key has one length, so any other key stands in for the new one here).
    stand_in = NodeKey.from_seed(bytes(32)).public
    size = len(RotationRecord(old.public, stand_in, store.name, heads).to_bytes())
    if size > MAX_ANNOUNCEMENT_BYTES:
        raise RotationTooLarge(len(heads), size)
    # The chain the new announcement extends, checked before anything is written: failing
    # after the new key is saved would leave a pending key that blocks every signature, and a
    # rotation that running again cannot finish.
    tip = read_ref(store.repo, ANNOUNCE_REF)
    if tip is not None:
        try:
            read_announcement(store, tip)
        except BadRotation as e:
            error = BadRotation(f"{ANNOUNCE_REF} at {tip[:12]}", f"{e.reason}; nothing was changed")
            error.hint = (
                f"point {ANNOUNCE_REF} back at this node's last rotation announcement (peers "
                "hold it as refs/keys/<root>), or delete it if this node never rotated"
            )
            raise error from None
    retired_folder = store.retired_keys_dir
    if os.path.lexists(retired_folder) and not retired_folder.is_dir():
        error = BadRotation("retire", f"{retired_folder} is not a directory; nothing was changed")
        error.hint = "move it away: that is where the keys this node rotates away from are kept"
        raise error
    folder = store.path / MINDGIT_DIR
    external = store.external_key
    pending = store.pending_key_path
    if pending.exists():
        new = NodeKey.load(pending)  # an interrupted rotation: finish it with the same key
    else:
        new = NodeKey.generate()
        new.save(pending, comment=store.name)
        # A writer that signed with the old key before the pending key was there holds its
        # ref's lock until the ref is set: its commit must be in the heads read next.
        _wait_for_signers(store)
        # Read again now that the pending key is there: a commit the old key signed in the
        # meantime (an evolve run's generation) belongs in the history the rotation names, and
        # every write from here on sees the pending key and stops (evolve's writer looks for
        # it under its ref's lock, before the ref moves). The tips read before missed such a
        # commit, which then failed verify here and at every peer.
        heads = rotation_heads(store.repo)
        size = len(RotationRecord(old.public, stand_in, store.name, heads).to_bytes())
        if size > MAX_ANNOUNCEMENT_BYTES:
            pending.unlink()  # nothing else was written: as if the check above had refused
            raise RotationTooLarge(len(heads), size)
    retired_path = _retire_key_file(store, old)
    record = RotationRecord(old.public, new.public, store.name, heads)
    try:
        commit, record = _announce(store, record, new)
    except RefLocked as e:
        # The new key is saved (pending) and the old one retired: say that running the
        # command again, once the lock is gone, finishes this very rotation.
        raise RefLocked(
            e.ref,
            e.lock,
            e.waited,
            then="then run `mindgit keys rotate` again: it finishes the rotation it started",
        ) from None
    retired_as = _move_trust(store, old.public, new.public, name, record.heads)
    if external:
        del store.repo.config["mindgit.keyfile"]
    else:
        os.replace(pending, folder / KEY_FILE)
        fsync_dir(folder)
    # The store caches its loaded key; make it load the new one on next use.
    store.forget_key()
    return Rotation(commit, old.public, new.public, name, retired_as, retired_path)


def _wait_for_signers(store: Store) -> None:
    """Wait until no live writer holds the lock of a ref a rotation names (an experiment, run
    or module, one being created too): each signs under its ref's lock, and one that signed
    before the pending key appeared sets its ref before letting the lock go. A writer that
    looks after that finds the pending key and signs nothing (``RotationUnfinished``)."""
    gitdir = Path(store.repo.path)
    deadline = time.monotonic() + store.lock_wait
    while True:
        held = [
            lock
            for prefix in SYNCED_PREFIXES
            if not prefix.startswith("refs/keys/")
            for lock in sorted((gitdir / prefix).rglob("*.lock"))
            if lock_held(store.repo, lock.relative_to(gitdir).as_posix().removesuffix(".lock"))
        ]
        if not held:
            return
        if time.monotonic() >= deadline:
            ref = held[0].relative_to(gitdir).as_posix().removesuffix(".lock")
            raise RefLocked(
                ref,
                held[0],
                store.lock_wait,
                then="then run `mindgit keys rotate` again: it finishes the rotation it started",
            )
        time.sleep(0.01)


def rotation_heads(repo: pygit2.Repository) -> tuple[str, ...]:
    """The commits a rotation names as the old key's history: the tips of every experiment,
    run, fitness module and of this node's own key chain, less those below another tip."""
    tips: set[str] = set()
    for name in repo.references:
        if name.startswith(SYNCED_PREFIXES) and (
            not name.startswith("refs/keys/") or name == ANNOUNCE_REF
        ):
            tip = read_ref(repo, name)
            if tip is not None:
                tips.add(tip)
    below: set[str] = set()
    for oid in walk(repo, tips):
        commit = as_commit(repo[oid])
        assert commit is not None
        below.update(str(p) for p in commit.parent_ids)
    return tuple(sorted(tips - below))


def apply_rotations(
    store: Store, commit_ids: Iterable[str], *, strict: bool = True
) -> list[RotationOutcome]:
    """Accept peers' key rotations: announcement commits (and their ancestors), oldest first.

    A rotation signed by the current key of a trusted node moves that node's name to the new
    key and keeps the old key trusted as ``<name>.retired-<n>``, bounded by the record's heads.
    A rotation to a key already trusted here, from a key unknown here, trusts the old key as
    retired (``_earlier_keys``). Any other signed by an unknown or a retired key, or malformed,
    is refused: with ``strict`` the first refusal raises (``UntrustedRotation``,
    ``BadRotation`` or ``ForeignOwnRotation``) before anything changes; otherwise it is
    reported and the rest applied. A rotation of this node's own key is accepted only from its
    own ``refs/keys/announce``.
    """
    _finish_trust_journal(store)
    tips = [store.resolve(c) for c in commit_ids]
    foreign = _foreign_own_rotations(store, tips)
    if foreign and strict:
        raise ForeignOwnRotation(foreign[0][0], foreign[0][1])
    # Not strict: the rest is applied, so leave out every tip whose chain runs through one.
    refused = {oid for oid, _ in foreign}
    kept = [t for t in tips if refused.isdisjoint(walk(store.repo, [t]))]
    plan = plan_key_changes(store.repo, store.trust, kept, strict)
    for change in plan.changes:
        if change.new is None:
            if store.trust.find(change.old) is None:
                store.trust.add(change.old, change.retired_as, change.heads)
        else:
            _move_trust(store, change.old, change.new, change.name, change.heads, change.retired_as)
    outcomes = list(plan.outcomes)
    for oid, reason in foreign:
        outcomes.append(RotationOutcome(oid, None, None, None, "refused", reason))
    return outcomes


def _foreign_own_rotations(store: Store, tips: Sequence[str]) -> list[tuple[str, str]]:
    """Announcements below ``tips`` that rotate a key this node holds or held, but that this
    node never made (they are not in its own ``refs/keys/announce``): (commit, reason).

    Only this node rotates its own key. Another store sharing it (``init --key``) or a thief
    holding it can sign such an announcement, and accepting it would retire the key this node
    signs with, so that its own history stops verifying (``pull`` refuses them the same way).
    """
    own_tip = read_ref(store.repo, ANNOUNCE_REF)
    own_commits = set(walk(store.repo, [own_tip])) if own_tip is not None else set()
    own_keys = {store.public_key.raw}
    for oid in own_commits:
        record = read_announcement_in(store.repo, oid)
        own_keys.update((record.old.raw, record.new.raw))
    foreign: list[tuple[str, str]] = []
    for oid in walk(store.repo, tips):
        if oid in own_commits:
            continue
        try:
            record = read_announcement_in(store.repo, oid)
        except BadRotation:
            continue  # refused (or reported) by plan_key_changes, as any malformed one
        if record.old.raw in own_keys or record.new.raw in own_keys:
            foreign.append((oid, "a rotation of this node's own key that it never made"))
    return foreign


class ForeignOwnRotation(MindgitError):
    """An announcement that rotates this node's own key, which this node did not make."""

    def __init__(self, commit: str, reason: str) -> None:
        self.commit = commit
        self.reason = reason
        super().__init__(
            f"refused key rotation {commit[:12]}: {reason}; nothing was changed",
            hint="another store sharing this key (init --key) rotated it, or the key was "
            "stolen: rotate this store with `mindgit keys rotate` instead",
        )


@dataclass(frozen=True, slots=True)
class KeyChange:
    """One change to the trust store: ``old`` becomes ``retired_as`` (bounded by ``heads``) and,
    unless ``new`` is None (an earlier key, see ``_earlier_keys``), ``new`` takes ``name``."""

    old: PublicKey
    new: PublicKey | None
    name: str
    retired_as: str
    heads: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KeyChanges:
    """What accepting some announcements would do: an outcome for each, and the trust changes."""

    outcomes: tuple[RotationOutcome, ...]
    changes: tuple[KeyChange, ...]

    def apply_to(self, trust: TrustStore) -> None:
        """Make the changes in ``trust`` without a journal: for a scratch copy that a pull
        verifies with, never for the store's own trust file (``apply_rotations`` is for that)."""
        for change in self.changes:
            if change.new is None:
                if trust.find(change.old) is None:
                    trust.add(change.old, change.retired_as, change.heads)
            else:
                _complete_move(
                    trust, change.old, change.new, change.name, change.retired_as, change.heads
                )


def plan_key_changes(
    repo: pygit2.Repository, trust: TrustStore, tips: Sequence[str], strict: bool = True
) -> KeyChanges:
    """The outcomes and trust changes of accepting the announcements below ``tips``; nothing is
    changed. With ``strict`` the first refusal raises instead of being reported."""
    by_key = {n.key.raw: n.name for n in trust.nodes()}
    taken = set(by_key.values())
    records: list[tuple[str, RotationRecord | BadRotation]] = []
    for oid in walk(repo, tips):
        try:
            records.append((oid, read_announcement_in(repo, oid)))
        except BadRotation as e:
            if strict:
                raise
            records.append((oid, e))
    earlier = _earlier_keys(repo, trust, records, by_key, taken)
    # Earlier keys are trusted first: a rotation to one of them retires its old key beside it,
    # and must find it trusted already (bounded) rather than trust it anew, unbounded.
    earlier_changes: list[KeyChange] = []
    changes: list[KeyChange] = []
    outcomes: list[RotationOutcome] = []
    # Keys these announcements retire: key -> (the announcement, the key it moved to). A second
    # rotation of one of them is a fork, which was refused as "a key already retired" though
    # nothing here had retired it (the first rotation was in the same batch).
    retired_by: dict[bytes, tuple[str, PublicKey]] = {}
    for oid, record in records:
        if oid in earlier and isinstance(record, RotationRecord):
            retired_by[record.old.raw] = (oid, record.new)
    for oid, record in records:
        if isinstance(record, BadRotation):
            outcomes.append(RotationOutcome(oid, None, None, None, "refused", record.reason))
            continue
        if oid in earlier:
            name, retired_as = earlier[oid]
            earlier_changes.append(KeyChange(record.old, None, name, retired_as, record.heads))
            outcomes.append(RotationOutcome(oid, record.old, record.new, retired_as, "earlier"))
            continue
        trusted_new = by_key.get(record.new.raw)
        old_name = by_key.get(record.old.raw)
        if trusted_new is not None:
            if old_name is None or is_retired_name(old_name):
                outcomes.append(
                    RotationOutcome(oid, record.old, record.new, trusted_new, "already")
                )
                continue
            # The new key was trusted first (told out of band, or retired already by a later
            # rotation read from the far end), while the old key is still some node's current
            # key: retire the old key as its holder asked, beside the new key's name, or it
            # could go on signing anything and being sealed to as if no rotation had happened.
            retired_as = retired_name(retired_base(trusted_new), taken)
            taken.add(retired_as)
            by_key[record.old.raw] = retired_as
            retired_by[record.old.raw] = (oid, record.new)
            changes.append(KeyChange(record.old, record.new, trusted_new, retired_as, record.heads))
            outcomes.append(RotationOutcome(oid, record.old, record.new, trusted_new, "applied"))
            continue
        if old_name is None or is_retired_name(old_name) or trust.is_removed(record.new):
            if old_name is None:
                reason = f"signed by {record.old.did}, which this node does not trust"
            elif record.old.raw in retired_by:
                first, moved_to = retired_by[record.old.raw]
                reason = (
                    f"signed by {record.old.did}, which {first[:12]} rotates to {moved_to.did} "
                    "already: two rotations of one key (a fork), one of them not its node's"
                )
            elif is_retired_name(old_name):
                reason = f"signed by {record.old.did}, a key already retired as {old_name}"
            else:
                # Only `mindgit trust add` trusts a key the user dropped, never a rotation.
                reason = f"rotates to {record.new.did}, a key removed from trust on purpose"
            if strict:
                # An unknown old key is the one to trust; else the new key is (the old one is
                # retired here, or the new one was removed), by hand.
                raise UntrustedRotation(
                    oid, record.old, reason, new=None if old_name is None else record.new
                )
            outcomes.append(RotationOutcome(oid, record.old, record.new, None, "refused", reason))
            continue
        retired_as = retired_name(old_name, taken)
        taken.add(retired_as)
        by_key[record.old.raw] = retired_as
        by_key[record.new.raw] = old_name
        retired_by[record.old.raw] = (oid, record.new)
        changes.append(KeyChange(record.old, record.new, old_name, retired_as, record.heads))
        outcomes.append(RotationOutcome(oid, record.old, record.new, old_name, "applied"))
    return KeyChanges(tuple(outcomes), (*earlier_changes, *changes))


def _earlier_keys(
    repo: pygit2.Repository,
    trust: TrustStore,
    records: Sequence[tuple[str, RotationRecord | BadRotation]],
    by_key: dict[bytes, str],
    taken: set[str],
) -> dict[str, tuple[str, str]]:
    """Rotations read from the far end: announcement -> (the node's name, the retired name its
    old key gets).

    A node that came to trust alpha after alpha rotated still needs alpha's earlier keys to
    accept alpha's older history. The key it trusts vouches for the one before it (its proof
    signs the record); that earlier key vouches for the one before it only if that announcement
    lies below the heads it was bounded to, which the newer, trusted record fixed. A key
    removed from trust on purpose is never brought back this way.
    """
    vouching: dict[bytes, tuple[str, tuple[str, ...] | None]] = {
        raw: (name, None) for raw, name in by_key.items() if not is_retired_name(name)
    }
    earlier: dict[str, tuple[str, str]] = {}
    # Newest first, until nothing changes: chains may arrive in any order, and one key's
    # voucher may be found only after the key it vouches for was looked at.
    changed = True
    while changed:
        changed = False
        for oid, record in reversed(records):
            if isinstance(record, BadRotation) or record.old.raw in by_key:
                continue
            voucher = vouching.get(record.new.raw)
            if voucher is None or trust.is_removed(record.old):
                continue
            name, bound = voucher
            if bound is not None and not _below(repo, oid, bound):
                continue
            retired_as = retired_name(name, taken)
            taken.add(retired_as)
            by_key[record.old.raw] = retired_as
            vouching[record.old.raw] = (name, record.heads)
            earlier[oid] = (name, retired_as)
            changed = True
    return earlier


def _below(repo: pygit2.Repository, oid: str, heads: tuple[str, ...]) -> bool:
    """Whether commit ``oid`` is one of ``heads`` or an ancestor of one held here."""
    if oid in heads:
        return True
    target = pygit2.Oid(hex=oid)
    return any(
        isinstance(repo.get(h), pygit2.Commit) and repo.descendant_of(pygit2.Oid(hex=h), target)
        for h in heads
    )


def _retire_key_file(store: Store, old: NodeKey) -> Path:
    store.retired_keys_dir.mkdir(mode=0o700, exist_ok=True)
    path = store.retired_key_path(old.public)
    if path.exists():
        kept = NodeKey.load(path)
        if kept.public != old.public:
            raise BadRotation("retire", f"{path} holds another key than the one it is named for")
        return path
    old.save(path, comment=f"{store.name} (retired)")
    return path


def _announce(store: Store, record: RotationRecord, new: NodeKey) -> tuple[str, RotationRecord]:
    tip = read_ref(store.repo, ANNOUNCE_REF)
    if tip is not None:
        announced = read_announcement(store, tip)
        if (announced.old, announced.new) == (record.old, record.new):
            # Announced before an interruption: the heads it named are the ones that count
            # (the announcement itself is now a tip, so recomputing them would differ).
            return tip, announced
    tb = store.repo.TreeBuilder()
    tb.insert(RECORD_FILE, store.repo.create_blob(record.to_bytes()), layout.BLOB)
    tb.insert(PROOF_FILE, store.repo.create_blob(prove(record, new).encode()), layout.BLOB)
    message = f"keys: rotate {record.name}\n\nold: {record.old.did}\nnew: {record.new.did}\n"
    # Signed by the key it retires, which signing_key refuses while the rotation is unfinished.
    commit = store.write_commit(tb.write(), [tip] if tip else [], message, key=store.key)
    update_ref(
        store.repo,
        ANNOUNCE_REF,
        commit,
        tip,
        message=f"keys: rotate {record.name}",
        committer=f"{store.name} <{record.old.did}>",
    )
    return commit, record


def _move_trust(
    store: Store,
    old: PublicKey,
    new: PublicKey,
    name: str,
    heads: tuple[str, ...],
    retired_as: str | None = None,
) -> str:
    """Trust ``new`` as ``name`` and ``old`` as a retired name, surviving a crash halfway.

    The trust file cannot rename in one write, so the intent is journalled first and replayed
    by the next rotation call; otherwise a crash between "forget old" and "trust old under its
    retired name" would leave the old key untrusted, and its rotation could never be accepted.
    """
    trust = store.trust
    current = trust.find(new)
    node = trust.find(old)
    if current is not None and (node is None or is_retired_name(node.name)):
        return node.name if node is not None else current.name
    if retired_as is None:
        retired_as = retired_name(name, {n.name for n in trust.nodes()})
    journal = store.path / MINDGIT_DIR / TRUST_JOURNAL
    _write_atomic(
        journal,
        dagjson.encode(
            {
                "heads": list(heads),
                "name": name,
                "new": new.did,
                "old": old.did,
                "retired": retired_as,
            }
        ),
    )
    _complete_move(trust, old, new, name, retired_as, heads)
    journal.unlink()
    return retired_as


def _complete_move(
    trust: TrustStore,
    old: PublicKey,
    new: PublicKey,
    name: str,
    retired: str,
    heads: tuple[str, ...],
) -> None:
    # The old key goes from wherever it is trusted as a current key: under ``name`` when it held
    # the node's name, or under another name when the new key was trusted before the rotation.
    holder = trust.find(old)
    current = holder is not None and (holder.name == name or not is_retired_name(holder.name))
    if holder is not None and holder.name != retired and current:
        trust.remove(old.did)
    if trust.find(old) is None:
        trust.add(old, retired, heads)
    if trust.find(new) is None:
        trust.add(new, name)


def _finish_trust_journal(store: Store) -> None:
    journal = store.path / MINDGIT_DIR / TRUST_JOURNAL
    try:
        data = journal.read_bytes()
    except FileNotFoundError:
        return
    try:
        node = dagjson.decode(data)
        if not isinstance(node, dict) or set(node) != {"heads", "name", "new", "old", "retired"}:
            raise ValueError
        name, retired = str(node["name"]), str(node["retired"])
        old, new = PublicKey.parse(str(node["old"])), PublicKey.parse(str(node["new"]))
        listed = node["heads"]
        if not isinstance(listed, list):
            raise ValueError
        heads = check_heads(tuple(str(h) for h in listed))
    except (MindgitError, ValueError, TypeError):
        raise BadRotation(
            "journal", f"{journal} is damaged; check `mindgit trust list`, then delete it"
        ) from None
    _complete_move(store.trust, old, new, name, retired, heads)
    journal.unlink()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
