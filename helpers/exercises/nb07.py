"""Checkers for notebook 07 (timeouts)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.exercises.sandbox import RESPONSE_HINT, Run, is_response, not_finished, raise_error, run_learner
from helpers.lab import Lab
from helpers.timing import LoopLagMonitor


# Exercise 7.1: one request, one deadline; four calls with values the learner cannot predict
SLOW, TRICKLE_LINES, TRICKLE_INTERVAL = 1.5, 20, 0.1  # the trickle sends a line every 0.1 s for 1.9 s
CALL_TIMEOUT = 4.0  # s per call: longer than any of the requests takes without a deadline
MAX_LAG = 0.6  # s; a sync client on the trickling response freezes the loop for 1.9 s; a busy machine stalls it < 0.5 s
# Exercise 7.2: one deadline for a whole group; every delay is far from the deadline
DELAYS = (0.1, 0.9, 0.15, 1.2, 0.1, 0.8)
DEADLINE = 0.5
SLACK = 0.35  # how late after the deadline an answer may return on a busy machine
# Exercise 7.1's draws: the patient body takes longer than tight + SLACK (<= 0.65 s) by 0.1 s or
# more, so a hard-coded deadline either gives up on it or answers the tight call too late, every draw
QUICK_7_1 = (0.05, 0.12)
TIGHT_7_1 = (0.2, 0.3)
PATIENT_7_1 = (0.75, 0.85)
NOT_CANCELLED = (
    "{n} task(s) were still running after fetch_or_none returned None: the request was abandoned, not "
    "cancelled (asyncio.wait(..., timeout=...) and wait_for(shield(...)) stop waiting but leave the work "
    "running). Put the await inside `async with asyncio.timeout(seconds):`, which cancels it"
)


async def _call_7_1(fetch_or_none: Callable, client: httpx.AsyncClient, url: str, seconds: float) -> tuple[object, float, Run]:
    """One call under a loop-lag monitor: (value, elapsed, run). A frozen loop or an escaping timeout is Wrong."""
    async with LoopLagMonitor() as lag:
        started = time.perf_counter()
        run = await run_learner(lambda: fetch_or_none(client, url, seconds), CALL_TIMEOUT)
        elapsed = time.perf_counter() - started
    if not run.finished:
        raise not_finished("fetch_or_none", CALL_TIMEOUT, run, f"The deadline was {seconds:g} s: wrap the request in `async with asyncio.timeout(seconds):`")
    expect(
        lag.max_lag < MAX_LAG,
        f"the event loop froze for {lag.max_lag * 1000:.0f} ms: a blocking call (a sync HTTP client, time.sleep) in a coroutine stops everything else and no asyncio timeout can interrupt it. Use `await client.get(url)`",
    )
    if isinstance(run.error, TimeoutError):
        raise Wrong("fetch_or_none let TimeoutError escape: catch it (`except TimeoutError:`) around the `async with asyncio.timeout(...)` block and return None")
    if isinstance(run.error, httpx.TimeoutException):
        raise Wrong(f"fetch_or_none let httpx.{type(run.error).__name__} escape; this is httpx's own timeout, not TimeoutError: catch it too, or use asyncio.timeout")
    return run.value, elapsed, run


def _expect_body(value: object, url: str, seconds: float, delay: float, key: str) -> None:
    expect(not is_response(value), RESPONSE_HINT)
    expect(value is not None, f"a /delay/{delay:g} request with a {seconds:g} s deadline returned None: it finishes in time, so return its response.json(). Is the deadline `seconds`, the argument?")
    expect(
        isinstance(value, dict) and value.get("key") == key and value.get("delay") == delay,
        f"for {url.split('/', 3)[-1]} expected that response's JSON body (with 'key': {key!r}), got {value!r:.80}; the check passes new URLs every time",
    )


def _expect_gave_up(value: object, elapsed: float, run: Run, what: str, seconds: float) -> None:
    if value is not None:
        kind = "a Response" if is_response(value) else type(value).__name__
        raise Wrong(f"{what} with a {seconds:g} s deadline returned {kind} after {elapsed:.2f} s; it should give up at the deadline and return None. Wrap the request in `async with asyncio.timeout(seconds):`, and never catch CancelledError inside it")
    expect(elapsed < seconds + SLACK, f"{what} returned None, but only after {elapsed:.2f} s; the deadline was {seconds:g} s. The timeout must wrap the awaited request itself")
    expect(not run.left_running, NOT_CANCELLED.format(n=len(run.left_running)))


async def check_7_1(fetch_or_none: Callable[[httpx.AsyncClient, str, float], Awaitable[dict | None]], lab: Lab) -> Result:
    """fetch_or_none(client, url, seconds) returns the JSON body, or None if it takes longer than `seconds`."""
    token = uuid.uuid4().hex[:6]
    quick = round(random.uniform(*QUICK_7_1), 3)
    tight = round(random.uniform(*TIGHT_7_1), 2)
    patient = round(random.uniform(*PATIENT_7_1), 2)

    async def attempt() -> str:
        if is_stub(fetch_or_none):
            raise NotAttempted
        async with httpx.AsyncClient() as client:
            url = lab.url(f"/delay/{quick}?key={token}-a")
            value, _, run = await _call_7_1(fetch_or_none, client, url, 2.0)
            raise_error(run)
            _expect_body(value, url, 2.0, quick, f"{token}-a")

            url = lab.url(f"/delay/{SLOW}?key={token}-b")
            value, elapsed, run = await _call_7_1(fetch_or_none, client, url, tight)
            raise_error(run)
            _expect_gave_up(value, elapsed, run, f"/delay/{SLOW}", tight)

            url = lab.url(f"/stream/{TRICKLE_LINES}?interval={TRICKLE_INTERVAL}")
            value, elapsed, run = await _call_7_1(fetch_or_none, client, url, tight)
            if elapsed >= tight + SLACK:
                raise Wrong(
                    f"a response that trickles in a line every {TRICKLE_INTERVAL:g} s ran for {elapsed:.2f} s despite a {tight:g} s deadline: "
                    "httpx's timeout= limits each wait for data, not the total. Use `async with asyncio.timeout(seconds):`"
                )
            raise_error(run)
            _expect_gave_up(value, elapsed, run, "a slowly streamed response", tight)

            url = lab.url(f"/delay/{patient}?key={token}-c")
            value, _, run = await _call_7_1(fetch_or_none, client, url, patient + 1.0)
            raise_error(run)
            _expect_body(value, url, patient + 1.0, patient, f"{token}-c")
            expect(not run.left_running, f"{len(run.left_running)} task(s) you started were still running after fetch_or_none returned: await what you start")
        return f"two requests returned their JSON, a slow and a trickling one gave up at {tight:g} s and returned None, nothing left running"

    return await run_check("7.1", attempt, str, timeout=4 * CALL_TIMEOUT + 5)


def plan_7_2(rng: random.Random) -> list[float]:
    """DELAYS in a new order every time (nothing to hard-code), with a late URL first: an answer
    that lists the bodies as they arrive (then pads with None) puts a body where None belongs."""
    while True:
        delays = rng.sample(DELAYS, len(DELAYS))
        if delays[0] > DEADLINE:
            return delays


async def check_7_2(fetch_within: Callable[[httpx.AsyncClient, list[str], float], Awaitable[list]], lab: Lab) -> Result:
    """fetch_within(client, urls, deadline): all requests at once, one deadline, None for the ones that missed it."""
    token = uuid.uuid4().hex[:6]
    delays = plan_7_2(random.Random())
    urls = [lab.url(f"/delay/{d}?key={token}-{i}") for i, d in enumerate(delays)]
    on_time = [d < DEADLINE for d in delays]

    async def attempt() -> tuple[object, float, Run]:
        if is_stub(fetch_within):
            raise NotAttempted
        async with httpx.AsyncClient() as client:
            await asyncio.gather(*(client.get(lab.url("/uuid")) for _ in urls))  # connect first: the deadline is for the requests
            lab.reset_gauge()
            started = time.perf_counter()
            run = await run_learner(lambda: fetch_within(client, list(urls), DEADLINE), CALL_TIMEOUT)
            elapsed = time.perf_counter() - started
        if not run.finished:
            raise not_finished("fetch_within", CALL_TIMEOUT, run, f"The group had a {DEADLINE:g} s deadline: put ONE `async with asyncio.timeout(deadline):` around a TaskGroup")
        if isinstance(run.error, TimeoutError):
            raise Wrong("fetch_within let TimeoutError escape and lost every result: catch it around the whole group, then return the list with None where a request missed the deadline")
        if isinstance(run.error, ExceptionGroup) and run.error.subgroup(TimeoutError) is not None:
            raise Wrong("a TimeoutError escaped inside an ExceptionGroup: put ONE `async with asyncio.timeout(...)` around the TaskGroup, and catch TimeoutError outside it")
        raise_error(run)
        return run.value, elapsed, run

    def verify(outcome: tuple[object, float, Run]) -> str:
        results, elapsed, run = outcome
        leftover = run.left_running
        expect(results is not None, "fetch_within returned None: did you forget `return results`?")
        expect(isinstance(results, list), f"return a list (one entry per URL), got {type(results).__name__}")
        expect(len(results) == len(urls), f"expected {len(urls)} entries, one per URL in input order, got {len(results)}")
        for i, (delay, fits, got) in enumerate(zip(delays, on_time, results)):
            if is_response(got):
                raise Wrong(RESPONSE_HINT)
            if fits:
                expect(
                    isinstance(got, dict) and got.get("key") == f"{token}-{i}",
                    f"/delay/{delay} finishes well before the {DEADLINE} s deadline, so its entry should be its JSON body, got {got!r:.80}; are results stored at the URL's own index?",
                )
            else:
                expect(got is None, f"/delay/{delay} cannot finish within {DEADLINE} s, so its entry should be None, got {got!r:.80}; are results stored at the URL's own index?")
        expect(elapsed < DEADLINE + SLACK, f"fetch_within took {elapsed:.2f} s, but the whole group had a {DEADLINE} s deadline: start every request at once and put ONE asyncio.timeout around all of them")
        peak = lab.gauge().peak
        expect(peak >= len(urls), f"the server saw at most {peak} request(s) at once: start all {len(urls)} together (TaskGroup or gather) inside the deadline")
        expect(
            not run.cancel_pending,
            f"{run.cancel_pending} task(s) had been cancelled but were still running when fetch_within returned: await them after cancel() (asyncio.timeout around a TaskGroup does both for you)",
        )
        expect(not leftover, f"{len(leftover)} task(s) were still running after fetch_within returned: cancel the requests that missed the deadline (asyncio.timeout around a TaskGroup does it for you)")
        done = sum(on_time)
        return f"{done} on time, {len(urls) - done} cut off at the deadline, returned after {elapsed:.2f} s, nothing left running"

    return await run_check("7.2", attempt, verify, timeout=CALL_TIMEOUT + 5)
