"""The layers of design.md: a lower layer never imports a higher one; only the CLI imports click/rich."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "mindgit"

# Each layer may import itself and anything listed for it.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "procs": set(),
    "leftovers": set(),
    "ipld": {"errors"},
    "identity": {"errors", "ipld", "leftovers"},
    "sandbox": {"errors", "ipld", "leftovers"},
    "store": {"errors", "ipld", "identity", "sandbox"},
    "evolve": {"errors", "procs", "ipld", "identity", "store", "sandbox"},
    "merge": {"errors", "ipld", "identity", "store", "sandbox", "evolve"},
    "sync": {"errors", "procs", "ipld", "identity", "store", "sandbox", "evolve", "merge"},
    "adapters": {"errors", "ipld", "identity", "store", "sandbox", "evolve", "merge"},
    "demo": {"errors", "ipld", "identity", "store", "sandbox", "evolve"},
}
UI_ONLY = {"click", "rich"}


def layer_of(path: Path) -> str:
    rel = path.relative_to(PKG)
    return (
        rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else ""
    )


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layers_import_only_downwards() -> None:
    bad = []
    for path in PKG.rglob("*.py"):
        layer = layer_of(path)
        if layer in ("", "cli", "__main__"):
            continue
        allowed = ALLOWED.get(layer)
        assert allowed is not None, f"{path}: layer {layer!r} is not in the layering table"
        for name in imports(path):
            top = name.split(".")[0]
            if top in UI_ONLY:
                bad.append(f"{path.relative_to(PKG)} imports {name} (only mindgit.cli may)")
            if top == "mindgit" and "." in name:
                target = name.split(".")[1]
                if target != layer and target not in allowed:
                    bad.append(f"{path.relative_to(PKG)} imports {name}")
    assert bad == []


def test_the_layering_test_can_fail(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from mindgit.cli.main import run\nimport rich\n")
    assert "mindgit.cli.main" in imports(sample) and "rich" in imports(sample)
