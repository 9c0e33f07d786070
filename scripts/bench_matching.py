"""Benchmark the matching engine on synthetic, skewed populations.

Run from the repository root::

    python scripts/bench_matching.py                       # default sizes
    python scripts/bench_matching.py --sizes 1000x3000 20000x10000 --repeat 3

Each size runs in its own subprocess so peak memory (``ru_maxrss``) belongs
to that size alone. Measured: the whole engine as the app runs it,
``pipeline.run(mode="stable", explain=True)`` (fit + candidates + deferred
acceptance with list growth + reasons for every proposed pair), with its own
stage timings, its CPU seconds (process time, all threads: on a shared machine
they move far less with the load than wall time), the 1-minute load average
and the peak memory right after it; then, where students x SMEs
<= --optimal-cap, ``pipeline.run(mode="optimal", explain=False)`` (optimal
with column generation; a second table gives its stages: fit, candidates,
solves, their prices, full and restricted pricing passes, and the counts of
solves, rounds and full passes); ``--modes optimal`` runs optimal mode alone
(its peak memory is then its own); then, where students x SME seats <= --baseline-cap,
the textbook baseline: dense cosine similarity of the same feature vectors +
``scipy.optimize.linear_sum_assignment`` on the capacity-replicated matrix.
Population generation is not timed. Blocking pairs are counted within the
shortlists.
"""

from __future__ import annotations

import argparse
import gc
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


def child(
    n: int, m: int, k: int, baseline_cap: int, optimal_cap: int, seed: int, modes: list[str]
) -> dict[str, Any]:
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    from matching import MatchModel, pipeline
    from matching.synthetic import population

    students, smes = population(n, m, seed=seed)
    out: dict[str, Any] = {"n": n, "m": m, "k": k}
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The whole engine as the app runs it: fit + candidates + stable assignment
    # with list growth + reasons for every proposed pair. Peak memory is taken
    # right after it, before anything else runs in this process.
    # CPU seconds (all threads) and the load average beside wall time: on a
    # shared machine wall time moves with the load far more than CPU time.
    out["population_rss_mib"] = rss0
    if "stable" in modes:
        load0 = os.getloadavg()[0]
        t, cpu = time.perf_counter(), time.process_time()
        res = pipeline.run(students, smes, mode="stable", k=k, explain=True)
        out["pipeline_stable"] = time.perf_counter() - t
        out["cpu_stable"] = time.process_time() - cpu
        out["load_stable"] = max(load0, os.getloadavg()[0])
        out["peak_rss_stable_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for key, val in res.timings.items():
            out[key] = val
        out["stable_total"] = res.total_score
        out["stable_placed"] = res.placed_share
        out["stable_blocking_in_lists"] = res.blocking_pairs
        del res
        gc.collect()

    if "optimal" in modes and n * m <= optimal_cap:
        # fit + candidates + optimal with column generation (no reasons)
        load0 = os.getloadavg()[0]
        t, cpu = time.perf_counter(), time.process_time()
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        res = pipeline.run(students, smes, mode="optimal", k=k, explain=False)
        out["pipeline_optimal"] = time.perf_counter() - t
        # (large cohorts solve their start parts in forked processes: their CPU counts too)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        parts_cpu = after.ru_utime + after.ru_stime - kids.ru_utime - kids.ru_stime
        out["cpu_optimal"] = time.process_time() - cpu + parts_cpu
        out["load_optimal"] = max(load0, os.getloadavg()[0])
        # with --modes optimal alone, this is optimal mode's own peak
        out["peak_rss_optimal_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if parts_cpu:
            out["peak_rss_optimal_part_mib"] = after.ru_maxrss / 1024  # the largest part's
        out["optimal_timings"] = res.timings
        out["optimal_total"] = res.total_score
        out["optimal_placed"] = res.placed_share
        out["optimal_blocking_in_lists"] = res.blocking_pairs
        del res
        gc.collect()

    model = MatchModel(random_state=0).fit(students, smes)
    cap = model.capacity_.copy()
    seats = int(cap.sum())
    if n * seats <= baseline_cap:
        # Textbook baseline: dense cosine on the same (combined) feature rows.
        t = time.perf_counter()
        X, YT = model.ranking_matrices("combined")
        Xn = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        Yn = YT / np.maximum(np.linalg.norm(YT, axis=0, keepdims=True), 1e-12)
        sim = (Xn @ Yn).astype(np.float64)
        out["baseline_similarity"] = time.perf_counter() - t
        # Same objective as `optimal` so totals are comparable: the engine's
        # combined scores, unacceptable pairs forbidden, one dummy per student.
        t = time.perf_counter()
        comb_full = np.empty((n, m))
        for a0 in range(0, n, 2000):
            rows = np.arange(a0, min(n, a0 + 2000))
            i, j = np.divmod(np.arange(rows.size * m), m)
            c, _, _ = model.score_pairs(rows[i], j)
            ok = model.acceptable(rows[i], j)
            comb_full[rows] = np.where(ok, c, -1e6).reshape(rows.size, m)
        seat_owner = np.repeat(np.arange(m), cap)
        cost = np.empty((n, seats + n))
        cost[:, :seats] = -comb_full[:, seat_owner]
        cost[:, seats:] = 1e6
        cost[np.arange(n), seats + np.arange(n)] = 0.0
        r, c = linear_sum_assignment(cost)
        chosen = cost[r, c]
        out["baseline_lsa"] = time.perf_counter() - t
        out["baseline_total"] = float(-chosen[chosen < 1e5].sum())
        del sim
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


#: Optimal mode's stages (seconds) and counts, from ``MatchResult.timings``.
OPTIMAL_STAGES = [
    "start_parts",
    "fit",
    "candidates",
    "solve",
    "prices",
    "full_pricing",
    "restricted_pricing",
]
OPTIMAL_COUNTS = ["solves", "pricing_rounds", "full_pricing_passes"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--sizes",
        nargs="+",
        default=["1000x3000", "10000x10000", "20000x10000", "100000x30000"],
        help="students x SMEs, e.g. 1000x3000",
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs per size; medians are reported")
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument(
        "--baseline-cap",
        type=float,
        default=2.5e8,
        help="run the dense baseline only if students x SME seats <= this",
    )
    ap.add_argument(
        "--optimal-cap",
        type=float,
        default=2e8,
        help="run optimal mode only if students x SMEs <= this",
    )
    ap.add_argument(
        "--modes",
        nargs="+",
        choices=["stable", "optimal"],
        default=["stable", "optimal"],
        help="which cycles to run (optimal alone: its own peak memory and stage table)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print raw JSON lines")
    ap.add_argument("--child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(
            json.dumps(
                child(
                    args.child[0],
                    args.child[1],
                    args.k,
                    int(args.baseline_cap),
                    int(args.optimal_cap),
                    args.seed,
                    args.modes,
                )
            )
        )
        return
    cols = [
        "fit",
        "candidates",
        "assign",
        "grow",
        "explain",
        "pipeline_stable",
        "cpu_stable",
        "load_stable",
        "pipeline_optimal",
        "baseline_similarity",
        "baseline_lsa",
    ]
    print(
        "| size | "
        + " | ".join(cols)
        + " | peak MiB (stable run) | stable total / placed / blocking | "
        "optimal total / placed / blocking | baseline total | optimal vs baseline speed |"
    )
    print("|" + "---|" * (len(cols) + 6))
    optimal_rows: list[str] = []
    for size in args.sizes:
        n, m = (int(x) for x in size.lower().split("x"))
        runs = []
        for _ in range(args.repeat):
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    str(n),
                    str(m),
                    "--k",
                    str(args.k),
                    "--baseline-cap",
                    str(args.baseline_cap),
                    "--optimal-cap",
                    str(args.optimal_cap),
                    "--seed",
                    str(args.seed),
                    "--modes",
                    *args.modes,
                ],
                capture_output=True,
                text=True,
                env=dict(os.environ),
                check=False,
            )
            if proc.returncode != 0:
                print(f"| {size} | failed: {proc.stderr.strip().splitlines()[-1:]} |")
                break
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        if not runs:
            continue
        if args.json:
            for r in runs:
                print(json.dumps(r))

        def med(key: str, runs: list[dict[str, Any]] = runs) -> float | None:
            vals = [r[key] for r in runs if key in r]
            return statistics.median(vals) if vals else None

        def fmt(v: float | None, d: int = 2) -> str:
            return "n/a" if v is None else f"{v:.{d}f}"

        r0 = runs[0]
        base = med("baseline_lsa")
        engine_opt = med("pipeline_optimal")
        speed = (
            "n/a"
            if base is None or not engine_opt
            else f"{(base + (med('baseline_similarity') or 0)) / engine_opt:.1f}x"
        )
        opt = (
            f"{r0['optimal_total']:.2f} / {r0['optimal_placed']:.3f}"
            f" / {r0['optimal_blocking_in_lists']}"
            if "optimal_total" in r0
            else "not run"
        )
        stable = (
            f"{r0['stable_total']:.2f} / {r0['stable_placed']:.3f}"
            f" / {r0['stable_blocking_in_lists']}"
            if "stable_total" in r0
            else "not run"
        )
        print(
            f"| {size} | "
            + " | ".join(fmt(med(c)) for c in cols)
            + f" | {fmt(med('peak_rss_stable_mib'), 0)}"
            + f" | {stable}"
            + f" | {opt} | {fmt(r0.get('baseline_total'), 2)} | {speed} |",
            flush=True,
        )
        if "optimal_timings" in r0:
            # Optimal mode by stage (medians): where column generation spends its time.
            def stage(key: str, runs: list[dict[str, Any]] = runs) -> float | None:
                vals = [r["optimal_timings"][key] for r in runs if key in r["optimal_timings"]]
                return statistics.median(vals) if vals else None

            optimal_rows.append(
                f"| {size} | "
                + " | ".join(fmt(stage(c)) for c in OPTIMAL_STAGES)
                + " | "
                + " / ".join(fmt(stage(c), 0) for c in OPTIMAL_COUNTS)
                + f" | {fmt(med('pipeline_optimal'))} | {fmt(med('cpu_optimal'))}"
                + f" | {fmt(med('load_optimal'), 1)} | {fmt(med('peak_rss_optimal_mib'), 0)} |"
            )
    if optimal_rows:
        print()
        print(
            "| size (optimal mode) | "
            + " | ".join(OPTIMAL_STAGES)
            + " | "
            + " / ".join(OPTIMAL_COUNTS)
            + " | wall | CPU | load | peak MiB |"
        )
        print("|" + "---|" * (len(OPTIMAL_STAGES) + 6))
        for row in optimal_rows:
            print(row, flush=True)


if __name__ == "__main__":
    main()
