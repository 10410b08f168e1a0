"""``FitnessModule``: a fitness module loaded once and scoring states or genome vectors."""

from __future__ import annotations

import array
import hashlib
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mindgit.sandbox import abi
from mindgit.sandbox.errors import (
    EvaluationError,
    FitnessFailure,
    InvalidBatch,
    MissingExport,
    ModuleTooLarge,
)
from mindgit.sandbox.limits import COMPILE_SECONDS, Limits

if TYPE_CHECKING:
    from mindgit.sandbox.runner import Runner

_DEFAULT_LIMITS = Limits()
_I32_MAX = (1 << 31) - 1


class FitnessModule:
    """A compiled, checked fitness module (ABI v1). Load it once; score as often as needed.

    Each ``score`` runs in a fresh instance; each ``score_batch`` runs the whole population in one
    fresh instance with one call into wasm. Nothing is shared between two calls, so the same
    input gives the same bits every time, on every node.
    """

    __slots__ = ("_limits", "_runner", "cid_digest", "has_batch")

    cid_digest: bytes
    has_batch: bool

    def __init__(self, runner: Runner, cid_digest: bytes, limits: Limits) -> None:
        self._runner = runner
        self._limits = limits
        self.cid_digest = cid_digest
        self.has_batch = runner.has_batch

    @classmethod
    def load(
        cls,
        wasm: bytes,
        *,
        limits: Limits = _DEFAULT_LIMITS,
        cache_dir: Path | None = None,
        compile_seconds: float | None = COMPILE_SECONDS,
    ) -> FitnessModule:
        """Check and compile a module given as .wasm bytes or .wat text.

        Its imports and exports are checked before any of its code runs. With ``cache_dir``
        the compiled code is cached there (see ``mindgit.sandbox.cache``: local and private,
        never synced). A compile is waited for at most ``compile_seconds`` (``CompileTooSlow``;
        None: no bound); code found in the cache takes no compile.

        >>> module = FitnessModule.load(Path("fixtures/fitness/rastrigin.wat").read_bytes())
        >>> module.score_batch([[0.0, 0.0]], 2)
        [0.0]
        """
        wasm = bytes(wasm)
        if len(wasm) > limits.max_module_bytes:
            raise ModuleTooLarge(len(wasm), limits.max_module_bytes)
        # wasmtime is imported here, not at package import: it costs ~80 ms of start-up.
        from mindgit.sandbox.runner import Runner, compile_module

        digest = hashlib.sha256(wasm).digest()
        module = compile_module(wasm, digest, limits, cache_dir, compile_seconds=compile_seconds)
        return cls(Runner(module, limits), digest, limits)

    @property
    def limits(self) -> Limits:
        """The limits every evaluation of this module runs under."""
        return self._limits

    def score(self, manifest_bytes: bytes) -> float:
        """Score one state from its canonical DAG-JSON manifest bytes (the ``fitness`` export).

        Raises the ``EvaluationError`` that stopped it: ``FuelExhausted``, ``Trap``,
        ``InvalidScore``...
        """
        return self._runner.fitness(bytes(manifest_bytes))

    def score_many(self, manifests: Sequence[bytes]) -> list[float | FitnessFailure]:
        """``score`` each manifest, each in its own instance, failures as values."""
        results: list[float | FitnessFailure] = []
        for manifest in manifests:
            try:
                results.append(self._runner.fitness(bytes(manifest)))
            except EvaluationError as exc:
                results.append(FitnessFailure.from_error(exc))
        return results

    def check_batch(self, count: int, dim: int) -> None:
        """Raise ``AbiViolation`` if a batch of ``count`` vectors of ``dim`` would break the ABI
        (``alloc`` answering with a region outside memory) however its vectors score: so a run
        can be refused before it starts, not at its first generation."""
        if not self.has_batch:
            raise MissingExport(abi.BATCH_EXPORT)
        if count > 0 and not (count > _I32_MAX or count * dim > _I32_MAX // 8):
            self._runner.check_batch_alloc(count, dim)

    def score_batch(
        self, vectors: Sequence[Sequence[float]] | bytes | bytearray | memoryview, dim: int
    ) -> list[float | FitnessFailure]:
        """Score genome vectors of ``dim`` f64 each with one call to ``fitness_batch``.

        ``vectors`` is a sequence of vectors, or the packed little-endian f64 bytes of them. If
        the call fails, each vector is run alone to find which individuals fail and why; those
        are ``FitnessFailure`` values in the result, the rest are scores.
        """
        if not self.has_batch:
            raise MissingExport(abi.BATCH_EXPORT)
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
            raise InvalidBatch(f"dim must be a non-negative integer, not {dim!r}")
        packed: bytes | array.array[float]
        if isinstance(vectors, bytes | bytearray | memoryview):
            packed = bytes(vectors)
            if dim == 0:
                if packed:
                    raise InvalidBatch("dim 0 with non-empty packed bytes")
                return []
            if len(packed) % (8 * dim):
                raise InvalidBatch(f"{len(packed)} bytes is not a whole number of {dim}-f64 rows")
            count = len(packed) // (8 * dim)
        else:
            count = len(vectors)
            for index, vector in enumerate(vectors):
                try:
                    size = len(vector)
                except TypeError:
                    raise InvalidBatch(f"vector {index} is not a sequence of numbers") from None
                if size != dim:
                    raise InvalidBatch(f"vector {index} has {size} values, not {dim}")
            try:
                packed = array.array("d", itertools.chain.from_iterable(vectors))
            except TypeError as exc:
                raise InvalidBatch(f"a vector holds a value that is not a number ({exc})") from None
            except OverflowError:
                raise InvalidBatch("a vector holds an integer too large for an f64") from None
            if sys.byteorder != "little":
                packed.byteswap()
        if count == 0:
            return []
        if count > _I32_MAX or count * dim > _I32_MAX // 8:
            raise InvalidBatch(f"{count} vectors of {dim} values do not fit a wasm32 memory")
        return self._runner.batch_checked(packed, count, dim)
