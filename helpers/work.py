"""CPU-bound work functions for thread and process pools.

They live in an importable module, not in a notebook cell, because worker
processes started with the *spawn* method (Windows, macOS) or *forkserver*
(the Linux default from Python 3.14) import the function by name; a function
defined in a notebook's __main__ cannot be found there.
"""

from __future__ import annotations

import time


def sum_of_squares(n: int) -> int:
    """Pure Python arithmetic: holds the GIL the whole time."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return sum(i * i for i in range(n))


def count_primes(limit: int) -> int:
    """Count primes below `limit` by trial division (deliberately slow)."""
    count = 0
    for candidate in range(2, limit):
        for d in range(2, int(candidate**0.5) + 1):
            if candidate % d == 0:
                break
        else:
            count += 1
    return count


def spin(seconds: float) -> float:
    """Keep one CPU core busy for `seconds` of wall time; returns the time spun."""
    if not 0 <= seconds <= 10:
        raise ValueError(f"seconds must be between 0 and 10, got {seconds}")
    start = time.perf_counter()
    x = 0
    while time.perf_counter() - start < seconds:
        x += 1
    return time.perf_counter() - start


def blocking_io(seconds: float) -> float:
    """Stand-in for a blocking library call (a sync driver, a slow disk): it just sleeps."""
    time.sleep(seconds)
    return seconds


def checksum(payload: bytes) -> int:
    """Cheap work on a big argument: the cost is in pickling `payload` to the worker."""
    return sum(payload[::4096])
