"""The engine's compute helpers: the BLAS thread limiter finds what threadpoolctl finds."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
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
        assert compute._malloc_trim() is not None
    compute.release_free_heap()
    compute.release_free_heap()


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
