"""Benchmark the assignment step alone on a random sparse graph.

Run from the repository root::

    python scripts/bench_assign.py                          # 100,000 x 30,000, 5 million edges
    python scripts/bench_assign.py --repeat 3 --scipy       # also the scipy (LAPJVsp) fallback

The graph: every edge joins a uniformly random student and SME (duplicates
dropped), the student's and the SME's scores are independent uniform numbers,
capacities are uniform in 1-5. Measured, each in a fresh process so peak
memory belongs to that step: ``matching.assign.stable`` (deferred
acceptance), ``matching.assign.optimal`` (maximum total, on the solver it
picks) and, with ``--scipy``, ``optimal`` forced onto the scipy fallback; plus
the time to merely sort every student's list by score (a floor for anything
that reads the lists in preference order). Wall and CPU seconds, medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def graph(n: int, m: int, edges: int, seed: int) -> tuple[Any, Any, Any]:
    import numpy as np
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    keys = np.unique(
        rng.integers(0, n, edges, dtype=np.int64) * m + rng.integers(0, m, edges, dtype=np.int64)
    )
    rows, cols = keys // m, keys % m
    stu = sp.csr_array((rng.random(keys.size), (rows, cols)), shape=(n, m))
    sme = sp.csr_array((rng.random(keys.size), (rows, cols)), shape=(n, m))
    cap = rng.integers(1, 6, m)
    return stu, sme, cap


def child(what: str, n: int, m: int, edges: int, seed: int) -> dict[str, Any]:
    import numpy as np

    from matching import assign, metrics

    stu, sme, cap = graph(n, m, edges, seed)
    out: dict[str, Any] = {"what": what, "edges": int(stu.nnz)}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, c = time.perf_counter(), time.process_time()
    if what == "sort":
        rows = np.repeat(np.arange(n), np.diff(stu.indptr))
        np.lexsort((stu.indices, -stu.data, rows))
    elif what == "stable":
        a = assign.stable(stu, sme, cap)
    elif what == "optimal":
        a = assign.optimal(stu, cap)
    elif what == "optimal-scipy":
        a = assign.optimal(stu, cap, solver="scipy")
    else:
        raise ValueError(what)
    out["wall"] = time.perf_counter() - t
    out["cpu"] = time.process_time() - c
    out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["graph_mib"] = rss0
    if what != "sort":
        out["total"] = metrics.total_score(stu, a)
        out["placed"] = int((a >= 0).sum())
    if what == "optimal":
        out["solver"] = assign.OPTIMAL_SOLVER
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="100000x30000", help="students x SMEs")
    ap.add_argument("--edges", type=int, default=5_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="runs per step; medians are reported")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--scipy", action="store_true", help="also time optimal on the scipy fallback (slow)"
    )
    ap.add_argument("--steps", nargs="+", default=["sort", "stable", "optimal"])
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    n, m = (int(x) for x in args.size.lower().split("x"))
    if args.child:
        print(json.dumps(child(args.child, n, m, args.edges, args.seed)))
        return
    steps = list(args.steps) + (["optimal-scipy"] if args.scipy else [])
    print(
        f"{n:,} students x {m:,} SMEs, {args.edges:,} random edges, capacities 1-5, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    print("| step | wall s (median) | CPU s (median) | runs (wall) | peak MiB | total | placed |")
    print("|---|---|---|---|---|---|---|")
    for step in steps:
        runs = []
        for _ in range(args.repeat):
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    step,
                    "--size",
                    args.size,
                    "--edges",
                    str(args.edges),
                    "--seed",
                    str(args.seed),
                ],
                capture_output=True,
                text=True,
                env=dict(os.environ),
                check=False,
            )
            if proc.returncode != 0:
                print(f"| {step} | failed: {proc.stderr.strip().splitlines()[-1:]} |")
                break
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        if not runs:
            continue
        name = step + (f" ({runs[0]['solver']})" if "solver" in runs[0] else "")
        total = f"{runs[0]['total']:.4f}" if "total" in runs[0] else ""
        placed = f"{runs[0]['placed']:,}" if "placed" in runs[0] else ""
        print(
            f"| {name} | {statistics.median(r['wall'] for r in runs):.2f} "
            f"| {statistics.median(r['cpu'] for r in runs):.2f} "
            f"| {', '.join(format(r['wall'], '.2f') for r in runs)} "
            f"| {max(r['peak_mib'] for r in runs):.0f} | {total} | {placed} |",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
