"""Checkers for notebook 03 (gather and friends).

The checkers hand the learner's function an ``httpx.AsyncClient`` whose
transport is a :class:`RequestLog`: it forwards every request to the real
services and notes, per request, whether it is still running, finished,
failed or was cancelled.  That is how a checker can tell, the moment the
learner's function returns, whether requests were left running behind it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.lab import Lab
from helpers.services.api import fraction

SETTLE_TIMEOUT = 3.0  # seconds to let requests a wrong answer left running finish before the client closes


class RequestLog(httpx.AsyncBaseTransport):
    """A transport that forwards to the real one and records what happened to each request.

    ``states`` maps the request's path and query (e.g. ``/delay/0.5?key=a``) to
    "running", "done", "failed" or "cancelled".  ``peak`` is the most requests
    that were in flight at once on the client side.  ``delay`` adds a pause
    before each request is sent, to make overlap measurable for fast endpoints:
    a number of seconds, or a function of the path and query giving one.
    """

    def __init__(self, delay: float | Callable[[str], float] = 0.0) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.delay = delay
        self.states: dict[str, str] = {}
        self.in_flight = 0
        self.peak = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.url.raw_path.decode()
        self.states[key] = "running"
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            pause = self.delay(key) if callable(self.delay) else self.delay
            if pause:
                await asyncio.sleep(pause)
            response = await self._inner.handle_async_request(request)
        except asyncio.CancelledError:
            self.states[key] = "cancelled"
            raise
        except BaseException:
            self.states[key] = "failed"
            raise
        finally:
            self.in_flight -= 1
        self.states[key] = "done"
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()

    def with_state(self, state: str) -> list[str]:
        return [key for key, value in self.states.items() if value == state]

    async def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Wait (a little) until no request is running, so closing the client breaks nothing."""
        deadline = time.perf_counter() + timeout
        while self.in_flight and time.perf_counter() < deadline:
            await asyncio.sleep(0.02)


def path_of(url: str) -> str:
    """'/delay/0.5?key=a' from a full URL."""
    return httpx.URL(url).raw_path.decode()


@dataclass
class Run:
    """What happened when a checker called the learner's function on a logged client."""

    value: object  # what the function returned (None if it raised)
    error: BaseException | None  # what it raised, if anything
    elapsed: float  # seconds the call took
    log: RequestLog
    at_return: dict[str, str]  # each request's state the moment the function ended
    soon_after: dict[str, str]  # ... and 50 ms later (cancelled-but-not-awaited requests wind down by then)

    def still_running(self, paths: list[str] | None = None) -> list[str]:
        return [k for k, v in self.at_return.items() if v == "running" and (paths is None or k in paths)]

    def advice_for_running(self, running: list[str]) -> str:
        """Were they cancelled without being awaited, or never cancelled at all?"""
        if all(self.soon_after.get(k) == "cancelled" for k in running):
            return "you cancelled them but did not wait for them: await the cancelled tasks (e.g. asyncio.gather(*pending, return_exceptions=True)) before you return"
        return "nothing cancelled them (when one awaitable fails, a plain gather() leaves the others running). Cancel the remaining tasks, then await them (e.g. asyncio.gather(*pending, return_exceptions=True))"


async def run_with_log(fn: Callable[..., Awaitable], *args, delay: float | Callable[[str], float] = 0.0, **client_kwargs) -> Run:
    """Call fn(client, *args) on a client whose transport is a RequestLog, and report."""
    log = RequestLog(delay=delay)
    async with httpx.AsyncClient(transport=log, timeout=10, **client_kwargs) as client:
        value: object = None
        error: BaseException | None = None
        started = time.perf_counter()
        try:
            value = await fn(client, *args)
        except (NotImplementedError, NotAttempted):
            raise
        except Exception as exc:  # the learner's function raised: the checker judges whether it should have
            error = exc
        elapsed = time.perf_counter() - started
        at_return = dict(log.states)
        await asyncio.sleep(0.05)
        soon_after = dict(log.states)
        await log.settle()
    return Run(value, error, elapsed, log, at_return, soon_after)


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}".split("\n")[0]


# --- Exercise 3.1: partial failure with return_exceptions=True ---------------------------

SETTLED_IDS = range(8)
SETTLED_RATE = 0.25
SETTLED_SEED = "7"
SETTLED_DELAY = 0.2


def settled_urls(lab: Lab) -> list[str]:
    return [lab.url(f"/unreliable/{n}?rate={SETTLED_RATE}&seed={SETTLED_SEED}&delay={SETTLED_DELAY}") for n in SETTLED_IDS]


async def check_3_1(fetch_settled: Callable[[httpx.AsyncClient, list[str]], Awaitable[tuple[list, list]]], lab: Lab) -> Result:
    """fetch_settled(client, urls) -> (bodies of the successes, URLs that failed), both in input order, all at once."""
    urls = settled_urls(lab)
    failing = [n for n in SETTLED_IDS if fraction("unreliable", SETTLED_SEED, n) < SETTLED_RATE]
    expected_ok = [{"n": n, "ok": True} for n in SETTLED_IDS if n not in failing]
    expected_failed = [urls[n] for n in failing]

    async def attempt():
        if is_stub(fetch_settled):
            raise NotAttempted
        return await run_with_log(fetch_settled, urls)

    def verify(run: Run) -> str:
        value, error, log = run.value, run.error, run.log
        if isinstance(error, httpx.HTTPStatusError):
            raise Wrong(f"your function raised {describe(error)}. One failed request should not sink the batch: pass return_exceptions=True to asyncio.gather so failures come back as values")
        if error is not None:
            raise Wrong(f"your function raised {describe(error)}")
        expect(value is not None, "fetch_settled returned None: did you forget `return succeeded, failed`?")
        expect(isinstance(value, (tuple, list)) and len(value) == 2, f"return a pair (succeeded, failed), got {type(value).__name__}")
        succeeded, failed = value
        expect(isinstance(succeeded, list) and isinstance(failed, list), "both parts of the pair should be lists")
        expect(all(not isinstance(x, BaseException) for x in succeeded), "`succeeded` contains exception objects: keep only the results that are not exceptions (isinstance(result, Exception))")
        failed = [str(u) for u in failed]
        expect(len(succeeded) == len(expected_ok) and len(failed) == len(expected_failed), f"expected {len(expected_ok)} successes and {len(expected_failed)} failures, got {len(succeeded)} and {len(failed)}; remember raise_for_status() so a 500 counts as a failure")
        expect(failed == expected_failed, f"the failed URLs should be {[path_of(u) for u in expected_failed]} in input order, got {[path_of(u) for u in failed]}; pair each result with its URL, e.g. zip(urls, results)")
        expect(succeeded == expected_ok, f"the successes should be the JSON bodies {expected_ok}, in input order; got {succeeded}")
        expect(log.peak >= len(urls), f"at most {log.peak} request(s) were in flight at once: start them all together with asyncio.gather")
        return f"{len(succeeded)} results and {len(failed)} failures sorted out of one gather, all {len(urls)} requests at once"

    return await run_check("3.1", attempt, verify)


# --- Exercise 3.2: first response wins, cancel the rest ---------------------------------

MIRRORS = (("slow", 0.6), ("fast", 0.1), ("medium", 0.4))


def mirror_urls(lab: Lab) -> list[str]:
    return [lab.url(f"/delay/{seconds}?key={name}") for name, seconds in MIRRORS]


async def check_3_2(fastest: Callable[[httpx.AsyncClient, list[str]], Awaitable[dict]], lab: Lab) -> Result:
    """fastest(client, urls) -> the JSON of the first response; the others cancelled and finished before it returns."""
    urls = mirror_urls(lab)
    slow_paths = [path_of(u) for u, (name, _) in zip(urls, MIRRORS) if name != "fast"]

    async def attempt():
        if is_stub(fastest):
            raise NotAttempted
        return await run_with_log(fastest, urls)

    def verify(run: Run) -> str:
        value, error, elapsed, log, states = run.value, run.error, run.elapsed, run.log, run.at_return
        if error is not None:
            raise Wrong(f"your function raised {describe(error)}")
        expect(value is not None, "fastest returned None: return the JSON body of the winning response (e.g. task.result())")
        if isinstance(value, httpx.Response):
            value = value.json()
        expect(isinstance(value, dict) and "key" in value, f"return the JSON body of the first response (a dict), got {type(value).__name__}")
        expect(value["key"] == "fast", f"the first response to arrive is the 0.1 s mirror (key 'fast'), you returned key {value['key']!r}; use asyncio.wait(..., return_when=asyncio.FIRST_COMPLETED) or asyncio.as_completed")
        expect(log.peak >= len(urls), f"only {log.peak} request(s) ran at once: start all mirrors together (create a task for each)")
        still = run.still_running(slow_paths)
        expect(not still, f"{len(still)} request(s) were still running when fastest() returned ({', '.join(still)}): {run.advice_for_running(still)}")
        finished = [k for k in slow_paths if states.get(k) == "done"]
        expect(not finished, f"the slower mirrors ran to the end ({', '.join(finished)}) and the call took {elapsed:.2f} s: you waited for all of them. Return as soon as the first one is done and cancel the others")
        return f"the fast mirror won in {elapsed:.2f} s; the 2 slower requests were cancelled and finished before you returned"

    return await run_check("3.2", attempt, verify)


# --- Exercise 3.3: all or nothing --------------------------------------------------------

ALL_OK = ("/delay/0.2?key=a", "/delay/0.2?key=b", "/delay/0.2?key=c")
ONE_FAILS = ("/delay/0.6?key=slow", "/status/500", "/delay/0.5?key=slower")


async def check_3_3(all_or_nothing: Callable[[httpx.AsyncClient, list[str]], Awaitable[list]], lab: Lab) -> Result:
    """all_or_nothing(client, urls): all JSON bodies in order, or the first error after cancelling (and awaiting) the rest."""
    ok_urls = [lab.url(p) for p in ALL_OK]
    bad_urls = [lab.url(p) for p in ONE_FAILS]

    async def attempt():
        if is_stub(all_or_nothing):
            raise NotAttempted
        good = await run_with_log(all_or_nothing, ok_urls)
        bad = await run_with_log(all_or_nothing, bad_urls)
        return good, bad

    def http_500(error: BaseException | None) -> bool:
        if isinstance(error, httpx.HTTPStatusError):
            return error.response.status_code == 500
        if isinstance(error, BaseExceptionGroup):  # a TaskGroup answer raises a group around the 500
            return error.subgroup(lambda e: isinstance(e, httpx.HTTPStatusError) and e.response.status_code == 500) is not None
        return False

    def verify(runs: tuple[Run, Run]) -> str:
        good, bad = runs
        value, error, log = good.value, good.error, good.log
        bad_value, bad_error, bad_elapsed, states = bad.value, bad.error, bad.elapsed, bad.at_return
        if error is not None:
            raise Wrong(f"when every request succeeds your function raised {describe(error)}")
        expect(value is not None, "all_or_nothing returned None when all requests succeeded: return the list of JSON bodies")
        expect(isinstance(value, list) and len(value) == len(ok_urls), f"return a list with one JSON body per URL, got {value!r:.80}")
        keys = [body.get("key") if isinstance(body, dict) else body for body in value]
        expect(keys == ["a", "b", "c"], f"the bodies should come back in input order (keys a, b, c), got keys {keys}")
        expect(log.peak >= len(ok_urls), f"only {log.peak} request(s) ran at once: start them together")
        expect(bad_error is not None, f"one URL answers 500 but your function returned {bad_value!r:.80} instead of raising: call raise_for_status() and let the error propagate")
        expect(http_500(bad_error), f"expected the HTTPStatusError for the 500 to propagate, got {describe(bad_error)}")
        running = bad.still_running()
        expect(not running, f"{len(running)} request(s) were still running after your function raised ({', '.join(running)}): {bad.advice_for_running(running)}")
        finished = [k for k, v in states.items() if v == "done" and k.startswith("/delay/")]
        expect(not finished, f"the slow requests ran to the end ({', '.join(finished)}) before your function raised after {bad_elapsed:.2f} s: react to the first failure (asyncio.wait with FIRST_EXCEPTION), then cancel the rest")
        return f"all 3 bodies in order when everything works; on the 500 you raised after {bad_elapsed:.2f} s with the 2 slow requests cancelled and nothing left running"

    return await run_check("3.3", attempt, verify)
