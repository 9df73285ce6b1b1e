"""Checkers for notebook 03 (gather and friends).

The checkers hand the learner's function an ``httpx.AsyncClient`` whose
transport is a :class:`RequestLog`: it forwards every request to the real
services and notes, per request, whether it is still running, finished,
failed or was cancelled.  That is how a checker can tell, the moment the
learner's function returns, whether requests were left running behind it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.exercises.common import (
    check_order,
    defuse,
    reject_awaitable,
    reject_response,
    short,
    late_first,
    shuffled_delays,
)
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
        self.finished_at: dict[str, float] = {}  # perf_counter() when each response was in
        self.in_flight = 0
        self.peak = 0
        self.by_kind: dict[str, int] = {}  # in flight now, per first path segment ("users", ...)
        self.peak_by_kind: dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.url.raw_path.decode()
        self.states[key] = "running"
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        kind = key.lstrip("/").split("/")[0].split("?")[0]
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        self.peak_by_kind[kind] = max(self.peak_by_kind.get(kind, 0), self.by_kind[kind])
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
            self.by_kind[kind] -= 1
        self.states[key] = "done"
        self.finished_at[key] = time.perf_counter()
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
            value = defuse(await fn(client, *args))
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


def show_url(item: object) -> str:
    """A URL as its path (short), anything else as a short repr: never raises."""
    if isinstance(item, (str, httpx.URL)):
        try:
            return path_of(str(item))
        except Exception:  # noqa: BLE001 - a malformed string is shown as it is
            return short(item, 60)
    return short(item, 60)


def status_error(error: BaseException | None, code: int) -> bool:
    """Is `error` the HTTPStatusError for `code`, alone or inside a TaskGroup's ExceptionGroup?"""
    def match(e: BaseException) -> bool:
        return isinstance(e, httpx.HTTPStatusError) and e.response.status_code == code

    if isinstance(error, BaseExceptionGroup):
        return error.subgroup(match) is not None
    return error is not None and match(error)


# --- Exercise 3.1: partial failure with return_exceptions=True ---------------------------

SETTLED_SIZES = (8, 5)  # two calls
SETTLED_RATE = 0.3
SETTLED_STEP = 0.06  # each URL has its own delay (0.06 ... 0.48 s, shuffled): finish order != input order


def settled_plan(rng: random.Random, size: int) -> tuple[str, list[int], list[float]]:
    """A seed nobody can predict with 2 to size-2 failures among `size` ids, and shuffled delays
    such that the successes AND the failures each finish in another order than they are listed
    (the first of each finishes 2 steps after the fastest of its group): an answer that collects
    either list as requests finish is caught on every draw, not on most."""
    while True:
        seed = f"c{rng.randrange(10**9)}"
        ids = rng.sample(range(1000), size)
        failing = [n for n in ids if fraction("unreliable", seed, n) < SETTLED_RATE]
        if not 2 <= len(failing) <= size - 2:
            continue
        delays = shuffled_delays(size, SETTLED_STEP, rng)
        bad = [d for n, d in zip(ids, delays) if n in failing]
        good = [d for n, d in zip(ids, delays) if n not in failing]
        if late_first(bad, 2 * SETTLED_STEP) and late_first(good, 2 * SETTLED_STEP):
            return seed, ids, delays


def _verify_settled(run: Run, urls: list[str], expected_ok: list, expected_failed: list[str]) -> None:
    value, error, log = run.value, run.error, run.log
    if isinstance(error, httpx.HTTPStatusError):
        raise Wrong(f"your function raised {describe(error)}. One failed request should not sink the "
                    "batch: pass return_exceptions=True to asyncio.gather so failures come back as "
                    "values")
    if error is not None:
        raise Wrong(f"your function raised {describe(error)}")
    expect(value is not None, "fetch_settled returned None: did you forget `return succeeded, failed`?")
    reject_awaitable(value, "fetch_settled")
    expect(isinstance(value, (tuple, list)) and len(value) == 2,
           f"return a pair (succeeded, failed), got {short(value)}")
    succeeded, failed = value
    expect(isinstance(succeeded, list) and isinstance(failed, list), "both parts of the pair should be lists")
    expect(not any(isinstance(x, BaseException) for x in succeeded),
           "`succeeded` contains exception objects: keep only the results that are not exceptions "
           "(isinstance(result, Exception))")
    reject_response(succeeded, "fetch_settled")
    expect(not any(isinstance(x, BaseException) for x in failed),
           "`failed` holds exception objects: it should hold the URLs whose request failed; pair "
           "each result with its URL, e.g. zip(urls, results)")
    expect(all(isinstance(x, (str, httpx.URL)) for x in failed),
           f"`failed` should hold the URLs (strings) whose request failed, got {short(failed)}")
    failed = [str(u) for u in failed]
    expect(len(succeeded) == len(expected_ok) and len(failed) == len(expected_failed),
           f"called with {len(urls)} URLs of which {len(expected_failed)} answer 500: expected "
           f"{len(expected_ok)} successes and {len(expected_failed)} failures, got {len(succeeded)} "
           f"and {len(failed)}; remember raise_for_status() so a 500 counts as a failure")
    got_failed = [show_url(u) for u in failed]
    want_failed = [show_url(u) for u in expected_failed]
    check_order(got_failed, want_failed, "failed URLs")
    expect(failed == expected_failed, f"the failed URLs should be {want_failed}, got {got_failed}; "
           "pair each result with its URL, e.g. zip(urls, results)")
    check_order(succeeded, expected_ok, "bodies")
    expect(succeeded == expected_ok, f"the successes should be the JSON bodies {short(expected_ok)} "
           f"in input order; got {short(succeeded)}")
    expect(log.peak >= len(urls), f"at most {log.peak} request(s) were in flight at once: start "
           "them all together with asyncio.gather")


async def check_3_1(
    fetch_settled: Callable[[httpx.AsyncClient, list[str]], Awaitable[tuple[list, list]]], lab: Lab
) -> Result:
    """fetch_settled(client, urls) -> (bodies of the successes, URLs that failed), both in input
    order, all at once.  Two calls, unpredictable failures, URLs that finish out of order."""
    rng = random.Random()
    cases = []
    for size in SETTLED_SIZES:
        seed, ids, delays = settled_plan(rng, size)
        urls = [lab.url(f"/unreliable/{n}?rate={SETTLED_RATE}&seed={seed}&delay={d}")
                for n, d in zip(ids, delays)]
        failing = {n for n in ids if fraction("unreliable", seed, n) < SETTLED_RATE}
        expected_ok = [{"n": n, "ok": True} for n in ids if n not in failing]
        expected_failed = [u for n, u in zip(ids, urls) if n in failing]
        cases.append((urls, expected_ok, expected_failed))

    async def attempt() -> list[Run]:
        if is_stub(fetch_settled):
            raise NotAttempted
        return [await run_with_log(fetch_settled, list(urls)) for urls, _, _ in cases]

    def verify(runs: list[Run]) -> str:
        for run, (urls, expected_ok, expected_failed) in zip(runs, cases):
            _verify_settled(run, urls, expected_ok, expected_failed)
        return (f"{len(runs)} batches sorted out, each from one gather with all requests at once: "
                "successes and failed URLs in input order although they finished in another order")

    return await run_check("3.1", attempt, verify)


# --- Exercise 3.2: first response wins, cancel the rest ---------------------------------

MIRROR_DELAYS = (0.1, 0.4, 0.6)  # the fastest is never first in the list


def mirror_plan(rng: random.Random) -> list[list[tuple[str, float]]]:
    """Two races with the fast mirror at a different (never the first) position, fresh keys."""
    races = []
    for fast_at in rng.sample([1, 2], 2):
        slow = list(MIRROR_DELAYS[1:])
        rng.shuffle(slow)
        delays = slow[:fast_at] + [MIRROR_DELAYS[0]] + slow[fast_at:]
        races.append([(f"m{rng.randrange(10**6)}-{i}", d) for i, d in enumerate(delays)])
    return races


def _verify_race(run: Run, race: list[tuple[str, float]], urls: list[str]) -> None:
    value, error, elapsed = run.value, run.error, run.elapsed
    fast_key = next(key for key, d in race if d == MIRROR_DELAYS[0])
    slow_paths = [path_of(u) for u, (_, d) in zip(urls, race) if d != MIRROR_DELAYS[0]]
    if error is not None:
        raise Wrong(f"your function raised {describe(error)}")
    expect(value is not None, "fastest returned None: return the JSON body of the winning response "
           "(e.g. task.result())")
    reject_awaitable(value, "fastest")
    reject_response(value, "fastest")
    expect(isinstance(value, dict) and "key" in value,
           f"return the JSON body of the first response (a dict), got {short(value)}")
    expect(value["key"] == fast_key, f"the first response to arrive is the {MIRROR_DELAYS[0]} s "
           f"mirror (position {[k for k, _ in race].index(fast_key) + 1} in `urls`), you returned "
           f"the one with key {value['key']!r}; use asyncio.wait(..., "
           "return_when=asyncio.FIRST_COMPLETED) or asyncio.as_completed")
    expect(run.log.peak >= len(urls), f"only {run.log.peak} request(s) ran at once: start all "
           "mirrors together (create a task for each)")
    still = run.still_running(slow_paths)
    expect(not still, f"{len(still)} request(s) were still running when fastest() returned "
           f"({', '.join(still)}): {run.advice_for_running(still)}")
    finished = [k for k in slow_paths if run.at_return.get(k) == "done"]
    expect(not finished, f"the slower mirrors ran to the end ({', '.join(finished)}) and the call "
           f"took {elapsed:.2f} s: you waited for all of them. Return as soon as the first one is "
           "done and cancel the others")


def _verify_failed_race(run: Run, urls: list[str]) -> None:
    slow_paths = [path_of(u) for u in urls if "/delay/" in u]
    if run.error is None:
        raise Wrong(f"the first response to arrive was a 503 error, and fastest() returned "
                    f"{short(run.value, 60)}: call raise_for_status() on each response, and when "
                    "the first to finish failed, cancel the others and let its error propagate")
    expect(status_error(run.error, 503), f"when the first response to arrive is a 503, fastest() "
           f"should raise its HTTPStatusError; it raised {describe(run.error)}")
    still = run.still_running(slow_paths)
    expect(not still, f"after the 503, {len(still)} request(s) were still running when fastest() "
           f"raised ({', '.join(still)}): cancel and await the others in a `finally:` block, so it "
           "happens whether you return or raise")
    finished = [k for k in slow_paths if run.at_return.get(k) == "done"]
    expect(not finished, f"after the 503 the slower mirrors ran to the end ({', '.join(finished)}): "
           "react to the first request that finishes, whether it succeeded or failed")


async def check_3_2(fastest: Callable[[httpx.AsyncClient, list[str]], Awaitable[dict]], lab: Lab) -> Result:
    """fastest(client, urls) -> the JSON of the first response; the others cancelled and finished
    before it returns.  Two races with the winner at different positions, then one where the
    first answer is a 503 (fastest must raise it, with the others cancelled and awaited)."""
    races = mirror_plan(random.Random())
    race_urls = [[lab.url(f"/delay/{d}?key={k}") for k, d in race] for race in races]
    failing = [lab.url("/delay/0.6?key=slow-a"), lab.url("/status/503"), lab.url("/delay/0.4?key=slow-b")]

    async def attempt() -> list[Run]:
        if is_stub(fastest):
            raise NotAttempted
        runs = [await run_with_log(fastest, list(urls)) for urls in race_urls]
        return runs + [await run_with_log(fastest, list(failing))]

    def verify(runs: list[Run]) -> str:
        for run, race, urls in zip(runs, races, race_urls):
            _verify_race(run, race, urls)
        _verify_failed_race(runs[-1], failing)
        return (f"the fast mirror won both races (in {runs[0].elapsed:.2f} s) with the slower "
                "requests cancelled and finished before you returned; a 503 first was raised, "
                "with the others stopped too")

    return await run_check("3.2", attempt, verify)


# --- Exercise 3.3: all or nothing --------------------------------------------------------

ALL_OK_DELAYS = (0.4, 0.1, 0.25)  # finish order b, c, a: not the input order
ONE_FAILS = ("/delay/0.6?key=slow", "/status/500", "/delay/0.5?key=slower")


def failing_paths(rng: random.Random) -> list[str]:
    """ONE_FAILS with the 500 at position 2 or 3, never first: an answer that awaits its tasks
    one by one in input order would otherwise meet the 500 first by luck (1 draw in 3)."""
    paths = [ONE_FAILS[0], ONE_FAILS[2]]
    paths.insert(rng.randrange(1, 3), ONE_FAILS[1])
    return paths


async def check_3_3(all_or_nothing: Callable[[httpx.AsyncClient, list[str]], Awaitable[list]], lab: Lab) -> Result:
    """all_or_nothing(client, urls): all JSON bodies in order, or the first error after cancelling
    (and awaiting) the rest.  The successful URLs finish out of order; the failing one sits at a
    random position after a slow URL, so only an answer that reacts to the first failure passes."""
    rng = random.Random()
    keys = [f"k{rng.randrange(10**6)}-{i}" for i in range(len(ALL_OK_DELAYS))]
    ok_urls = [lab.url(f"/delay/{d}?key={k}") for k, d in zip(keys, ALL_OK_DELAYS)]
    bad_paths = failing_paths(rng)
    bad_urls = [lab.url(p) for p in bad_paths]

    async def attempt() -> tuple[Run, Run]:
        if is_stub(all_or_nothing):
            raise NotAttempted
        good = await run_with_log(all_or_nothing, list(ok_urls))
        bad = await run_with_log(all_or_nothing, list(bad_urls))
        return good, bad

    def verify(runs: tuple[Run, Run]) -> str:
        good, bad = runs
        value, error, log = good.value, good.error, good.log
        if error is not None:
            raise Wrong(f"when every request succeeds your function raised {describe(error)}")
        expect(value is not None, "all_or_nothing returned None when all requests succeeded: "
               "return the list of JSON bodies")
        reject_awaitable(value, "all_or_nothing")
        expect(isinstance(value, list) and len(value) == len(ok_urls),
               f"return a list with one JSON body per URL, got {short(value)}")
        reject_response(value, "all_or_nothing")
        got = [body.get("key") if isinstance(body, dict) else body for body in value]
        check_order(got, keys, "bodies")
        expect(got == keys, f"the bodies should be the JSON of each URL in input order (keys "
               f"{keys}), got {short(got)}")
        expect(log.peak >= len(ok_urls), f"only {log.peak} request(s) ran at once: start them together")
        expect(bad.error is not None, f"one URL answers 500 but your function returned "
               f"{short(bad.value, 60)} instead of raising: call raise_for_status() and let the "
               "error propagate")
        expect(status_error(bad.error, 500),
               f"expected the HTTPStatusError for the 500 to propagate, got {describe(bad.error)}")
        running = bad.still_running()
        expect(not running, f"{len(running)} request(s) were still running after your function "
               f"raised ({', '.join(running)}): {bad.advice_for_running(running)}")
        finished = [k for k, v in bad.at_return.items() if v == "done" and k.startswith("/delay/")]
        expect(not finished, f"the slow requests ran to the end ({', '.join(finished)}) before your "
               f"function raised after {bad.elapsed:.2f} s: react to the first failure "
               "(asyncio.wait with FIRST_EXCEPTION), then cancel the rest")
        return (f"all {len(ok_urls)} bodies in input order although they finished in another order; "
                f"on the 500 you raised after {bad.elapsed:.2f} s with the 2 slow requests "
                "cancelled and nothing left running")

    return await run_check("3.3", attempt, verify)
