"""CPU-bound work functions (helpers/work.py): right answers, validation, and usable from spawned worker processes."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest

from helpers import work
from helpers.work import blocking_io, checksum, count_primes, spin, sum_of_squares


@pytest.mark.parametrize(("n", "expected"), [(0, 0), (1, 0), (2, 1), (10, 285), (1000, 999 * 1000 * 1999 // 6)])
def test_sum_of_squares(n, expected):
    assert sum_of_squares(n) == expected


def test_sum_of_squares_rejects_negative():
    with pytest.raises(ValueError, match="n must be >= 0, got -1"):
        sum_of_squares(-1)


@pytest.mark.parametrize(("limit", "expected"), [(0, 0), (2, 0), (3, 1), (10, 4), (100, 25), (1000, 168), (10_000, 1229)])
def test_count_primes(limit, expected):
    assert count_primes(limit) == expected


def test_spin_spins_about_the_requested_time():
    started = time.perf_counter()
    spun = spin(0.1)
    elapsed = time.perf_counter() - started
    assert 0.1 <= spun <= elapsed
    assert elapsed < 1.0  # generous: a busy machine delays the end, never the start
    assert spin(0) < 0.01


@pytest.mark.parametrize("seconds", [-0.1, 10.5, float("nan")])
def test_spin_validates(seconds):
    with pytest.raises(ValueError, match="seconds must be between 0 and 10"):
        spin(seconds)


def test_blocking_io_sleeps():
    started = time.perf_counter()
    assert blocking_io(0.05) == 0.05
    assert time.perf_counter() - started >= 0.049


def test_checksum_reads_every_4096th_byte():
    payload = bytes(range(256)) * 64  # 16 KiB
    assert checksum(payload) == payload[0] + payload[4096] + payload[8192] + payload[12288]
    assert checksum(b"") == 0


def test_sum_of_squares_holds_the_gil():
    """Pure-Python arithmetic: two threads take about as long as one after the other."""
    n = 1_500_000
    started = time.perf_counter()
    sum_of_squares(n)
    sum_of_squares(n)
    sequential = time.perf_counter() - started
    with ThreadPoolExecutor(2) as pool:
        started = time.perf_counter()
        list(pool.map(sum_of_squares, [n, n]))
        threaded = time.perf_counter() - started
    assert threaded > 0.6 * sequential, (sequential, threaded)


def test_spin_is_wall_clock_so_threads_overlap():
    """spin(s) stops after s seconds of *wall* time, so spins in threads overlap although they share the GIL.

    Lessons must not use spin to show that threads do not speed up CPU work (use sum_of_squares or count_primes).
    """
    with ThreadPoolExecutor(4) as pool:
        started = time.perf_counter()
        spun = list(pool.map(spin, [0.2] * 4))
        elapsed = time.perf_counter() - started
    assert all(s >= 0.2 for s in spun)
    assert elapsed < 0.6, elapsed  # one after another would be 0.8 s


@pytest.mark.parametrize("fn", [sum_of_squares, count_primes, spin, blocking_io, checksum])
def test_functions_pickle_by_name(fn):
    assert pickle.loads(pickle.dumps(fn)) is fn
    assert fn.__module__ == "helpers.work"
    assert getattr(work, fn.__name__) is fn


def test_run_in_spawned_worker_processes():
    """The functions are found by name in workers started with "spawn" (Windows, macOS; like forkserver on 3.14)."""
    payload = b"\x01" * (4096 * 10)

    async def main() -> tuple[list, list]:
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [
                pool.submit(sum_of_squares, 1000),
                pool.submit(spin, 0.05),
                pool.submit(blocking_io, 0.01),
                pool.submit(checksum, payload),
            ]
            from_asyncio = await asyncio.gather(*(loop.run_in_executor(pool, count_primes, n) for n in (10, 100, 1000)))
            return [f.result(timeout=60) for f in futures], from_asyncio

    submitted, from_asyncio = asyncio.run(main())
    assert submitted[0] == 332_833_500
    assert submitted[1] >= 0.05
    assert submitted[2] == 0.01
    assert submitted[3] == 10
    assert from_asyncio == [4, 25, 168]


# --- classroom-safe pool sizing, calibration, sockets ------------------------------------------


def test_usable_cpus_prefers_process_cpu_count(monkeypatch):
    monkeypatch.setattr(work.os, "process_cpu_count", lambda: 3, raising=False)
    monkeypatch.setattr(work.os, "cpu_count", lambda: 64)
    assert work.usable_cpus() == 3


def test_usable_cpus_uses_affinity_before_3_13(monkeypatch):
    monkeypatch.delattr(work.os, "process_cpu_count", raising=False)
    monkeypatch.setattr(work.os, "sched_getaffinity", lambda pid: {0, 5}, raising=False)
    monkeypatch.setattr(work.os, "cpu_count", lambda: 64)
    assert work.usable_cpus() == 2


def test_usable_cpus_falls_back_to_cpu_count_and_never_zero(monkeypatch):
    monkeypatch.delattr(work.os, "process_cpu_count", raising=False)
    monkeypatch.delattr(work.os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(work.os, "cpu_count", lambda: 6)
    assert work.usable_cpus() == 6
    monkeypatch.setattr(work.os, "cpu_count", lambda: None)  # "cannot be determined"
    assert work.usable_cpus() == 1


def test_usable_cpus_on_this_machine_is_at_most_cpu_count():
    assert 1 <= work.usable_cpus() <= (os.cpu_count() or 1)


def test_pool_size_caps_a_big_host(monkeypatch):
    monkeypatch.setattr(work, "usable_cpus", lambda: 64)
    assert work.pool_size() == 4
    assert work.pool_size(cap=8) == 8
    monkeypatch.setattr(work, "usable_cpus", lambda: 2)
    assert work.pool_size() == 2


@pytest.mark.parametrize("cap", [0, -1, 2.5, True, "4"])
def test_pool_size_rejects_bad_caps(cap):
    with pytest.raises(ValueError, match="cap must be a whole number >= 1"):
        work.pool_size(cap)


def test_calibrate_sizes_the_work_from_a_measurement():
    import time

    n = work.calibrate(0.05)
    started = time.perf_counter()
    sum_of_squares(n)
    took = time.perf_counter() - started
    assert 0.05 / 4 < took < 0.05 * 4, took  # wide: the machine may be busy


@pytest.mark.parametrize("target", [0, -1, 10])
def test_calibrate_rejects_silly_targets(target):
    with pytest.raises(ValueError, match="target must be between"):
        work.calibrate(target)


def test_a_socket_can_be_sent_to_a_process_pool():
    import socket

    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        with ours, theirs, ProcessPoolExecutor(max_workers=1) as pool:
            sent = await loop.run_in_executor(pool, work.send_text, theirs, "hello")
            assert sent == 5
            return ours.recv(100)

    assert asyncio.run(main()) == b"hello"
