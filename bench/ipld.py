"""Throughput of the ipld layer: DAG-JSON encode/decode, CIDs (fast path vs multiformats), CAR.

Run: .venv/bin/python bench/ipld.py [--blocks N]

Blocks are shaped like mindgit's: small thoughts (text, tags, a time, a link) and genomes (a few
dozen floats, ints, booleans). Numbers are the best of 3 runs in process CPU time, per second.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import random
import time
from collections.abc import Callable
from typing import Any

from mindgit.ipld import dagjson
from mindgit.ipld.car import CarReader, write_car
from mindgit.ipld.cid import CID, DAG_JSON


def thought(rng: random.Random, link: CID) -> dict[str, Any]:
    words = " ".join(
        rng.choice(["garden", "quiet", "dawn", "river", "stone", "light"]) for _ in range(12)
    )
    return {
        "text": words,
        "tags": sorted({rng.choice(["observation", "plan", "memory", "fact"]) for _ in range(2)}),
        "time": "2025-11-26T07:30:00Z",
        "weight": rng.random(),
        "parent": link,
    }


def genome(rng: random.Random) -> dict[str, Any]:
    genes: dict[str, Any] = {
        f"w{i:02d}": rng.gauss(0, 1) * 10 ** rng.randint(-8, 3) for i in range(24)
    }
    genes.update({f"n{i}": rng.randint(0, 1000) for i in range(6)})
    genes.update({f"b{i}": rng.random() < 0.5 for i in range(4)})
    return {"genes": genes, "schema": 1}


def best_rate(count: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        # CPU time, not wall time: the numbers stay meaningful on a busy machine.
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=20_000)
    n = parser.parse_args().blocks
    rng = random.Random(7)
    link = CID.of(b"null")
    values = [thought(rng, link) if i % 4 else genome(rng) for i in range(n)]
    blocks = [dagjson.encode(v) for v in values]
    cids = [CID.of(b) for b in blocks]
    texts = [str(c) for c in cids]
    digests = [hashlib.sha256(b).digest() for b in blocks]
    size = sum(map(len, blocks)) / n

    rows: list[tuple[str, float]] = []
    rows.append(("dagjson.encode", best_rate(n, lambda: [dagjson.encode(v) for v in values])))
    rows.append(
        ("dagjson.decode (strict)", best_rate(n, lambda: [dagjson.decode(b) for b in blocks]))
    )
    rows.append(
        ("CID.of + str (fast path)", best_rate(n, lambda: [str(CID.of(b)) for b in blocks]))
    )
    rows.append(("CID.parse (base32)", best_rate(n, lambda: [CID.parse(t) for t in texts])))

    import multiformats  # imported here: its import cost is itself one of the things to avoid
    from multiformats import multihash

    sample = digests[: max(1, n // 10)]  # it is slow: a tenth of the blocks is plenty

    def reference() -> None:
        for d in sample:
            str(multiformats.CID("base32", 1, DAG_JSON, multihash.wrap(d, "sha2-256")))

    rows.append(("multiformats CID + str", best_rate(len(sample), reference)))

    pairs = list(zip(cids, blocks, strict=True))
    car = io.BytesIO()
    write_car(car, [cids[0]], pairs)
    car_bytes = car.getvalue()
    rows.append(
        ("write_car (blocks)", best_rate(n, lambda: write_car(io.BytesIO(), [cids[0]], pairs)))
    )
    rows.append(
        ("CarReader verify=True", best_rate(n, lambda: list(CarReader(io.BytesIO(car_bytes)))))
    )

    print(f"{n} blocks, {size:.0f} bytes each on average, CAR {len(car_bytes) / 1e6:.1f} MB")
    for name, rate in rows:
        print(f"  {name:28s} {rate:12,.0f} /s   {1e6 / rate:8.1f} µs each")


if __name__ == "__main__":
    main()
