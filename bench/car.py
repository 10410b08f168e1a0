"""Benchmark: CAR export and import of one big state; MB/s both ways and peak memory.

    .venv/bin/python bench/car.py                  # 10k and 100k small thoughts, 10k large ones
    .venv/bin/python bench/car.py --sizes 1000     # a quick run
    .venv/bin/python bench/car.py --tracemalloc    # also the Python heap's peak (slower runs)

Each store is built fast (thought blobs and trees written as one pack, one signed commit), then
every phase runs in a fresh interpreter so that its peak RSS (``ru_maxrss``) is its own: the
table shows the growth of the peak over the process's size just before the phase began. If
export and import stream, that growth follows the number of thoughts (the manifest is one block
listing all of them, and a set of CIDs is kept), not the bytes of the CAR: compare 100k small
thoughts with 10k large ones, whose CAR is bigger.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1 << 20


def build(path: Path, count: int, text_size: int) -> dict[str, Any]:
    """A store whose ``main`` holds ``count`` thoughts of about ``text_size`` characters."""
    import pygit2

    from mindgit.store import layout
    from mindgit.store.packs import OBJ_BLOB, OBJ_TREE, PackWriter, tree_bytes
    from mindgit.store.refs import update_ref
    from mindgit.store.repository import HEADS, init_store
    from mindgit.store.state import State, make_thought

    store = init_store(path, "bench")
    entries: list[tuple[str, bool, bytes]] = []
    cids = []
    filler = "the quick brown fox jumps over the lazy dog. " * (text_size // 45 + 1)
    with PackWriter(Path(store.repo.path) / "objects", fsync=False) as pack:
        for i in range(count):
            block = make_thought(f"thought {i}: {filler[:text_size]}", ["bench"])
            cids.append(block.cid)
            entries.append((str(block.cid), False, pack.add(OBJ_BLOB, block.data)))
        manifest = State(thoughts=frozenset(cids)).manifest()
        thoughts = pack.add(OBJ_TREE, tree_bytes(entries))
        root = tree_bytes(
            [
                (layout.MANIFEST, False, pack.add(OBJ_BLOB, manifest.data)),
                (layout.THOUGHTS, True, thoughts),
            ]
        )
        tree = pack.add(OBJ_TREE, root)
        pack.finish()
    head = store.head()
    commit = store.write_commit(pygit2.Oid(raw=tree), [head], "bench", manifest.cid)
    update_ref(store.repo, HEADS + "main", commit, head, message="bench", committer="bench <b>")
    return {"state": str(manifest.cid), "manifest_bytes": len(manifest.data)}


def export_phase(store_path: Path, car: Path) -> dict[str, Any]:
    from mindgit.adapters.car_export import export
    from mindgit.store.repository import Store

    store = Store(store_path)
    with open(car, "wb", buffering=MiB) as out:
        summary = export(store, "main", out)
    return {"bytes": summary.bytes, "blocks": summary.blocks, "state": str(summary.state)}


def import_phase(store_path: Path, car: Path) -> dict[str, Any]:
    from mindgit.adapters.car_import import import_car
    from mindgit.store.repository import init_store

    store = init_store(store_path, "importer")
    with open(car, "rb", buffering=MiB) as stream:
        summary = import_car(store, stream, experiment="copy")
    return {"bytes": car.stat().st_size, "blocks": summary.blocks, "state": str(summary.state)}


def child(args: argparse.Namespace) -> None:
    """Run one phase in this fresh interpreter and print its measurements as JSON."""
    # Import everything a phase uses first, so that the baseline includes the libraries.
    import mindgit.adapters.car_export
    import mindgit.adapters.car_import
    import mindgit.store.repository  # noqa: F401

    if args.tracemalloc:
        tracemalloc.start()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if args.phase == "build":
        result = build(Path(args.store), args.thoughts, args.text_size)
    elif args.phase == "export":
        result = export_phase(Path(args.store), Path(args.car))
    else:
        result = import_phase(Path(args.store), Path(args.car))
    result["seconds"] = time.perf_counter() - start
    result["rss_growth_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024
    if args.tracemalloc:
        result["heap_peak_mib"] = tracemalloc.get_traced_memory()[1] / MiB
    print(json.dumps(result))


def run_phase(*args: str, tracemalloc_on: bool = False) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", *args]
    if tracemalloc_on:
        cmd.append("--tracemalloc")
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=["build", "export", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--car", help=argparse.SUPPRESS)
    parser.add_argument("--thoughts", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--text-size", type=int, default=60, help=argparse.SUPPRESS)
    parser.add_argument(
        "--sizes",
        default="10000:60,100000:60,10000:10000",
        help="comma-separated THOUGHTS:TEXT_CHARS cases (default: %(default)s)",
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also measure the Python heap")
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    print(
        f"{'case':>18} {'CAR MiB':>8} {'phase':>6} {'s':>7} {'MiB/s':>7} "
        f"{'peak RSS +MiB':>13}" + (f" {'heap MiB':>9}" if args.tracemalloc else "")
    )
    for case in args.sizes.split(","):
        count, text_size = (int(x) for x in case.split(":"))
        with tempfile.TemporaryDirectory(prefix="mindgit-bench-car-") as tmp:
            src, dst, car = Path(tmp) / "src", Path(tmp) / "dst", Path(tmp) / "x.car"
            built = run_phase(
                "--phase", "build", "--store", str(src), "--thoughts", str(count),
                "--text-size", str(text_size),
            )  # fmt: skip
            phases = {
                "export": ("--phase", "export", "--store", str(src), "--car", str(car)),
                "import": ("--phase", "import", "--store", str(dst), "--car", str(car)),
            }
            for name, phase_args in phases.items():
                result = run_phase(*phase_args)
                if result["state"] != built["state"]:
                    raise SystemExit(f"{name} gave state {result['state']}, not {built['state']}")
                heap = ""
                if args.tracemalloc:
                    if name == "import":
                        subprocess.run(["rm", "-rf", str(dst)], check=True)
                    heap = f" {run_phase(*phase_args, tracemalloc_on=True)['heap_peak_mib']:9.1f}"
                mib = result["bytes"] / MiB
                label = f"{count} x {text_size}ch"
                print(
                    f"{label:>18} {mib:8.1f} {name:>6} {result['seconds']:7.2f} "
                    f"{mib / result['seconds']:7.1f} {result['rss_growth_mib']:13.1f}{heap}",
                    flush=True,
                )
            print(
                f"{'':>18} manifest: {built['manifest_bytes'] / MiB:.1f} MiB "
                f"(one block), built in {built['seconds']:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
