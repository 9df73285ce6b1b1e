"""Checkers for notebook 05 (semaphores: limit concurrency).

5.1 is judged on what the server saw, over two calls with limits and URLs the
learner cannot predict.  In each group of `limit` URLs (in input order) one
request is slow and the others fast, so:
- completion order differs from input order (as_completed / append-as-done fail);
- batching (gather `limit` at a time) leaves slots idle while the slow request
  of each batch finishes, which the server's in-flight series shows;
- a hard-coded limit fails one of the two calls.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.exercises.sandbox import RESPONSE_HINT, is_response, not_finished, raise_error, run_learner
from helpers.lab import GaugeReading, Lab
from helpers.timing import LoopLagMonitor

SLOW_5_1, FAST_5_1 = 0.4, 0.05  # seconds; one slow request per group of `limit`
GROUPS_5_1 = 3  # each call fetches GROUPS_5_1 * limit URLs
IDLE_5_1 = 0.25  # s with >= 2 free slots while URLs wait: batching idles ~0.7 s, a semaphore ~0
MAX_LAG_5_1 = 0.8  # s; a sync client fetching the URLs freezes the loop for 1.5 s or more; a busy machine stalls it < 0.5 s
# 5.2 cannot judge by the worst stall alone: one time.sleep(reset) lasts at most one window
# (0.3 s, fixed by the notebook's text), too close to what a loaded machine can cause.  But a
# blocking answer sleeps once per refusal: a sequential one twice (~0.28 s each, at requests 5
# and 9), a gathered one eight times in a row (one stall of >= 2 s), and time.sleep(Retry-After)
# one whole second.  So: blocked if ONE stall reaches LONG_STALL_5_2, or TWO reach STALL_5_2.  A
# right answer fails only if a loaded machine stalls it twice for >= 0.15 s within ~1 s, or once
# for 0.5 s (the old rule failed it on one 0.2 s stall).
STALL_5_2 = 0.15  # s; a sequential blocking answer stalls twice for ~0.28 s
LONG_STALL_5_2 = 0.5  # s; a gathered one stalls >= 2 s at once, time.sleep(Retry-After) 1 s
CALL_TIMEOUT_5_1 = 5.0  # s per call; one at a time would need about 1.5-2.5 s

N_5_2 = 12
RATE_5_2 = 4  # requests allowed per window by the server
WINDOW_5_2 = 0.3  # seconds
MAX_REFUSALS_5_2 = 3 * N_5_2  # honouring the reset time costs about one refusal per request; a tight retry loop costs hundreds
TIMEOUT_5_2 = 15.0  # s; honouring whole-second Retry-After headers takes about 4 s


def blocked_5_2(lags: list[float]) -> bool:
    """Did something block the loop? One stall >= LONG_STALL_5_2 or two >= STALL_5_2 (see above)."""
    return max(lags, default=0.0) >= LONG_STALL_5_2 or sum(x >= STALL_5_2 for x in lags) >= 2


def _idle_seconds(reading: GaugeReading, limit: int, total: int) -> float:
    """Seconds during which >= 2 of `limit` slots were free although URLs were still unstarted."""
    events = sorted([(s["start"], 1) for s in reading.spans] + [(s["end"], -1) for s in reading.spans if s["end"] is not None])
    idle, level, started, last = 0.0, 0, 0, None
    for t, delta in events:
        if last is not None and level <= limit - 2 and 0 < started < total:
            idle += t - last
        level += delta
        started += delta == 1
        last = t
    return idle


async def _one_call_5_1(fetch_limited: Callable, lab: Lab, limit: int) -> str:
    """Run one call with `limit`; raise Wrong with a specific sentence, or return a summary."""
    token = uuid.uuid4().hex[:6]
    n = GROUPS_5_1 * limit
    delays = [SLOW_5_1 if i % limit == 0 else FAST_5_1 for i in range(n)]
    urls = [lab.url(f"/delay/{d}?key=ex51-{token}-{i}") for i, d in enumerate(delays)]
    expected = [f"ex51-{token}-{i}" for i in range(n)]
    # a client that would not cap anything by itself: the limit must come from the learner's code
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=None), timeout=10) as client:
        await client.get(lab.url("/uuid"))
        lab.reset_gauge()
        async with LoopLagMonitor() as lag:
            run = await run_learner(lambda: fetch_limited(client, list(urls), limit), CALL_TIMEOUT_5_1)
    if not run.finished:
        raise not_finished("fetch_limited", CALL_TIMEOUT_5_1, run, "Is something awaited that never finishes (a semaphore acquired and never released)?")
    raise_error(run)
    results = run.value
    expect(results is not None, "fetch_limited returned None: did you forget `return`?")
    expect(isinstance(results, list), f"return a list of JSON bodies (dicts), got {type(results).__name__}")
    expect(len(results) == n, f"with {n} URLs expected {n} results (one per URL), got {len(results)}")
    expect(not any(is_response(r) for r in results), RESPONSE_HINT)
    expect(all(isinstance(r, dict) for r in results), f"each result should be the response's JSON body, a dict, got {type(results[0]).__name__}: use response.json()")
    keys = [r.get("key") for r in results]
    expect(
        sorted(map(str, keys)) == sorted(expected),
        "the bodies are not the answers to the URLs you were given: fetch each URL of `urls` (the check passes new ones every time)",
    )
    expect(
        keys == expected,
        "results are not in the order of `urls`: you collected them as they finished. gather returns results in input order; as_completed and appending when done do not",
    )
    reading = lab.gauge()
    seen = Counter(s["path"] for s in reading.spans if s["path"].startswith("/delay/"))
    expect(sum(seen.values()) == n, f"the server got {sum(seen.values())} requests for {n} URLs: fetch every URL exactly once")
    expect(lag.max_lag < MAX_LAG_5_1, f"the event loop froze for {lag.max_lag * 1000:.0f} ms: a blocking call (time.sleep, a sync HTTP client) in a coroutine stops every other request. Use `await client.get(url)` and `await asyncio.sleep`")
    peak = reading.peak
    if peak > limit:
        raise Wrong(
            f"with limit={limit} the server saw {peak} requests at once: create ONE asyncio.Semaphore(limit) from the "
            "`limit` argument (the check uses a different limit each time), shared by all the tasks (a new one per "
            "request limits nothing), and do the request inside `async with sem:`"
        )
    if peak == 1:
        raise Wrong(f"the server never saw more than 1 request at once (limit={limit}), so the requests ran one after another: start all the tasks together (gather) and let the semaphore hold back all but `limit`")
    if peak < limit:
        raise Wrong(f"the server never saw more than {peak} requests at once, but limit={limit} allows {limit}: create the semaphore with exactly `limit` units, asyncio.Semaphore(limit) (the check uses a different limit each time)")
    idle = _idle_seconds(reading, limit, n)
    if idle > IDLE_5_1:
        raise Wrong(f"with limit={limit}, slots stood empty for {idle:.2f} s while URLs were still waiting: you ran the URLs in batches and waited for each batch's slowest request. Start all of them together (gather) and let ONE Semaphore(limit) start the next request as soon as any one finishes")
    return f"limit={limit}: {n} bodies in input order, at most {peak} at once, no idle slot"


async def check_5_1(fetch_limited: Callable[[httpx.AsyncClient, list[str], int], Awaitable[list[dict]]], lab: Lab) -> Result:
    """fetch_limited(client, urls, limit) must keep exactly `limit` requests in flight and return the JSON bodies in input order."""
    first = random.choice((3, 4))
    limits = (first, first + 2)

    async def attempt() -> list[str]:
        if is_stub(fetch_limited):
            raise NotAttempted
        return [await _one_call_5_1(fetch_limited, lab, limit) for limit in limits]

    def verify(summaries: list[str]) -> str:  # the same sentence every time: solutions are regression-tested
        return (
            "both calls (different limits, new URLs) returned the bodies in input order, and the server saw "
            "exactly `limit` requests at once for as long as URLs were waiting"
        )

    return await run_check("5.1", attempt, verify, timeout=2 * CALL_TIMEOUT_5_1 + 5)


async def check_5_2(get_all_politely: Callable[[httpx.AsyncClient, list[str]], Awaitable[list[dict]]], lab: Lab) -> Result:
    """get_all_politely(client, urls) must end with a 200 body for every URL of a rate-limited endpoint, without hammering it."""
    key = f"ex52-{uuid.uuid4().hex[:8]}"
    path = f"/limited/{key}"
    urls = [lab.url(f"{path}?limit={RATE_5_2}&window={WINDOW_5_2}")] * N_5_2

    async def attempt() -> list[dict]:
        if is_stub(get_all_politely):
            raise NotAttempted
        async with httpx.AsyncClient(timeout=10) as client:
            lab.reset_gauge()
            async with LoopLagMonitor() as lag:
                run = await run_learner(lambda: get_all_politely(client, list(urls)), TIMEOUT_5_2)
        if not run.finished:
            raise not_finished("get_all_politely", TIMEOUT_5_2, run, "Do your retries stop once a request succeeds, and does each wait only as long as the server asks?")
        raise_error(run)
        lags = [sample.lag for sample in lag.samples]
        expect(
            not blocked_5_2(lags),
            f"the event loop froze {sum(x >= STALL_5_2 for x in lags)} time(s) (worst {lag.max_lag * 1000:.0f} ms): time.sleep() (or a sync client) blocks every other task. Wait with `await asyncio.sleep(seconds)`",
        )
        return run.value

    def verify(results: object) -> str:
        expect(results is not None, "get_all_politely returned None: did you forget `return`?")
        expect(isinstance(results, list), f"return a list of JSON bodies (dicts), got {type(results).__name__}")
        expect(len(results) == N_5_2, f"expected {N_5_2} results (one per URL), got {len(results)}")
        expect(not any(is_response(r) for r in results), RESPONSE_HINT)
        expect(all(isinstance(r, dict) for r in results), "each result should be the response's JSON body, a dict: use response.json()")
        spans = [s for s in lab.gauge().spans if s["path"].startswith(path)]
        refused = sum(1 for s in spans if s["status"] == 429)
        expect(
            refused <= MAX_REFUSALS_5_2,
            f"the server refused {refused} requests with 429: you retried without waiting. Sleep for the X-RateLimit-Reset-After (or Retry-After) header's seconds before trying again, or pace the requests with a rate limiter",
        )
        errors = [r for r in results if "error" in r or "count" not in r]
        if errors:
            raise Wrong(
                f"{len(errors)} of your {N_5_2} results are 429 refusals ({errors[0].get('error', errors[0])!r}): a semaphore limits how many run at once, not how many start per second. Retry after the reset time, or pace the requests"
            )
        expect(all(r.get("key") == key for r in results), "the results do not come from the URLs you were given")
        expect(all(1 <= r["count"] <= RATE_5_2 for r in results), f"the server counts at most {RATE_5_2} requests per window; these bodies look wrong")
        return f"all {N_5_2} requests succeeded, and the server was not hammered (at most {MAX_REFUSALS_5_2} refusals allowed)"

    return await run_check("5.2", attempt, verify, timeout=TIMEOUT_5_2 + 5)
