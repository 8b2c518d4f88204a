"""Ctrl-C that libraries cannot swallow: note every SIGINT while raising as usual."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def noted_interrupts() -> Iterator[list[int]]:
    """Record every Ctrl-C (SIGINT) inside the block, still raising ``KeyboardInterrupt``.

    Some libraries swallow the ``KeyboardInterrupt`` (h5py's HDF5 callbacks print it as
    "Exception ignored" and carry on); the yielded list shows the interrupt anyway, so
    the caller can still give up. Those "Exception ignored" reports are silenced. Blocks
    nest. Outside the main thread, or with SIGINT ignored, nothing changes.

    Examples
    --------
    >>> import os, signal
    >>> with noted_interrupts() as noted:
    ...     try:
    ...         os.kill(os.getpid(), signal.SIGINT)
    ...     except KeyboardInterrupt:
    ...         pass
    >>> noted
    [2]
    """
    noted: list[int] = []
    previous_handler, previous_hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    if threading.current_thread() is not threading.main_thread() or not callable(
        previous_handler
    ):  # not the main thread, or SIGINT ignored (a background job): leave it alone
        yield noted
        return

    def handler(signum, frame):
        noted.append(signum)
        if callable(previous_handler) and previous_handler is not signal.default_int_handler:
            previous_handler(signum, frame)  # an outer block notes it too, and raises
        raise KeyboardInterrupt

    def unraisable(info) -> None:
        if not isinstance(info.exc_value, KeyboardInterrupt):
            previous_hook(info)

    signal.signal(signal.SIGINT, handler)
    sys.unraisablehook = unraisable
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        sys.unraisablehook = previous_hook
