"""One check shared by the engine tests that compare two ways of answering the same query."""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_same_lists(one: Any, other: Any) -> None:
    """Two candidate queries' answers are the same: the complete students, every view's pairs
    and values, bit for bit, and the reserve (its lists and cutoffs) when either kept one."""
    assert one.complete is not None and other.complete is not None
    assert np.array_equal(one.complete, other.complete)
    for view in ("student_view", "sme_view", "combined"):
        a, b = getattr(one, view), getattr(other, view)
        assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.data, b.data)
    if one.reserve is None and other.reserve is None:
        return
    assert one.reserve is not None and other.reserve is not None
    np.testing.assert_array_equal(one.reserve.indptr, other.reserve.indptr)
    np.testing.assert_array_equal(one.reserve.sme, other.reserve.sme)
    np.testing.assert_array_equal(one.reserve.cutoff, other.reserve.cutoff)
