"""Timing helper shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def _wall_times(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls."""
    return statistics.median(_wall_times(fn, repeat))


def fastest(fn: Callable[[], object], repeat: int = 3) -> float:
    """Shortest wall time of ``fn()`` over ``repeat`` calls (for speed ratios of one run)."""
    return min(_wall_times(fn, repeat))
