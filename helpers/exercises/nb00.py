"""Checker for notebook 00's exercise.

fetch_names is called twice, with users the learner cannot predict and delays
chosen so that the requests finish in a different order than they start: an
answer that hard-codes names, ignores `urls` or collects results as they
finish cannot pass.  The server's gauge says what was really requested, and
how many requests were in flight at once.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.exercises.common import check_order, defuse, reject_awaitable, short, shuffled_delays
from helpers.lab import Lab
from helpers.services import data

SIZES = (4, 3)  # two calls, different lengths
STEP = 0.15  # seconds between the delays of one call: 0.15, 0.3, 0.45, 0.6 in shuffled order


def plan(rng: random.Random) -> list[list[tuple[int, float]]]:
    """(user id, delay) per URL, per call: different users each call, shuffled delays."""
    ids = rng.sample(range(1, len(data.users()) + 1), sum(SIZES))
    calls, start = [], 0
    for size in SIZES:
        calls.append(list(zip(ids[start : start + size], shuffled_delays(size, STEP, rng))))
        start += size
    return calls


def verify_call(names: object, urls: list[str], expected: list[str], seen: list[str], peak: int) -> None:
    expect(names is not None, "fetch_names returned None: did you forget `return`?")
    reject_awaitable(names, "fetch_names")
    expect(isinstance(names, list), f"return a list of names, got {type(names).__name__}")
    if any(isinstance(n, httpx.Response) for n in names):
        raise Wrong("your list holds Response objects: take response.json()['name'] for each")
    if any(isinstance(n, dict) for n in names):
        raise Wrong(f"your list holds whole JSON answers ({short(names[0], 60)}): return just the "
                    "'name' field of each, e.g. response.json()['name']")
    expect(len(names) == len(urls), f"called with {len(urls)} URLs, fetch_names returned "
           f"{len(names)} names: return one name per URL in `urls`")
    missing = [u for u in urls if httpx.URL(u).raw_path.decode() not in seen]
    expect(not missing, f"the server never saw a request for {short(missing, 80)}: fetch the URLs "
           "passed in `urls` (the check uses different users each time)")
    check_order(names, expected, "names")
    expect(names == expected, f"expected {expected}, got {short(names)}: take the 'name' field of "
           "each URL's JSON answer")
    expect(peak >= len(urls), f"the server saw at most {peak} request(s) at once: the requests ran "
           "one after another. Start them together with asyncio.gather")


async def check_0_1(
    fetch_names: Callable[[httpx.AsyncClient, list[str]], Awaitable[list[str]]], lab: Lab
) -> Result:
    """fetch_names(client, urls) must fetch all URLs at once and return the names in input order."""
    calls = plan(random.Random())
    users = data.users()

    async def attempt() -> list[tuple[object, list[str], list[str], list[str], int]]:
        if is_stub(fetch_names):
            raise NotAttempted
        runs = []
        async with httpx.AsyncClient(timeout=10) as client:
            for call in calls:
                urls = [lab.url(f"/users/{i}?delay={d}") for i, d in call]
                expected = [users[i - 1]["name"] for i, _ in call]
                lab.reset_gauge()
                names = defuse(await fetch_names(client, list(urls)))
                gauge = lab.gauge()
                runs.append((names, urls, expected, [s["path"] for s in gauge.spans], gauge.peak))
        return runs

    def verify(runs: list[tuple[object, list[str], list[str], list[str], int]]) -> str:
        for names, urls, expected, seen, peak in runs:
            verify_call(names, urls, expected, seen, peak)
        return (f"{len(runs)} calls with different users: names in input order although the "
                "answers arrived in another order, and the server saw each call's requests at once")

    return await run_check("0.1", attempt, verify)
