"""Small helpers about how the engine computes, shared by its modules."""

from __future__ import annotations

import ctypes
import gc
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from functools import cache
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import threadpoolctl
from threadpoolctl import ThreadpoolController

_T = TypeVar("_T")
_R = TypeVar("_R")


def sorted_unique(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """``np.unique`` of integer keys, by one stable sort.

    numpy 2.4's ``np.unique`` (and so ``union1d``, ``isin``) hashes, which
    costs about 1 us a key on millions of distinct keys, 50-100x a sort. The
    engine's keys (pairs as ``row * m + column``) mostly arrive as sorted
    runs (the pairs a student already lists, then a few new ones), which a
    stable sort (timsort) merges in linear time.

    Parameters
    ----------
    keys : ndarray of int

    Returns
    -------
    ndarray of int
    """
    if keys.size == 0:
        return keys
    k = np.sort(keys, kind="stable")
    return k[np.r_[True, k[1:] != k[:-1]]]


def is_member(
    keys: npt.NDArray[np.int64], sorted_keys: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """``np.isin(keys, sorted_keys)`` for a sorted array, by binary search (no hashing)."""
    if sorted_keys.size == 0 or keys.size == 0:
        return np.zeros(keys.size, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return np.asarray(sorted_keys[pos] == keys)


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


#: Set in ``in_chunks``' worker threads: a call made from one of them runs its
#: own chunks in that thread (no pool inside a pool, no oversubscription).
_in_worker = threading.local()
_pool_lock = threading.Lock()
#: ``in_chunks``' threads (process id, threads, pool), kept for the process.
_pool: tuple[int, int, ThreadPoolExecutor] | None = None


def _mark_worker() -> None:
    _in_worker.active = True


def chunks_inline() -> None:
    """Make ``in_chunks`` run this thread's chunks in this thread, for the thread's life.

    For a thread working beside the engine's own parallel work (the reasons
    built during list growth): its chunks queued on the shared pool would
    wait behind, or delay, the chunks of the work it runs beside.
    """
    _mark_worker()


def _chunk_pool(threads: int) -> ThreadPoolExecutor:
    """The process's pool of ``threads`` workers for ``in_chunks``, made on first use.

    Kept, not made per call: each new thread's numpy temporaries came from
    fresh pages of its own heap arena, every call (``criterion_values`` at
    20,000 x 10,000: ~8,000 minor faults and a third more CPU per call on two
    threads made for it). A forked child makes its own (the parent's threads
    are not in it).
    """
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1] != threads:
            pool = ThreadPoolExecutor(
                threads, thread_name_prefix="matching-chunks", initializer=_mark_worker
            )
            _pool = (os.getpid(), threads, pool)
        return _pool[2]


def in_chunks(work: Callable[[int, int], None], size: int, step: int) -> None:
    """``work(a, b)`` for each chunk ``[a, b)`` of ``range(size)``, ``step`` long, on all cores.

    The chunks are exactly those of ``for a in range(0, size, step)``; only
    which thread runs each one changes. So when ``work`` writes each chunk's
    results into its own slice of preallocated arrays, and a result depends
    only on its chunk (elementwise work, per-row sums), the output is
    bit-identical for any number of threads: nothing is summed across
    chunks. For numpy and scipy work that releases the GIL (gathers,
    ``einsum``, sparse products, elementwise arithmetic); Python-level work
    gains nothing. One chunk, one core (``workers() == 1``) or a call from
    inside a worker runs the chunks in order in the calling thread.

    Parameters
    ----------
    work : callable (start, stop) -> None
    size : int
    step : int
        Chunk length (>= 1).
    """
    for _ in chunks_done(work, size, step):
        pass


def chunks_done(work: Callable[[int, int], None], size: int, step: int) -> Iterator[int]:
    """``in_chunks``, yielding each chunk's start as soon as it (and every earlier one) is done.

    The same chunks, run the same way; the caller can use chunk ``c``'s
    results while the workers compute the later ones (the reasons: their
    Python objects are built on the calling thread from numbers the chunks
    compute, and waiting for every chunk's numbers first left a core idle).

    Parameters
    ----------
    work : callable (start, stop) -> None
    size : int
    step : int
        Chunk length (>= 1).

    Yields
    ------
    int
        The start of each chunk, in order.
    """
    starts = range(0, size, step)
    threads = workers()
    if threads <= 1 or len(starts) <= 1 or getattr(_in_worker, "active", False):
        for a in starts:
            work(a, min(a + step, size))
            yield a
        return
    # one task per chunk, taken in order as threads free up: a thread slowed
    # by another process on its core takes fewer chunks
    pool = _chunk_pool(threads)
    jobs = [pool.submit(work, a, min(a + step, size)) for a in starts]
    try:
        for a, job in zip(starts, jobs, strict=True):
            job.result()
            yield a
    finally:
        for job in jobs:  # (the caller stopped early: chunks not started are not run)
            job.cancel()


def ordered_map(work: Callable[[_T], _R], items: Sequence[_T], threads: int) -> Iterator[_R]:
    """``map(work, items)`` on ``threads`` of the process's kept workers; results in order.

    For a top-k pass's chunks (``shortlists.TopKPass.run``): a pool made per
    pass started its two threads 6-11 ms apart at 1,000 x 3,000 (issue 14,
    session 12), on every pass. The kept pool's threads are already
    running. As in ``chunks_done``, one thread, one item or a call from
    inside a worker runs the items in order in the calling thread (a worker
    waiting on its own pool could wait forever).

    Parameters
    ----------
    work : callable
    items : sequence
    threads : int

    Yields
    ------
    The results, in the order of ``items``.
    """
    if threads <= 1 or len(items) <= 1 or getattr(_in_worker, "active", False):
        for item in items:
            yield work(item)
        return
    yield from _chunk_pool(threads).map(work, items)


def _library_prefixes() -> tuple[str, ...] | None:
    """File name prefixes of the libraries threadpoolctl can control (None: unknown)."""
    kinds = getattr(threadpoolctl, "_ALL_CONTROLLERS", None)
    try:
        return tuple(p for kind in kinds or () for p in kind.filename_prefixes) or None
    except (AttributeError, TypeError):
        return None


class _ThreadpoolController(ThreadpoolController):  # type: ignore[misc]
    """threadpoolctl's controller, resolving only the libraries it could control.

    threadpoolctl resolves the real path of every loaded shared object (a
    chain of ``lstat`` calls each) before it looks at the file name: with
    scipy, scikit-learn and OR-tools loaded that is over 300 objects, 20-50
    ms of CPU (far more on a loaded machine) and a tenth to a fifth of a
    1,000 x 3,000 cycle. Python extension modules and every other object
    whose name starts with none of the controllable libraries' prefixes are
    skipped first. On Linux the list comes from ``/proc/self/maps``, whose
    paths are already resolved, so the name checked is the name threadpoolctl
    would check (``tests/matching/test_engine_compute.py`` compares the two).
    Should threadpoolctl stop exposing its prefixes, nothing is skipped.
    """

    def _make_controller_from_path(self, filepath: str) -> None:
        prefixes = _library_prefixes()
        if prefixes is not None and not os.path.basename(filepath).lower().startswith(prefixes):
            return
        super()._make_controller_from_path(filepath)


@cache
def _controller() -> ThreadpoolController:
    # Found once: the libraries do not change once numpy is loaded.
    return _ThreadpoolController()


def load_blas_controller() -> None:
    """Find the BLAS libraries ``blas_single_thread`` controls now (about 6 ms, once per process).

    ``matching`` calls this at import, after numpy and scipy have loaded
    their BLAS, so that a process's first cycle does not pay the scan (the
    app imports ``matching`` at start-up and runs cycles in one long-lived
    process; issue 14).
    """
    _controller()


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


def _hugepage_switch() -> Callable[[bool], bool] | None:
    """numpy's switch for ``madvise(MADV_HUGEPAGE)`` on new arrays (returns the old setting)."""
    core = getattr(np, "_core", None)
    switch = getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)
    return cast("Callable[[bool], bool] | None", switch)


@contextmanager
def small_pages() -> Iterator[None]:
    """New numpy arrays on ordinary 4 KiB pages, not transparent huge pages, for a ``with`` block.

    numpy asks the kernel for huge pages (``madvise(MADV_HUGEPAGE)``) for
    every array of 4 MiB or more; the environment variable
    ``NUMPY_MADVISE_HUGEPAGE=0`` turns that off for a whole process. On a
    virtual machine that hands its free memory back to the host (free page
    reporting, as on the machine issue 14 is measured on), a fresh huge
    page is backed again by the host on first touch: touching 2 GB of new
    arrays took 16-18 s there against 4 s on small pages, and a stable
    cycle at 100,000 x 30,000 spent 18.4 s of system time against 4.7 s,
    for the same user time. The engine's arrays live for one stage or less,
    so huge pages buy it little TLB reach. The setting is process-wide while
    the block runs (numpy has no per-thread one) and restored after it; an
    explicit ``NUMPY_MADVISE_HUGEPAGE`` in the environment is left alone.

    Yields
    ------
    None
    """
    switch = _hugepage_switch()
    if switch is None or "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        yield
        return
    before = switch(False)
    try:
        yield
    finally:
        switch(before)


#: Added to ranking scores of unacceptable pairs (TOPIK below the minimum,
#: excluded pairs) so they sort below every acceptable pair (scores are in
#: [0, 1]).
UNACCEPTABLE = -4.0


@cache
def _glibc(name: str) -> Any | None:
    """glibc's function ``name`` (``malloc_trim``, ``mallopt``), None where the C library has
    none (musl, macOS): the heap is then left as the C library manages it."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None


#: glibc's ``mallopt`` parameters (``malloc.h``).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
#: ``settle_heap``'s settings: one heap arena for every thread, and blocks
#: under 32 MiB (glibc's own largest dynamic mmap threshold) from the heap
#: from the first cycle on, with up to 64 MiB of free top kept (glibc's own
#: ratio: twice the threshold). ``HEAP_ARENAS = 0`` leaves glibc's defaults.
HEAP_ARENAS = 1
HEAP_MMAP_BELOW = 32 << 20
HEAP_TRIM_ABOVE = 64 << 20
#: Environment variables through which a user sets glibc's malloc: then
#: ``settle_heap`` leaves it alone.
_MALLOC_ENV = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


@cache
def settle_heap() -> bool:
    """Set glibc's malloc for the engine's threads, once per process (False: left alone).

    Every page a cycle's numpy arrays take from the kernel costs a minor
    fault (zeroed, charged to the cgroup and, on a virtual machine that
    reports free pages to its host, backed again by the host): about 18,000
    faults and 35-50 ms of system time in a 1,000 x 3,000 cycle, a quarter
    of its CPU. Two glibc defaults made most of them. Each thread that
    allocates gets a heap arena of its own (up to 8 per core), so the
    candidate pass's worker threads, the exact scorer's thread and the
    finishing threads fault in fresh pages while the main thread's arena
    holds the freed temporaries of fit; and a block of 128 KiB or more is
    ``mmap``-ed, fresh, until a freed one has raised the threshold (a
    per-arena warm-up every first cycle pays). With one arena and the
    threshold at its warmed-up value from the start, the workers reuse what
    fit freed: a 1,000 x 3,000 cycle takes ~9,800 faults instead of
    ~18,000 (issue 14, session 16). The engine's threads allocate a few
    hundred large blocks a chunk, so sharing one arena's lock costs nothing
    measurable. Blocks of 32 MiB or more are still mapped and given back
    when freed, and stable mode's ``release_free_heap`` still trims large
    cohorts. Stable mode's ``pipeline.run`` calls it (optimal mode's parts
    were not measured with it). Process-wide, like ``small_pages``; an explicit glibc malloc
    setting in the environment (``GLIBC_TUNABLES`` or the ``MALLOC_*``
    variables) is left alone, and so is a C library without ``mallopt``.

    Returns
    -------
    bool
        Whether the settings were made.
    """
    if HEAP_ARENAS <= 0 or any(v in os.environ for v in _MALLOC_ENV):
        return False
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    mallopt = _glibc("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(
        mallopt(_M_ARENA_MAX, HEAP_ARENAS)
        and mallopt(_M_MMAP_THRESHOLD, HEAP_MMAP_BELOW)
        and mallopt(_M_TRIM_THRESHOLD, HEAP_TRIM_ABOVE)
    )


def release_free_heap() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim(0)``).

    numpy's arrays under glibc's mmap threshold (which rises to 32 MiB as
    large arrays are freed) come from the heap, and the candidate pass's
    worker threads each have their own arena: what they free stays mapped,
    counted in the process's memory, until a later allocation happens to
    reuse it. The engine calls this after stages that free hundreds of MB
    (issue 14: at 33,000 x 10,000 it gave back ~120 MB after the first
    candidate pass and ~100 MB after each list-growth call). A no-op where
    the C library has no ``malloc_trim``.
    """
    trim = _glibc("malloc_trim")
    if trim is not None:
        trim(0)
