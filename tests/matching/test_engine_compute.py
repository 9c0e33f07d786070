"""The engine's compute helpers: the BLAS thread limiter finds what threadpoolctl finds."""

from __future__ import annotations

import platform

import numpy as np
from threadpoolctl import ThreadpoolController

from matching import compute
from matching.compute import _ThreadpoolController, blas_single_thread


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
