"""Checkers for notebook 05 (semaphores: limit concurrency)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.lab import Lab

LIMIT_5_1 = 4
N_5_1 = 12
DELAY_5_1 = 0.2

N_5_2 = 12
RATE_5_2 = 4  # requests allowed per window by the server
WINDOW_5_2 = 0.3  # seconds
MAX_REFUSALS_5_2 = 3 * N_5_2  # honouring the reset time costs about one refusal per request; a tight retry loop costs hundreds


async def check_5_1(fetch_limited: Callable[[httpx.AsyncClient, list[str], int], Awaitable[list[dict]]], lab: Lab) -> Result:
    """fetch_limited(client, urls, limit) must keep exactly `limit` requests in flight and return the JSON bodies in input order."""
    urls = [lab.url(f"/delay/{DELAY_5_1}?key=ex51-{i}") for i in range(N_5_1)]
    expected = [f"ex51-{i}" for i in range(N_5_1)]

    async def attempt() -> list[dict]:
        if is_stub(fetch_limited):
            raise NotAttempted
        # a client that would not cap anything by itself: the limit must come from the learner's code
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=None), timeout=10) as client:
            await client.get(lab.url("/uuid"))
            lab.reset_gauge()
            return await fetch_limited(client, urls, LIMIT_5_1)

    def verify(results: object) -> str:
        expect(results is not None, "fetch_limited returned None: did you forget `return`?")
        expect(isinstance(results, list), f"return a list of JSON bodies (dicts), got {type(results).__name__}")
        expect(len(results) == N_5_1, f"expected {N_5_1} results (one per URL), got {len(results)}")
        expect(all(isinstance(r, dict) for r in results), "each result should be the response's JSON body, a dict: use response.json()")
        keys = [r.get("key") for r in results]
        expect(keys == expected, f"results are not in the order of `urls` (got keys {keys}); gather returns results in input order, as_completed does not")
        reading = lab.gauge()
        peak = reading.peak
        expect(reading.count >= N_5_1, f"the server saw only {reading.count} requests; fetch every URL once")
        expect(
            peak <= LIMIT_5_1,
            f"the server saw {peak} requests at once, more than limit={LIMIT_5_1}: create ONE asyncio.Semaphore(limit) shared by all the tasks (a new one per request limits nothing), and do the request inside `async with sem:`",
        )
        expect(
            peak == LIMIT_5_1,
            f"the server never saw more than {peak} request(s) at once, so the work ran (partly) one after another: start all the tasks together (gather) and let the semaphore hold back all but {LIMIT_5_1}",
        )
        return f"{N_5_1} bodies in input order, and the server saw at most {peak} requests at once"

    return await run_check("5.1", attempt, verify)


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
            return await get_all_politely(client, urls)

    def verify(results: object) -> str:
        expect(results is not None, "get_all_politely returned None: did you forget `return`?")
        expect(isinstance(results, list), f"return a list of JSON bodies (dicts), got {type(results).__name__}")
        expect(len(results) == N_5_2, f"expected {N_5_2} results (one per URL), got {len(results)}")
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

    return await run_check("5.2", attempt, verify)
