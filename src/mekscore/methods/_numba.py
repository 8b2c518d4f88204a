"""numba settings for the kernels: an on-disk cache that works on any install.

``njit`` is ``numba.njit(cache=True, ...)``, except that a read-only install with no
writable user cache (numba then refuses to decorate: "no locator available") caches
in a per-user folder of the temporary directory instead, or, failing that, compiles
without a cache. ``limit_threads`` keeps a Dask worker's numba kernels to its share
of the cores.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numba


def njit(**options) -> Callable[[Callable], Callable]:
    """``numba.njit(cache=True, **options)`` that never fails for want of a cache folder.

    Examples
    --------
    >>> @njit(inline="always")
    ... def double(x):
    ...     return 2 * x
    >>> double(21)
    42
    """

    def decorate(func: Callable) -> Callable:
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError:  # no writable cache location beside the code or per user
            if not _use_temporary_cache():
                return numba.njit(**options)(func)
        try:
            return numba.njit(cache=True, **options)(func)
        except RuntimeError:
            return numba.njit(**options)(func)

    return decorate


def _use_temporary_cache() -> bool:
    """Point numba's cache at a private folder of the temporary directory (if unset)."""
    if numba.config.CACHE_DIR:
        return False
    uid = os.getuid() if hasattr(os, "getuid") else None
    folder = Path(tempfile.gettempdir()) / f"mekscore-numba-{uid if uid is not None else 'user'}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        owner = folder.stat().st_uid
    except OSError:
        return False
    if (uid is not None and owner != uid) or not os.access(folder, os.W_OK):
        return False  # someone else's folder: do not load their compiled code
    numba.config.CACHE_DIR = str(folder)
    return True


def limit_threads(worker_threads: int) -> None:
    """Use at most ``worker_threads`` numba threads in this thread (a Dask worker's share).

    Examples
    --------
    >>> before = numba.get_num_threads()
    >>> limit_threads(1); numba.get_num_threads()
    1
    >>> limit_threads(before)
    """
    numba.set_num_threads(max(1, min(numba.config.NUMBA_NUM_THREADS, worker_threads)))
