"""Keep freed memory in the process: glibc's malloc otherwise serves every block above 32 MB
by ``mmap`` and unmaps it on ``free``, so each CPU training step of a full-width CNN (200 MB
activations, 150 MB optimiser temporaries) page-faults its memory afresh.  Measured on 2 cores:
a full-scale MLSP 2017 step 1.10 s -> 0.56 s, MLSP 2016 0.71 s -> 0.40 s, the quick DeepScores
detector 0.93 s -> 0.66 s; values unchanged."""

from __future__ import annotations

import ctypes
import sys

__all__ = ["keep_freed_memory"]

#: glibc's ``mallopt`` parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4


def _glibc() -> ctypes.CDLL | None:
    """The C library this process runs with (its own symbols), if that is glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version") else None


def keep_freed_memory() -> bool:
    """Serve large blocks from the heap and never hand freed memory back to the OS (glibc
    ``mallopt``; a process keeps its peak memory instead of re-faulting it every step).
    Returns whether it applied: ``False`` on other C libraries, where nothing changes."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 2**31 - 1))
