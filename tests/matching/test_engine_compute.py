"""The engine's compute helpers: the BLAS thread limiter finds what threadpoolctl finds."""

from __future__ import annotations

import numpy as np
from threadpoolctl import ThreadpoolController

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
