"""The SSH wire encoding (RFC 4251 section 5) and the base64 armour OpenSSH wraps it in.

Internal: callers turn ``WireError`` into the error that names their own input.
"""

from __future__ import annotations

import binascii
import struct

_U32 = struct.Struct(">I")

# OpenSSH wraps armoured base64 (signatures and private keys) at 70 columns.
ARMOUR_WIDTH = 70


class WireError(ValueError):
    """Bytes that do not follow the SSH wire encoding; ``str()`` says where."""


def u32(value: int) -> bytes:
    """Encode an unsigned 32-bit big-endian integer."""
    return _U32.pack(value)


def string(value: bytes) -> bytes:
    """Encode an SSH ``string``: a u32 length, then the bytes."""
    return _U32.pack(len(value)) + value


class Reader:
    """Reads SSH wire fields from a byte string, front to back."""

    __slots__ = ("_buf", "_pos")

    def __init__(self, buf: bytes) -> None:
        self._buf = buf
        self._pos = 0

    def u32(self, what: str) -> int:
        """Read a u32 named ``what`` (for the error message)."""
        pos = self._pos
        if pos + 4 > len(self._buf):
            raise WireError(f"truncated before {what}")
        self._pos = pos + 4
        value: int = _U32.unpack_from(self._buf, pos)[0]
        return value

    def string(self, what: str) -> bytes:
        """Read an SSH ``string`` named ``what``."""
        size = self.u32(what)
        pos = self._pos
        end = pos + size
        if end > len(self._buf):
            raise WireError(f"{what} runs past the end ({size} bytes declared)")
        self._pos = end
        return self._buf[pos:end]

    def fixed(self, size: int, what: str) -> bytes:
        """Read exactly ``size`` raw bytes."""
        pos = self._pos
        end = pos + size
        if end > len(self._buf):
            raise WireError(f"truncated in {what}")
        self._pos = end
        return self._buf[pos:end]

    def rest(self) -> bytes:
        """Everything not read yet."""
        tail = self._buf[self._pos :]
        self._pos = len(self._buf)
        return tail

    def expect_end(self, what: str) -> None:
        """Fail if anything follows the last field read."""
        if self._pos != len(self._buf):
            raise WireError(f"{len(self._buf) - self._pos} unexpected bytes after {what}")


def read_strings(buf: bytes, pos: int, names: tuple[str, ...]) -> list[bytes]:
    """Read one SSH ``string`` per name from ``pos`` to exactly the end of ``buf``.

    The fast path for fixed layouts (a signature blob): no per-field method calls.
    """
    out: list[bytes] = []
    size = len(buf)
    unpack = _U32.unpack_from
    for name in names:
        if pos + 4 > size:
            raise WireError(f"truncated before {name}")
        end = pos + 4 + unpack(buf, pos)[0]
        if end > size:
            raise WireError(f"{name} runs past the end ({end - pos - 4} bytes declared)")
        out.append(buf[pos + 4 : end])
        pos = end
    if pos != size:
        raise WireError(f"{size - pos} unexpected bytes after {names[-1]}")
    return out


def armour(blob: bytes, label: str) -> str:
    """Wrap ``blob`` as OpenSSH does: BEGIN line, base64 at 70 columns, END line, final newline."""
    b64 = binascii.b2a_base64(blob, newline=False).decode("ascii")
    lines = [b64[i : i + ARMOUR_WIDTH] for i in range(0, len(b64), ARMOUR_WIDTH)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


def dearmour(text: bytes, label: str) -> bytes:
    """Return the bytes inside ``-----BEGIN label-----`` ... ``-----END label-----``.

    Whitespace (including CR) around and inside the base64 body is ignored, as OpenSSH does;
    anything else outside the markers is refused.
    """
    begin = b"-----BEGIN " + label.encode("ascii") + b"-----"
    end = b"-----END " + label.encode("ascii") + b"-----"
    body = text.strip()
    if not body.startswith(begin):
        raise WireError(f"does not start with '{begin.decode()}'")
    if not body.endswith(end):
        raise WireError(f"does not end with '{end.decode()}'")
    inner = body[len(begin) : len(body) - len(end)]
    compact = inner.translate(None, b" \t\n\r\v\f")
    if not compact:
        raise WireError("empty armour")
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error as exc:
        raise WireError(f"bad base64 in armour ({exc})") from None
