"""The engine's compute helpers: the BLAS thread limiter, chunks on all cores, heap and pages."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import ThreadpoolController

from matching import assign, compute, pipeline
from matching.compute import _ThreadpoolController, blas_single_thread
from matching.synthetic import population


def test_controller_finds_the_libraries_threadpoolctl_finds() -> None:
    # Skipping objects by name before resolving them must not lose a
    # library threadpoolctl would control (numpy's BLAS at least).
    ours = {(c.filepath, c.user_api) for c in _ThreadpoolController().lib_controllers}
    theirs = {(c.filepath, c.user_api) for c in ThreadpoolController().lib_controllers}
    assert ours == theirs
    assert any(api == "blas" for _, api in ours)


def test_blas_single_thread_limits_blas_inside_the_block() -> None:
    with blas_single_thread():
        info = ThreadpoolController().select(user_api="blas").info()
        assert info and all(lib["num_threads"] == 1 for lib in info)
        assert np.ones((64, 64)) @ np.ones(64) is not None


def test_free_heap_is_given_back_where_glibc_runs() -> None:
    # On glibc (this machine, the deployment's Debian) the engine finds malloc_trim;
    # elsewhere the call is a no-op. Either way it changes nothing it computes.
    if platform.libc_ver()[0] == "glibc":
        assert compute._glibc("malloc_trim") is not None
    compute.release_free_heap()
    compute.release_free_heap()


_HEAP_CODE = """
import ctypes, hashlib, pickle, threading
import numpy as np
from matching import compute, pipeline
from matching.synthetic import population
students, smes = population(300, 400, seed=3)
result = pipeline.run(students, smes, mode="stable", explain=True)
def work():  # blocks under the mmap threshold, as the engine's workers allocate
    for _ in range(20):
        a = np.ones(1 << 17)
        del a
threads = [threading.Thread(target=work) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
pairs = [(p.student_id, p.sme_id, p.score, p.student_view, p.sme_view, repr(p.reasons))
         for p in result.pairs]
settled = compute.settle_heap.cache_info().currsize == 1 and compute.settle_heap()
digest = hashlib.sha256(pickle.dumps((pairs, result.total_score, result.blocking_pairs)))
print(settled, digest.hexdigest(), flush=True)
ctypes.CDLL(None).malloc_stats()  # (to stderr: one "Arena n:" block per arena)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc settings")
def test_settle_heap_gives_every_thread_one_arena_and_changes_no_result() -> None:
    # In fresh processes (the settings are the process's, made once): with
    # ``settle_heap`` every thread allocates from the main arena; with an
    # explicit glibc malloc setting in the environment it leaves malloc
    # alone, and the threads take arenas of their own. The cycle's pairs,
    # scores, reasons and totals are the same either way.
    def run(env: dict[str, str]) -> tuple[list[str], int]:
        done = subprocess.run(  # noqa: S603 - fixed code, our own interpreter
            [sys.executable, "-c", _HEAP_CODE],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=Path(__file__).resolve().parents[2],
            env=env,
        )
        return done.stdout.split(), done.stderr.count("Arena ")

    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env.update(PYTHONHASHSEED="0")
    (settled, digest), arenas = run(env)
    assert settled == "True"
    assert arenas == 1
    (settled, digest_default), arenas = run({**env, "GLIBC_TUNABLES": "glibc.malloc.arena_max=8"})
    assert settled == "False"
    assert arenas > 1
    assert digest_default == digest


def _huge_pages_on() -> bool:
    switch = compute._hugepage_switch()
    assert switch is not None  # numpy >= 1.20 on every platform
    was = switch(False)
    switch(was)
    return was


def test_small_pages_inside_the_block_restored_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    switch = compute._hugepage_switch()
    assert switch is not None
    was = switch(True)
    try:
        with compute.small_pages():
            assert not _huge_pages_on()
        assert _huge_pages_on()
        # an explicit setting in the environment is the operator's: left alone
        monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
        with compute.small_pages():
            assert _huge_pages_on()
    finally:
        switch(was)


def test_engine_entry_points_run_on_small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # pipeline.run and assign's solvers allocate list-sized arrays: they must
    # do it without huge pages (see compute.small_pages), and leave numpy's
    # setting as they found it.
    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    switch = compute._hugepage_switch()
    assert switch is not None
    seen: list[bool] = []
    real_stable, real_flow = assign.stable, assign._solve_min_cost_flow

    def stable(*args: object, **kwargs: object) -> np.ndarray:
        seen.append(_huge_pages_on())
        return real_stable(*args, **kwargs)

    def flow(*args: object, **kwargs: object) -> object:
        seen.append(_huge_pages_on())
        return real_flow(*args, **kwargs)

    students, smes = population(60, 30, seed=3)
    was = switch(True)
    try:
        with monkeypatch.context() as mp:
            mp.setattr(pipeline.assign, "stable", stable)
            pipeline.run(students, smes, mode="stable", explain=False)
        assert seen == [False]
        assert _huge_pages_on()
        monkeypatch.setattr(assign, "_solve_min_cost_flow", flow)
        scores = np.array([[0.5, 0.2], [0.4, 0.9]])
        assign.optimal(scores, [1, 1])
        assert seen[1:] and not any(seen[1:])
        assert _huge_pages_on()
    finally:
        switch(was)


def test_import_pays_the_once_per_process_costs_and_misses_no_blas() -> None:
    # Babel's CLDR data and the BLAS scan are paid when ``matching`` is
    # imported (the app imports it at start-up), not by the first cycle; the
    # controller found then must still see every BLAS library a cycle loads.
    code = """
import babel.core
import matching
from matching import compute, pipeline
from matching.synthetic import population
assert babel.core._global_data is not None, "CLDR data not loaded at import"
assert compute._controller.cache_info().currsize == 1, "BLAS scan not done at import"
found = {(c.filepath, c.user_api) for c in compute._controller().lib_controllers}
students, smes = population(30, 20, seed=0)
pipeline.run(students, smes, mode="optimal", explain=True)
pipeline.run(students, smes, mode="stable", explain=True)
later = {(c.filepath, c.user_api) for c in compute._ThreadpoolController().lib_controllers}
assert {x for x in later if x[1] == "blas"} <= found, (found, later)
"""
    subprocess.run(  # noqa: S603 - fixed code, our own interpreter
        [sys.executable, "-c", code],
        check=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 200), st.integers(1, 40), st.integers(1, 4))
def test_in_chunks_runs_each_chunk_of_the_plain_loop_once(
    size: int, step: int, threads: int
) -> None:
    # The chunks are the plain loop's whatever the number of threads: what
    # makes a chunked result bit-identical to a serial one (issue 14).
    seen: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(a: int, b: int) -> None:
        with lock:
            seen.append((a, b))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compute, "workers", lambda: threads)
        compute.in_chunks(work, size, step)
    assert sorted(seen) == [(a, min(a + step, size)) for a in range(0, size, step)]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 200), st.integers(1, 40), st.integers(1, 4))
def test_chunks_done_yields_each_chunk_in_order_once_it_is_done(
    size: int, step: int, threads: int
) -> None:
    # The reasons read chunk c's numbers as soon as it is yielded: every
    # chunk must be the plain loop's, run once, done when yielded, in order.
    done: set[int] = set()
    lock = threading.Lock()

    def work(a: int, b: int) -> None:
        assert b == min(a + step, size)
        with lock:
            done.add(a)

    yielded: list[int] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compute, "workers", lambda: threads)
        for a in compute.chunks_done(work, size, step):
            assert a in done
            yielded.append(a)
    assert yielded == list(range(0, size, step))
    assert done == set(yielded)


def test_chunks_done_yields_before_later_chunks_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    # The first chunk is handed over while the last is still running: the
    # caller works on it beside the workers (serially this would time out).
    monkeypatch.setattr(compute, "workers", lambda: 2)
    release = threading.Event()

    def work(a: int, b: int) -> None:
        if a == 3:
            assert release.wait(timeout=30)

    for a in compute.chunks_done(work, 4, 1):
        if a == 0:
            release.set()


def test_in_chunks_runs_chunks_at_once_on_two_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Both of the first two chunks wait for each other: this only returns if
    # two threads run them at the same time (serially it would time out).
    monkeypatch.setattr(compute, "workers", lambda: 2)
    meet = threading.Barrier(2, timeout=30)
    threads: set[int] = set()

    def work(a: int, b: int) -> None:
        threads.add(threading.get_ident())
        if a < 2:
            meet.wait()

    compute.in_chunks(work, 6, 1)
    assert len(threads) == 2


def test_in_chunks_inside_a_worker_runs_in_that_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    # A chunk that itself works in chunks (an exact score inside a parallel
    # step) runs them in its own thread: no pool inside a pool.
    monkeypatch.setattr(compute, "workers", lambda: 2)
    inner: list[tuple[int, int, int]] = []

    def work(a: int, b: int) -> None:
        me = threading.get_ident()
        compute.in_chunks(lambda c, d: inner.append((me, c, threading.get_ident())), 4, 1)

    compute.in_chunks(work, 2, 1)
    assert len(inner) == 8
    assert all(outer == thread for outer, _, thread in inner)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_in_chunks_in_a_forked_child_uses_its_own_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    # The pool is kept for the process; a child forked after it was made has
    # none of its threads, so the child must make its own (not wait forever).
    monkeypatch.setattr(compute, "workers", lambda: 2)
    compute.in_chunks(lambda a, b: None, 4, 1)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        seen: list[int] = []
        compute.in_chunks(lambda a, b: seen.append(a), 4, 1)
        os._exit(0 if sorted(seen) == [0, 1, 2, 3] else 1)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("in_chunks hung in a forked child")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(status) == 0


def test_ordered_map_keeps_the_order_and_runs_inline_inside_a_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Results in the items' order from the kept threads; from inside one of
    # them, the items run in that thread (no wait on its own pool).
    monkeypatch.setattr(compute, "workers", lambda: 2)

    def slow_first(i: int) -> tuple[int, str]:
        if i == 0:
            time.sleep(0.05)
        return i, threading.current_thread().name

    got = list(compute.ordered_map(slow_first, range(6), 2))
    assert [i for i, _ in got] == list(range(6))
    assert all(name.startswith("matching-chunks") for _, name in got)

    def outer(i: int) -> list[str]:
        return [name for _, name in compute.ordered_map(slow_first, range(4), 2)]

    for me, inner in zip(range(2), compute.ordered_map(outer, range(2), 2), strict=True):
        assert len(set(inner)) == 1, me
    assert list(compute.ordered_map(lambda i: i, [5], 2)) == [5]


def test_in_chunks_passes_a_chunks_error_to_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    # A failing chunk on a worker thread fails the call, not silently.
    monkeypatch.setattr(compute, "workers", lambda: 2)

    def work(a: int, b: int) -> None:
        if a == 3:
            raise ValueError("chunk 3")

    with pytest.raises(ValueError, match="chunk 3"):
        compute.in_chunks(work, 8, 1)
    compute.in_chunks(lambda a, b: None, 8, 1)  # the pool still works
