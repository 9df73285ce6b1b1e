"""CPU-bound work functions for thread and process pools.

They live in an importable module, not in a notebook cell, because worker
processes started with the *spawn* method (Windows, macOS) or *forkserver*
(the Linux default from Python 3.14) import the function by name; a function
defined in a notebook's __main__ cannot be found there.
"""

from __future__ import annotations

import os
import socket
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


def send_text(sock: socket.socket, text: str) -> int:
    """Write `text` to a socket the parent process handed over: sockets CAN be sent to a pool."""
    return sock.send(text.encode())


def usable_cpus() -> int:
    """How many CPUs this process may run on, not how many the machine has.

    A container or a JupyterHub spawner often limits a kernel to a few of the
    host's cores; os.cpu_count() still reports all of them.
    """
    if hasattr(os, "process_cpu_count"):  # Python 3.13+: honours affinity (and -X cpu_count)
        count = os.process_cpu_count()
    elif hasattr(os, "sched_getaffinity"):  # Linux and some Unixes, before 3.13
        count = len(os.sched_getaffinity(0))
    else:  # macOS, Windows before 3.13
        count = os.cpu_count()
    return max(1, count or 1)


def pool_size(cap: int = 4) -> int:
    """Worker processes for a teaching pool: the usable CPUs, at most `cap`.

    On a 64-core classroom server shared by 60 learners, sizing pools from
    os.cpu_count() would start thousands of processes at once.
    """
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError(f"cap must be a whole number >= 1, got {cap!r}")
    return min(cap, usable_cpus())


def calibrate(target: float = 0.15) -> int:
    """The n for which sum_of_squares(n) takes about `target` seconds here and now.

    Measured, not assumed: a fixed n takes 0.05 s on a fast CPU and 0.5 s on a
    slow or busy one, which makes timing demonstrations unconvincing or slow.
    """
    if not 0.001 <= target <= 5:
        raise ValueError(f"target must be between 0.001 and 5 seconds, got {target!r}")
    n = 50_000
    while True:
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            sum_of_squares(n)
            best = min(best, time.perf_counter() - started)
        if best >= 0.02 or n >= 50_000_000:
            return max(1_000, int(n * target / best))
        n *= 4
