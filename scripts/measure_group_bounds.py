"""How far upper bounds per group of SMEs would prune the first stable candidate pass.

The first pass keeps each student's top k + 2k acceptable SMEs by the float32
student view (plus near-ties), so it must compute every pair at or above
``t_s`` = that many-th value - ``NEAR_TIE`` and nothing below it. For a group
of SMEs, ``x . y <= sum_c max(x_c * max_g y_c, x_c * min_g y_c)`` (the "box"
bound, signed columns included). This counts, on a sample of students, the
share of pairs whose group bound reaches ``t_s`` (what a per-student pruned
pass would still compute), and the share of SMEs a dense block of a chunk of
students would still need (the union over the chunk). Issue 14, session 8:
docs/performance-log.md, "Session 8, bd18".

    python scripts/measure_group_bounds.py --size 20000x10000 --sample 2000 --groups 8 16
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sklearn.cluster import MiniBatchKMeans

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching import MatchModel  # noqa: E402
from matching.compute import UNACCEPTABLE  # noqa: E402
from matching.shortlists import FLOAT32_ERROR, NEAR_TIE, common_block  # noqa: E402
from matching.synthetic import population  # noqa: E402

FloatArray = npt.NDArray[np.float64]


def group_bounds(x: FloatArray, y_max: FloatArray, y_min: FloatArray) -> FloatArray:
    """Upper bounds of ``x[i] . y[f]`` over the SMEs ``f`` of each group.

    ``x``: (students, columns); ``y_max``/``y_min``: (groups, columns), the
    groups' column-wise maxima and minima. A negative ``x`` column (the text
    embedding, the TOPIK penalty) takes the group's minimum.
    """
    bound: FloatArray = np.maximum(x, 0.0) @ y_max.T + np.minimum(x, 0.0) @ y_min.T
    return bound


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="20000x10000")
    ap.add_argument("--sample", type=int, default=2000, help="students sampled")
    ap.add_argument("--groups", type=int, nargs="+", default=[8, 16], help="mean group sizes")
    ap.add_argument("--keep", type=int, default=150, help="k + reserve of the first pass")
    ap.add_argument("--chunks", type=int, nargs="+", default=[32, 139, 419])
    args = ap.parse_args()
    n, m = (int(v) for v in args.size.split("x"))
    students, smes = population(n, m, seed=1)
    model = MatchModel().fit(students, smes)
    x, yt = model.ranking_matrices("student")
    y = np.ascontiguousarray(yt.T)
    who = np.sort(np.random.default_rng(0).choice(n, size=min(args.sample, n), replace=False))
    block = x[who] @ y.T
    absent = np.float32(UNACCEPTABLE / 2)
    block[~common_block(model.pair_bits_x_[who], model.pair_bits_y_) | (block <= absent)] = -np.inf
    acceptable = np.isfinite(block).sum(axis=1)
    kth = np.full(who.size, -np.inf, dtype=np.float32)
    full = acceptable >= args.keep
    kth[full] = -np.partition(-block[full], args.keep - 1, axis=1)[:, args.keep - 1]
    t = np.where(full, kth - NEAR_TIE - FLOAT32_ERROR, absent)
    print(
        f"{n} x {m}, {who.size} students: acceptable SMEs median {np.median(acceptable):.0f}; "
        f"pairs at or above t_s {(block >= t[:, None]).sum() / block.size:.4f}"
    )
    x64 = x[who].astype(np.float64)
    weight = np.abs(x).mean(axis=0)  # how much each column moves a student's score
    for size in args.groups:
        cpu = time.process_time()
        km = MiniBatchKMeans(n_clusters=m // size, random_state=0, batch_size=4096, n_init=1)
        _, label = np.unique(km.fit(y.astype(np.float64) * weight).labels_, return_inverse=True)
        cpu = time.process_time() - cpu
        order = np.argsort(label, kind="stable")
        sizes = np.bincount(label)
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        y_max = np.maximum.reduceat(y[order].astype(np.float64), starts, axis=0)
        y_min = np.minimum.reduceat(y[order].astype(np.float64), starts, axis=0)
        bits = np.bitwise_or.reduceat(model.pair_bits_y_[order], starts, axis=0)
        bound = group_bounds(x64, y_max, y_min)
        need = (bound >= t[:, None]) & common_block(model.pair_bits_x_[who], bits)
        true_max = np.maximum.reduceat(block[:, order], starts, axis=1)
        unions = [
            np.mean(
                [
                    (part.any(axis=0) * sizes).sum() / m
                    for part in np.array_split(need, -(-who.size // c))
                ]
            )
            for c in args.chunks
        ]
        print(
            f"groups of {size} ({sizes.size}, k-means {cpu:.1f} s CPU): pairs "
            f"{(need * sizes).sum() / need.shape[0] / m:.3f}, bound products "
            f"{2 * sizes.size / m:.3f} of the product; union over chunks "
            + ", ".join(f"{c}: {u:.3f}" for c, u in zip(args.chunks, unions, strict=True))
            + f"; bounds below a group's maximum: {(true_max > bound + FLOAT32_ERROR).sum()}"
        )


if __name__ == "__main__":
    main()
