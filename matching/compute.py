"""Small helpers about how the engine computes, shared by its modules."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import cache

from threadpoolctl import ThreadpoolController


def workers() -> int:
    """Threads for the candidate pass: the CPUs this process may use (at most 8).

    Returns
    -------
    int
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


@cache
def _controller() -> ThreadpoolController:
    # Finding the BLAS libraries walks every loaded shared object (a realpath
    # and lstat each): 10-40 ms per ``threadpool_limits`` call, a fifth of a
    # 1,000 x 3,000 cycle. The libraries do not change once numpy is loaded.
    return ThreadpoolController()


def blas_single_thread() -> AbstractContextManager[object]:
    """Limit BLAS to one thread (ours run the parallel work) for a ``with`` block.

    Returns
    -------
    context manager
    """
    limiter: AbstractContextManager[object] = _controller().limit(limits=1, user_api="blas")
    return limiter


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects.

    Reasons, tuples and dicts made in bulk create no cycles, but each
    allocation burst triggers full collections that walk every live object
    (all the profiles): with 100,000 pairs that was most of the time.

    Yields
    ------
    None
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


#: Added to ranking scores of unacceptable pairs (TOPIK below the minimum,
#: excluded pairs) so they sort below every acceptable pair (scores are in
#: [0, 1]).
UNACCEPTABLE = -4.0
