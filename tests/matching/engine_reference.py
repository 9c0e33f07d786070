"""Slow, obviously-correct reference implementations for the engine tests."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linear_sum_assignment


def da_reference(stu: np.ndarray, sme: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """One-proposal-at-a-time deferred acceptance on dense matrices (-inf = unacceptable)."""
    n, m = stu.shape
    prefs = [
        sorted(
            (j for j in range(m) if np.isfinite(stu[i, j]) and np.isfinite(sme[i, j])),
            key=lambda j, i=i: (-stu[i, j], j),
        )
        for i in range(n)
    ]
    nxt = [0] * n
    held: dict[int, list[int]] = {j: [] for j in range(m)}
    free = list(range(n))
    while free:
        i = free.pop(0)
        if nxt[i] >= len(prefs[i]):
            continue
        j = prefs[i][nxt[i]]
        nxt[i] += 1
        held[j].append(i)
        held[j].sort(key=lambda s: (-sme[s, j], s))
        if len(held[j]) > cap[j]:
            free.append(held[j].pop())
    out = np.full(n, -1)
    for j, lst in held.items():
        for i in lst:
            out[i] = j
    return out


def blocking_bruteforce(stu: np.ndarray, sme: np.ndarray, cap: np.ndarray, a: np.ndarray) -> int:
    n, m = stu.shape
    count = 0
    for i in range(n):
        for j in range(m):
            if a[i] == j or not (np.isfinite(stu[i, j]) and np.isfinite(sme[i, j])):
                continue
            if a[i] >= 0 and not (
                stu[i, j] > stu[i, a[i]] or (stu[i, j] == stu[i, a[i]] and j < a[i])
            ):
                continue
            holders = [s for s in range(n) if a[s] == j]
            if len(holders) < cap[j]:
                count += 1
                continue
            if any(sme[i, j] > sme[s, j] or (sme[i, j] == sme[s, j] and i < s) for s in holders):
                count += 1
    return count


def optimum_lsa(scores: np.ndarray, cap: np.ndarray) -> float:
    """Best total via linear_sum_assignment on seats + one private dummy per student."""
    n, m = scores.shape
    seats = [j for j in range(m) for _ in range(int(cap[j]))]
    big = 1e6
    cost = np.full((n, len(seats) + n), big)
    for c, j in enumerate(seats):
        col = scores[:, j]
        ok = np.isfinite(col) & (col >= 0)
        cost[ok, c] = -col[ok]
    cost[np.arange(n), len(seats) + np.arange(n)] = 0.0
    r, c = linear_sum_assignment(cost)
    return float(-cost[r, c][cost[r, c] < big / 2].sum())


def optimum_bruteforce(scores: np.ndarray, cap: np.ndarray) -> float:
    n, m = scores.shape
    best = 0.0
    for choice in itertools.product(range(-1, m), repeat=n):
        if any(c >= 0 and not np.isfinite(scores[i, c]) for i, c in enumerate(choice)):
            continue
        if any(sum(1 for c in choice if c == j) > cap[j] for j in range(m)):
            continue
        best = max(best, sum(scores[i, c] for i, c in enumerate(choice) if c >= 0))
    return best
