"""Key rotation records: "node <name> now uses key <new> instead of <old>".

A record is a canonical DAG-JSON block::

    {"heads": ["<commit id>", ...], "name": "alpha", "new": "did:key:z6Mk...",
     "old": "did:key:z6Mk...", "type": "key-rotation", "v": 2}

``heads`` are the commits at the tips of the node's refs when it rotated. They bound what the
old key can still sign: its signature counts only on those commits and their ancestors (and on
its own announcement), whatever date a commit claims, so a stolen retired key cannot sign new
history that verifies.

Two signatures make it believable. The old key signs it (the store puts the record in a commit
signed by the old key): only the holder of the trusted key can move its trust elsewhere. The new
key signs it too (``prove``, an SSHSIG in its own namespace): whoever announces a key holds it,
so nobody can redirect a node's trust, or its private thoughts, to a key they do not control.

The name is the announcing node's own name, for people reading the record; a peer keeps the
name it already gave the old key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mindgit.errors import MindgitError
from mindgit.identity import sshsig
from mindgit.identity.keys import NodeKey, PublicKey
from mindgit.identity.trust import InvalidHeads, check_heads, check_node_name
from mindgit.ipld import dagjson

ROTATION_TYPE = "key-rotation"
RECORD_VERSION = 2
PROOF_NAMESPACE = "mindgit-key-rotation"
_RECORD_KEYS = frozenset({"heads", "name", "new", "old", "type", "v"})
_RETIRED = re.compile(r"(?P<base>.+)\.retired-(?P<n>[1-9][0-9]*)\Z")
_MAX_NAME = 64
# A field of a peer's record quoted in an error is cut to this many characters.
_SHOWN_CHARS = 40


class BadRotation(MindgitError):
    """A rotation record, or its proof, that cannot be accepted; ``reason`` says why."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(
            f"refused key rotation {what}: {reason}",
            hint="a key rotation must be the record mindgit writes, signed by both the old and the new key",
        )


@dataclass(frozen=True, slots=True)
class RotationRecord:
    """The announcement that ``name`` moved from key ``old`` to key ``new``."""

    old: PublicKey
    new: PublicKey
    name: str
    heads: tuple[str, ...]

    def __post_init__(self) -> None:
        check_node_name(self.name)
        if self.old == self.new:
            raise BadRotation("record", "the old and new keys are the same")
        try:
            check_heads(self.heads)
        except InvalidHeads as e:
            raise BadRotation("record", f"heads: {e.reason}") from None

    def to_bytes(self) -> bytes:
        """The record's canonical DAG-JSON bytes (what both keys sign)."""
        return dagjson.encode(
            {
                "heads": list(self.heads),
                "name": self.name,
                "new": self.new.did,
                "old": self.old.did,
                "type": ROTATION_TYPE,
                "v": RECORD_VERSION,
            }
        )

    @classmethod
    def parse(cls, data: bytes, what: str = "record") -> RotationRecord:
        """Read a record strictly (canonical DAG-JSON, exactly the fields above)."""
        try:
            node = dagjson.decode(data)
        except MindgitError as e:
            raise BadRotation(what, str(e)) from None
        if not isinstance(node, dict) or set(node) != _RECORD_KEYS:
            raise BadRotation(what, f"a record is a map of exactly {sorted(_RECORD_KEYS)}")
        if node["type"] != ROTATION_TYPE:
            raise BadRotation(what, f"type {_shown(node['type'])} is not {ROTATION_TYPE!r}")
        if node["v"] != RECORD_VERSION or isinstance(node["v"], bool):
            raise BadRotation(what, f"record version {_shown(node['v'])} is not {RECORD_VERSION}")
        fields = {}
        for field in ("old", "new", "name"):
            value = node[field]
            if not isinstance(value, str):
                raise BadRotation(what, f"'{field}' is a string")
            fields[field] = value
        listed = node["heads"]
        if not isinstance(listed, list):
            raise BadRotation(what, "'heads' is a list of commit ids")
        heads = tuple(h for h in listed if isinstance(h, str))
        if len(heads) != len(listed):
            raise BadRotation(what, "'heads' is a list of commit ids")
        try:
            record = cls(
                PublicKey.parse(fields["old"]),
                PublicKey.parse(fields["new"]),
                fields["name"],
                heads,
            )
        except BadRotation as e:
            raise BadRotation(what, e.reason) from None
        except MindgitError as e:
            raise BadRotation(what, str(e)) from None
        if record.old.did != fields["old"] or record.new.did != fields["new"]:
            raise BadRotation(what, "keys must be written as canonical did:key strings")
        return record


def _shown(value: object) -> str:
    """``repr(value)`` cut to a few dozen characters: a peer's record (up to 64 KiB) whose type
    was one long string was quoted whole, a line of 64 KB on a pull or a push to a server."""
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "a map"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def prove(record: RotationRecord, new_key: NodeKey) -> str:
    """The new key's signature over the record (armoured SSHSIG): proof that it is held."""
    if new_key.public != record.new:
        raise BadRotation("record", "the proof must be made with the record's new key")
    return sshsig.sign(new_key, record.to_bytes(), PROOF_NAMESPACE)


def check_proof(record: RotationRecord, armored: str | bytes, what: str = "record") -> None:
    """Refuse a proof that is not the record's new key signing exactly this record."""
    try:
        signer = sshsig.verify(armored, record.to_bytes(), PROOF_NAMESPACE)
    except sshsig.BadSignature as e:
        raise BadRotation(what, f"the new key's proof: {e.reason}") from None
    if signer != record.new:
        raise BadRotation(what, f"the proof is signed by {signer.did}, not by the new key")


def retired_name(name: str, taken: set[str]) -> str:
    """The first free ``<name>.retired-<n>``: the name a node's replaced key is trusted under."""
    n = 1
    while True:
        suffix = f".retired-{n}"
        candidate = name[: _MAX_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def retired_from(name: str, node: str) -> bool:
    """Whether ``name`` is a name ``retired_name`` gives a key of ``node`` (whose name it may
    have cut to fit: a prefix test on ``<node>.retired-`` missed every key of a long name)."""
    match = _RETIRED.match(name)
    if match is None:
        return False
    suffix = name[len(match.group("base")) :]
    return name == node[: _MAX_NAME - len(suffix)] + suffix


def is_retired_name(name: str) -> bool:
    """Whether ``name`` is one that ``retired_name`` gives (a key its node has replaced)."""
    return _RETIRED.match(name) is not None


def retired_base(name: str) -> str:
    """The node name a retired name was made from (``alpha`` for ``alpha.retired-2``, as far as
    ``retired_name`` kept it); any other name as it is."""
    match = _RETIRED.match(name)
    return name if match is None else match.group("base")
