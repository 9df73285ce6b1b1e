"""Checkers for notebook 07 (timeouts)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.lab import Lab


# Exercise 7.1: one request, one deadline
FAST, SLOW, SECONDS = 0.1, 1.5, 0.3
# Exercise 7.2: one deadline for a whole group; every delay is far from the deadline
DELAYS = (0.1, 0.9, 0.2, 1.2, 0.15, 0.7)
DEADLINE = 0.4
SLACK = 0.35  # how late after the deadline an answer may return on a busy machine


async def check_7_1(fetch_or_none: Callable[[httpx.AsyncClient, str, float], Awaitable[dict | None]], lab: Lab) -> Result:
    """fetch_or_none(client, url, seconds) returns the JSON body, or None if it takes longer than `seconds`."""

    async def call(client: httpx.AsyncClient, url: str, seconds: float) -> tuple[object, float]:
        started = time.perf_counter()
        try:
            value = await fetch_or_none(client, url, seconds)
        except TimeoutError:
            raise Wrong("fetch_or_none let TimeoutError escape: catch it (`except TimeoutError:`) around the `async with asyncio.timeout(...)` block and return None") from None
        except httpx.TimeoutException as exc:
            raise Wrong(f"fetch_or_none let httpx.{type(exc).__name__} escape; this is httpx's own timeout, not TimeoutError: catch it too, or use asyncio.timeout") from None
        return value, time.perf_counter() - started

    async def attempt() -> tuple[object, float, object, float]:
        if is_stub(fetch_or_none):
            raise NotAttempted
        async with httpx.AsyncClient() as client:
            fast, fast_s = await call(client, lab.url(f"/delay/{FAST}"), 2.0)
            slow, slow_s = await call(client, lab.url(f"/delay/{SLOW}"), SECONDS)
        return fast, fast_s, slow, slow_s

    def verify(outcome: tuple[object, float, object, float]) -> str:
        fast, _, slow, slow_s = outcome
        expect(fast is not None, f"a /delay/{FAST} request with a 2 s deadline returned None: it should finish in time and return response.json()")
        if isinstance(fast, httpx.Response):
            raise Wrong("return the JSON body (response.json()), not the Response object")
        expect(isinstance(fast, dict) and fast.get("delay") == FAST, f"for /delay/{FAST} expected its JSON body (a dict with 'delay': {FAST}), got {fast!r:.80}")
        if slow is not None:
            raise Wrong(f"/delay/{SLOW} with a {SECONDS} s deadline returned {type(slow).__name__} after {slow_s:.2f} s; it should give up at the deadline and return None. Wrap the request in `async with asyncio.timeout(seconds):`")
        expect(slow_s < SECONDS + SLACK, f"returned None, but only after {slow_s:.2f} s; the deadline was {SECONDS} s. The timeout must wrap the awaited request itself")
        return f"the fast request returned its JSON, the slow one gave up after {slow_s:.2f} s and returned None"

    return await run_check("7.1", attempt, verify)


async def check_7_2(fetch_within: Callable[[httpx.AsyncClient, list[str], float], Awaitable[list]], lab: Lab) -> Result:
    """fetch_within(client, urls, deadline): all requests at once, one deadline, None for the ones that missed it."""
    urls = [lab.url(f"/delay/{d}") for d in DELAYS]
    on_time = [d < DEADLINE for d in DELAYS]

    async def attempt() -> tuple[object, float, list[asyncio.Task]]:
        if is_stub(fetch_within):
            raise NotAttempted
        before = asyncio.all_tasks()
        lab.reset_gauge()
        async with httpx.AsyncClient() as client:
            started = time.perf_counter()
            try:
                results = await fetch_within(client, urls, DEADLINE)
            except TimeoutError:
                raise Wrong("fetch_within let TimeoutError escape and lost every result: catch it around the whole group, then return the list with None where a request missed the deadline") from None
            except ExceptionGroup as group:
                if group.subgroup(TimeoutError) is None:
                    raise
                raise Wrong("a TimeoutError escaped inside an ExceptionGroup: put ONE `async with asyncio.timeout(...)` around the TaskGroup, and catch TimeoutError outside it") from None
            elapsed = time.perf_counter() - started
            leftover = [t for t in asyncio.all_tasks() - before if not t.done()]
            for task in leftover:  # tidy up before the client closes under them
                task.cancel()
            await asyncio.gather(*leftover, return_exceptions=True)
        return results, elapsed, leftover

    def verify(outcome: tuple[object, float, list]) -> str:
        results, elapsed, leftover = outcome
        expect(results is not None, "fetch_within returned None: did you forget `return results`?")
        expect(isinstance(results, list), f"return a list (one entry per URL), got {type(results).__name__}")
        expect(len(results) == len(urls), f"expected {len(urls)} entries, one per URL in input order, got {len(results)}")
        for delay, fits, got in zip(DELAYS, on_time, results):
            if isinstance(got, httpx.Response):
                raise Wrong("put the JSON body (response.json()) in the list, not the Response object")
            if fits:
                expect(isinstance(got, dict) and got.get("delay") == delay, f"/delay/{delay} finishes well before the {DEADLINE} s deadline, so its entry should be its JSON body, got {got!r:.80}; are results stored at the URL's own index?")
            else:
                expect(got is None, f"/delay/{delay} cannot finish within {DEADLINE} s, so its entry should be None, got {got!r:.80}")
        expect(elapsed < DEADLINE + SLACK, f"fetch_within took {elapsed:.2f} s, but the whole group had a {DEADLINE} s deadline: start every request at once and put ONE asyncio.timeout around all of them")
        peak = lab.gauge().peak
        expect(peak >= len(urls), f"the server saw at most {peak} request(s) at once: start all {len(urls)} together (TaskGroup or gather) inside the deadline")
        expect(not leftover, f"{len(leftover)} task(s) were still running after fetch_within returned: cancel the requests that missed the deadline (asyncio.timeout around a TaskGroup does it for you)")
        done = sum(on_time)
        return f"{done} on time, {len(urls) - done} cut off at the deadline, returned after {elapsed:.2f} s, nothing left running"

    return await run_check("7.2", attempt, verify)
