"""An agent's LLM settings as typed genes, so that ``evolve`` can tune them, and back.

Genes come from the numeric (and a few enumerated) fields of the agent's ``llm_config``
(``llm.<field>``), of ``model_settings`` (``model.<field>``, newer Letta) and of the agent's own
overrides (``agent.<field>``). A null field makes no gene. Bounds are the table's, widened to
include the imported value, so an import never fails on an unusual setting.

On export a gene's value replaces the field; an integer stays an integer, a float a float (an
integral float is written ``1.0``, an integral value of a field that was an integer ``1``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from mindgit.errors import MindgitError
from mindgit.store.genome import Gene, GeneKind, Genome, GenomeError

SOURCES: tuple[tuple[str | None, str], ...] = (
    ("llm_config", "llm"),
    ("model_settings", "model"),
    (None, "agent"),  # the agent object itself
)
AGENT_FIELDS = frozenset({"context_window_limit", "max_tokens", "max_reasoning_tokens"})
Bound = Literal["window", "value"]


@dataclass(frozen=True, slots=True)
class Spec:
    kind: GeneKind
    lo: float | None = None
    hi: float | Bound | None = None
    scale: float | None = None
    choices: tuple[str, ...] = ()


_TOKENS = Spec("int", 1, "window")
SPECS: dict[str, Spec] = {
    "temperature": Spec("float", 0.0, 2.0, 0.1),
    "top_p": Spec("float", 0.0, 1.0, 0.05),
    "frequency_penalty": Spec("float", -2.0, 2.0, 0.1),
    "presence_penalty": Spec("float", -2.0, 2.0, 0.1),
    "top_k": Spec("int", 1, 100),
    "max_tokens": _TOKENS,
    "max_output_tokens": _TOKENS,
    "max_completion_tokens": _TOKENS,
    "max_reasoning_tokens": Spec("int", 0, "window"),
    "budget_tokens": Spec("int", 0, "window"),
    # Evolution may shrink a context window (cheaper runs) but never grow it past the model's.
    "context_window": Spec("int", 1024, "value"),
    "context_window_limit": Spec("int", 1024, "value"),
    "reasoning_effort": Spec("choice", choices=("minimal", "low", "medium", "high")),
    "effort": Spec("choice", choices=("low", "medium", "high")),
    "verbosity": Spec("choice", choices=("low", "medium", "high")),
}


def _fields(agent: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(gene name, the map holding the field, field) for every field a gene may come from."""
    for key, prefix in SOURCES:
        holder = agent if key is None else agent.get(key)
        if not isinstance(holder, dict):
            continue
        for name in holder:
            if name in SPECS and (key is not None or name in AGENT_FIELDS):
                yield f"{prefix}.{name}", holder, name


def _window(agent: dict[str, Any]) -> int | None:
    llm = agent.get("llm_config")
    cw = llm.get("context_window") if isinstance(llm, dict) else None
    return cw if type(cw) is int and cw > 0 else None


def genes_of(agent: dict[str, Any]) -> Genome:
    """The genes an agent's settings give (fields that are null or odd give none)."""
    genes = []
    window = _window(agent)
    for gene_name, holder, name in _fields(agent):
        gene = _gene(gene_name, SPECS[name], holder[name], window)
        if gene is not None:
            genes.append(gene)
    return Genome(tuple(genes))


def _gene(name: str, spec: Spec, value: object, window: int | None) -> Gene | None:
    try:
        if spec.kind == "choice":
            if not isinstance(value, str) or not _utf8(value):
                # A lone surrogate ("\ud800") stays in af.agent as JSON text; a gene holding
                # it could not be encoded in the manifest, and the import failed there.
                return None
            choices = spec.choices if value in spec.choices else (*spec.choices, value)
            return Gene.make(name, "choice", value, choices=choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if spec.kind == "int":
            if isinstance(value, float) and not value.is_integer():
                return None
            value = int(value)
        hi: float | None
        if spec.hi == "window":
            hi = float(window) if window is not None else float(value)
        elif spec.hi == "value":
            hi = float(value)
        else:
            hi = spec.hi
        lo = spec.lo if spec.lo is None else min(spec.lo, value)
        hi = hi if hi is None else max(hi, value)
        return Gene.make(name, spec.kind, value, min=lo, max=hi, scale=spec.scale)
    except GenomeError:
        return None


class GeneDoesNotFit(MindgitError):
    """A gene whose value the agent file's field cannot hold (text where Letta reads a number)."""

    def __init__(
        self, rev: str, gene: Gene, field: str, wanted: str, *, experiment: str | None = None
    ) -> None:
        # The hint's command names the experiment: `genome unset` without -e acts on the
        # current one, and run as written it unset the gene of another agent (or failed).
        if experiment is not None:
            hint = (
                f"`mindgit genome unset {gene.name} -e {experiment}` and set it again as {wanted}"
            )
        else:
            hint = (
                f"on the experiment that holds this state, `mindgit genome unset {gene.name} "
                f"-e EXPERIMENT`, set it again as {wanted} and export its head"
            )
        super().__init__(
            f"{rev}: gene {gene.name} is {gene.kind} {gene.value!r}, which {field} cannot "
            f"hold (it is {wanted}); nothing was written",
            hint=hint,
        )
        self.rev = rev
        self.gene = gene.name
        self.field = field


_WANTED = {"int": "a whole number", "float": "a number", "choice": "text"}


def _fits(kind: GeneKind, value: object) -> bool:
    """Whether ``value`` is of the JSON type Letta reads for a field of the gene kind ``kind``."""
    if isinstance(value, bool):
        return False
    if kind == "int":
        return type(value) is int or (type(value) is float and value.is_integer())
    if kind == "float":
        return type(value) in (int, float)
    return isinstance(value, str)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def apply_genes(
    agent: dict[str, Any], genome: Genome, rev: str, *, experiment: str | None = None
) -> tuple[list[tuple[dict[str, Any], list[str]]], list[str]]:
    """Write the genes' values back into the agent's settings, in place.

    A field whose gene is gone keeps its imported value; genes of other names are mindgit's own.
    Returns each settings map that gained fields (a gene set where the file had none) with the
    fields it gained, so that the caller can keep the imported order of the others; and a
    warning for each gene of a settings map the agent does not have (it is not written), for a
    thinking budget a gene made no smaller than ``max_tokens``, and for a ``max_tokens`` a gene
    made (or left) over ``context_window``.
    A gene whose value the field cannot hold is :class:`GeneDoesNotFit`: a file with
    ``"temperature": "hello"`` in it is no agent file Letta loads; ``experiment`` is the
    experiment ``rev`` names (None when it is a commit, ``name~1``...), for its hint.
    """
    grown = []
    warnings: list[str] = []
    changed: set[str] = set()  # llm_config fields a gene changed
    for key, prefix in SOURCES:
        holder = agent if key is None else agent.get(key)
        keys = set(holder) if isinstance(holder, dict) else set()
        for gene in genome.genes:
            head, _, name = gene.name.partition(".")
            if head != prefix or name not in SPECS or (key is None and name not in AGENT_FIELDS):
                continue
            if not isinstance(holder, dict):
                warnings.append(f"{rev}: gene {gene.name} not written: the agent has no {key}")
                continue
            imported = holder.get(name)
            value = json_value(gene, imported)
            # An imported value comes back as it was, whatever it is; a new one must fit.
            if value is not imported and not _fits(SPECS[name].kind, value):
                field = name if key is None else f"{key}.{name}"
                wanted = _WANTED[SPECS[name].kind]
                raise GeneDoesNotFit(rev, gene, field, wanted, experiment=experiment)
            if value is not imported and key == "llm_config":
                changed.add(name)
            holder[name] = value
        if isinstance(holder, dict) and len(holder) > len(keys):
            grown.append((holder, [k for k in holder if k not in keys]))
    if changed & {"max_tokens", "max_reasoning_tokens"}:
        warnings.extend(_reasoning_warnings(agent.get("llm_config"), rev))
    if changed & {"max_tokens", "context_window"}:
        warnings.extend(_window_warnings(agent.get("llm_config"), rev))
    return grown, warnings


def _window_warnings(llm: object, rev: str) -> list[str]:
    """An answer allowed more tokens than the whole context holds: each bound alone is a gene's,
    and evolution moves them apart."""
    if not isinstance(llm, dict):
        return []
    most, window = llm.get("max_tokens"), llm.get("context_window")
    if isinstance(most, bool) or isinstance(window, bool):
        return []
    if not isinstance(most, int | float) or not isinstance(window, int | float) or most <= window:
        return []
    return [
        f"{rev}: llm_config.max_tokens {most} is over context_window {window} (no answer can be "
        "longer than the context it is written in)"
    ]


def _reasoning_warnings(llm: object, rev: str) -> list[str]:
    """What Letta warns of in these settings: genes evolve one by one, and a thinking budget
    that grew past the answer's (Anthropic refuses such a request) is easily made."""
    if not isinstance(llm, dict) or not llm.get("enable_reasoner"):
        return []
    budget, most = llm.get("max_reasoning_tokens"), llm.get("max_tokens")
    if isinstance(budget, bool) or isinstance(most, bool):
        return []
    if not isinstance(budget, int | float) or not isinstance(most, int | float) or budget < most:
        return []
    return [
        f"{rev}: llm_config.max_reasoning_tokens {budget} is not below max_tokens {most} with "
        "enable_reasoner set (Letta warns of it, and Anthropic refuses such a request)"
    ]


def json_value(gene: Gene, imported: object) -> Any:
    """A gene's value in the JSON type of the field it came from."""
    value = gene.value
    if gene.kind == "floats":
        return list(value)  # type: ignore[arg-type]
    if gene.kind in ("float", "int"):
        number = float(value)  # type: ignore[arg-type]
        if type(imported) in (int, float) and float(imported) == number:  # type: ignore[arg-type]
            return imported  # unchanged: keep its exact spelling (1 vs 1.0, -0.0)
        if type(imported) is int or (imported is None and gene.kind == "int"):
            return int(number) if number.is_integer() else number
        return number
    return value
