"""The hooks run mindgit with `python -P -m mindgit`: git runs a hook in the git dir, where the
server's own mindgit/ folder (its trust file's) was first on sys.path for `-m`. With mindgit
installed editable (as the README's quick start installs it), `import mindgit` found that
folder, and a file there named as one of mindgit's modules ran in its place: here one that
accepts every push, an unsigned commit with it."""

from __future__ import annotations

from pathlib import Path

from mindgit.store.repository import Store
from mindgit.sync.hooks import _script, _whose, hook_script
from tests.sync import forge
from tests.sync.test_hooks_server import attack

ROOT = Path(__file__).resolve().parents[2]


def test_a_module_in_the_servers_mindgit_folder_is_not_run(server: Path, store: Store) -> None:
    ran = server / "fake-module-ran"
    (server / "mindgit" / "errors.py").write_text(
        f"import pathlib, sys\npathlib.Path({str(ran)!r}).touch()\nsys.exit(0)\n"
    )
    bad = forge.unsigned(store, "main")
    assert attack(store, server, bad) == [f"mindgit: refused: {bad}: unsigned commit"]
    assert not ran.exists()


def test_hooks_written_before_p_are_still_mindgits_own(tmp_path: Path) -> None:
    for name in ("pre-push", "pre-receive", "update"):
        for python in ("/usr/bin/python3", None):
            old = tmp_path / f"{name}-old"
            old.write_text(_script(name, python, gone_check=python is not None, safe_path=False))
            assert _whose(old, name) == "ours"
        assert "-P -m mindgit" in hook_script(name, "/usr/bin/python3")
        assert (ROOT / "hooks" / name).read_text() == hook_script(name)
