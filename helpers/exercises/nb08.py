"""Checkers for notebook 08 (executors: threads and processes)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ProcessPoolExecutor

from helpers.checks import NotAttempted, Result, expect, is_stub, run_check
from helpers.exercises.sandbox import RESPONSE_HINT, is_response, not_finished, raise_error, run_learner
from helpers.lab import Lab
from helpers.services import data
from helpers.timing import LoopLagMonitor
from helpers.work import calibrate

# Exercise 8.1: a blocking client, kept off the event loop
N_USERS = 4
DELAYS = (0.55, 0.25, 0.45, 0.35)  # input order is not completion order; all four overlap even if a thread starts late
MAX_LAG = 0.6  # s; calling legacy_get_json in the loop freezes it for all four requests (1.6 s); a busy machine stalls it < 0.5 s
CALL_TIMEOUT = 8.0  # s; one request after another takes 1.6 s

# Exercise 8.2: CPU-bound work in a process pool, sized from a measurement on this machine
UNIT = 0.25  # target seconds of one unit of work, measured in this process
FACTORS = (3, 1, 1, 1, 1, 1)  # job sizes in units: the second worker finishes two jobs before the first one is done
# Waiting for the results in the loop's thread freezes it for 4 units (8 units / 2 workers): 1.0 s
# nominal, 0.76-1.9 s measured under two CPU burners. Awaiting them leaves the loop free: 3-16 ms
# late at worst under the same load. The limit sits 3.8x below the first and 12x above the second
# (it was 2.5 units of 0.2 s = 0.5 s, which a blocking answer exceeded only 1.6x).
MAX_LAG_8_2 = 0.2  # seconds, not units: a free loop's lag does not grow with the size of the work


async def check_8_1(fetch_all_blocking: Callable[[list[str]], Awaitable[list[dict]]], lab: Lab) -> Result:
    """fetch_all_blocking(urls) runs the blocking legacy_get_json in threads, all at once, results in order."""
    ids = random.sample(range(1, len(data.users()) + 1), N_USERS)
    urls = [lab.url(f"/users/{i}?delay={d}") for i, d in zip(ids, DELAYS)]
    expected = [data.users()[i - 1]["name"] for i in ids]

    async def attempt() -> tuple[object, float]:
        if is_stub(fetch_all_blocking):
            raise NotAttempted
        lab.reset_gauge()
        async with LoopLagMonitor() as lag:
            run = await run_learner(lambda: fetch_all_blocking(list(urls)), CALL_TIMEOUT)
        if not run.finished:
            raise not_finished("fetch_all_blocking", CALL_TIMEOUT, run, "Does every to_thread call get awaited (gather them)?")
        raise_error(run)
        return run.value, lag.max_lag

    def verify(outcome: tuple[object, float]) -> str:
        results, max_lag = outcome
        expect(results is not None, "fetch_all_blocking returned None: did you forget `return`?")
        expect(isinstance(results, list), f"return a list (one JSON body per URL), got {type(results).__name__}")
        expect(len(results) == len(urls), f"expected {len(urls)} results, one per URL, got {len(results)}")
        expect(not any(is_response(r) for r in results), RESPONSE_HINT)
        expect(all(isinstance(r, dict) for r in results), f"each result should be the JSON body (a dict) that legacy_get_json returns, got {type(results[0]).__name__}")
        names = [r.get("name") for r in results]
        expect(
            sorted(map(str, names)) == sorted(expected),
            f"expected the users {expected} (the check asks for different users every time), got {names}: fetch the URLs you were given",
        )
        expect(names == expected, f"expected the users {expected} in input order, got {names}: you collected them as they finished; gather keeps the order of its arguments")
        expect(max_lag < MAX_LAG, f"the event loop froze for {max_lag * 1000:.0f} ms: legacy_get_json blocks, so calling it in a coroutine stops everything. Run it in a thread with asyncio.to_thread")
        peak = lab.gauge().peak
        expect(peak >= len(urls), f"the server saw at most {peak} request(s) at once: the threads ran one after another. Start all the to_thread calls together with asyncio.gather")
        return f"{len(urls)} users in order, all {peak} requests at once, worst loop lag {max_lag * 1000:.0f} ms"

    return await run_check("8.1", attempt, verify, timeout=CALL_TIMEOUT + 5)


class CountingPool(ProcessPoolExecutor):
    """A process pool that remembers how much work it was given, and how much at once."""

    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers)
        self._count_lock = threading.Lock()
        self.submitted = 0
        self.outstanding = 0
        self.peak = 0

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = super().submit(fn, *args, **kwargs)
        with self._count_lock:
            self.submitted += 1
            self.outstanding += 1
            self.peak = max(self.peak, self.outstanding)
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _: Future) -> None:
        with self._count_lock:
            self.outstanding -= 1

    def reset_counts(self) -> None:
        with self._count_lock:
            self.submitted = self.peak = 0


async def check_8_2(squares_in_processes: Callable[[ProcessPoolExecutor, list[int]], Awaitable[list[int]]], lab: Lab) -> Result:
    """squares_in_processes(pool, ns) computes sum_of_squares(n) for each n in the pool, all at once, results in order."""
    state: dict = {}

    async def attempt() -> tuple[object, float, int, int]:
        if is_stub(squares_in_processes):
            raise NotAttempted
        unit_n = calibrate(UNIT)  # sized from a measurement: long enough on a fast CPU too
        ns = [f * unit_n + random.randrange(1000) for f in FACTORS]  # unpredictable, different sizes
        state["ns"] = ns
        loop = asyncio.get_running_loop()
        pool = CountingPool(max_workers=2)
        try:
            await asyncio.gather(*(loop.run_in_executor(pool, abs, -1) for _ in range(2)))  # start the workers first
            pool.reset_counts()
            async with LoopLagMonitor() as lag:
                run = await run_learner(lambda: squares_in_processes(pool, list(ns)), CALL_TIMEOUT + 4 * UNIT * sum(FACTORS))
        finally:  # in a thread: shutting a pool down waits for its jobs, which must not freeze the loop
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
        if not run.finished:
            raise not_finished("squares_in_processes", CALL_TIMEOUT, run, "Is every run_in_executor future awaited (gather them)?")
        raise_error(run)
        return run.value, lag.max_lag, pool.submitted, pool.peak

    def verify(outcome: tuple[object, float, int, int]) -> str:
        results, max_lag, submitted, peak = outcome
        ns = state["ns"]
        expect(results is not None, "squares_in_processes returned None: did you forget `return`?")
        expect(isinstance(results, list), f"return a list (one number per n), got {type(results).__name__}")
        expect(len(results) == len(ns), f"expected {len(ns)} results, one per n, got {len(results)}")
        expected = [(n - 1) * n * (2 * n - 1) // 6 for n in ns]  # sum_of_squares(n), in closed form: instant
        expect(
            sorted(map(str, results)) == sorted(map(str, expected)),
            "the numbers are not sum_of_squares(n) for the ns you were given (the check uses new ones every time): call work.sum_of_squares(n) for each n",
        )
        expect(results == expected, "the numbers are in the order the jobs finished, not the order of `ns`: gather keeps the order of its arguments; as_completed does not")
        expect(
            submitted >= len(ns),
            f"the process pool received {submitted} of the {len(ns)} jobs: the work ran in this process (in the loop, or in threads, which cannot run Python code in parallel under the GIL). Send each job to the pool with loop.run_in_executor(pool, work.sum_of_squares, n)",
        )
        expect(
            max_lag < MAX_LAG_8_2,
            f"the event loop froze for {max_lag * 1000:.0f} ms: something waited for the pool's results in the loop's thread (future.result() or pool.map block). Await loop.run_in_executor(pool, ...) instead",
        )
        expect(peak >= 2, "the pool was given one job at a time, so only one process worked: create all the run_in_executor futures first, then await them together with asyncio.gather")
        return f"{len(ns)} results in order, all computed in the process pool, submitted together; worst loop lag {max_lag * 1000:.0f} ms"

    return await run_check("8.2", attempt, verify, timeout=CALL_TIMEOUT + 4 * UNIT * sum(FACTORS) + 10)
