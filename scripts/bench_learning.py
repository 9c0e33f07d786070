"""Benchmark learning the two-sided weights, and print what it learns.

Run from the repository root::

    python scripts/bench_learning.py                   # 10,000 answers, 5 repeats
    python scripts/bench_learning.py --answers 10000 50000 --repeat 3

Answers are simulated (not timed) from the hidden "true" weights in
``matching.learning.TRUE_WEIGHTS`` on a synthetic population: each cycle
proposes pairs from the current (default) weights' shortlists and each side
accepts or declines by its true preferences. ``--answers N`` means N answers
in all, half from SMEs and half from students (each proposal is answered by
both). Timed: ``matching.learning.learn`` - both learners, the time split,
the current weights' calibration, every held-out figure - median of the
repeats. Printed with it: the held-out ROC AUC of the current, learned and
true weights on each side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching import DEFAULT_WEIGHTS, learning  # noqa: E402
from matching.synthetic import population  # noqa: E402


def bench(answers: int, repeat: int, seed: int) -> dict[str, object]:
    per_side = answers // 2
    n_cycles, per_student = 4, 3
    # A student answers about per_student proposals in 3/4 of the cycles; one
    # SME per two students keeps the shortlists realistic.
    n_students = max(60, int(per_side / (n_cycles * per_student * 0.75 * 0.9)) + 1)
    students, smes = population(n_students, max(30, n_students // 2), seed=seed)
    sim = learning.simulate(students, smes, seed=seed, n_cycles=n_cycles, per_student=per_student)
    for side in learning.SIDES:  # exactly N/2 per side, newest cycles last
        a = sim.answers[side]
        keep = slice(0, min(per_side, len(a)))
        sim.answers[side] = learning.Answers(
            a.X[keep], a.y[keep], a.group[keep], a.sample_weight[keep]
        )
    times = []
    report = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        report = learning.learn(sim.answers)
        times.append(time.perf_counter() - t0)
    assert report is not None
    out: dict[str, object] = {
        "answers": sum(len(a) for a in sim.answers.values()),
        "seconds_median": round(statistics.median(times), 4),
        "seconds_max": round(max(times), 4),
    }
    for side in learning.SIDES:
        r = report.sides[side]
        out[side] = {
            "n": r.n_answers,
            "auc_current": r.metrics["current"]["auc"],
            "auc_learned": r.metrics["learned"]["auc"] if "learned" in r.metrics else None,
            "auc_true": round(sim.auc_of(side, sim.true_weights[side]), 6),
            "auc_defaults": round(sim.auc_of(side, DEFAULT_WEIGHTS), 6),
            "better": r.better,
            "learned": {k: round(v, 3) for k, v in (r.learned or {}).items()},
            "true": sim.true_weights[side],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answers", type=int, nargs="+", default=[10000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for n in args.answers:
        print(json.dumps(bench(n, args.repeat, args.seed), indent=2))


if __name__ == "__main__":
    main()
