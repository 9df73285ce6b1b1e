"""Checkers for notebook 01 (blocking vs non-blocking I/O)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, expect, is_stub, run_check
from helpers.lab import Lab
from helpers.services import data
from helpers.timing import LoopLagMonitor, Stopwatch

POST_IDS = (7, 23, 42, 11, 35)  # authors: users 2, 5, 9, 3, 7 (not in input order on purpose)
LATER_N = 6
LATER_WAIT = 0.2
LATER_DELAY = 0.1


def _author_of(post_id: int) -> str:
    post = data.posts()[post_id - 1]
    return data.users()[post["user_id"] - 1]["name"]


async def check_1_1(post_authors: Callable[[httpx.AsyncClient, list[int]], Awaitable[list[str]]], lab: Lab) -> Result:
    """post_authors(client, post_ids): for each post, fetch it, then its author; all posts at once; names in input order."""
    post_ids = list(POST_IDS)
    expected = [_author_of(p) for p in post_ids]

    async def attempt() -> tuple[object, float]:
        if is_stub(post_authors):
            raise NotAttempted
        async with httpx.AsyncClient(timeout=10) as client:
            await client.get(lab.url("/uuid"))  # warm-up, not counted
            lab.reset_gauge()
            with Stopwatch() as sw:
                names = await post_authors(client, post_ids)
        return names, sw.elapsed

    def verify(outcome: tuple[object, float]) -> str:
        names, elapsed = outcome
        expect(names is not None, "post_authors returned None: did you forget `return`?")
        expect(not inspect.isawaitable(names), f"post_authors returned an awaitable ({type(names).__name__}) instead of the names: `await` asyncio.gather(...) before returning")
        expect(isinstance(names, list), f"return a list of author names, got {type(names).__name__}")
        expect(len(names) == len(post_ids), f"expected {len(post_ids)} names (one per post id), got {len(names)}")
        same_names = sorted(map(str, names)) == sorted(expected)
        expect(not same_names or names == expected, f"the right names in the wrong order: expected {expected}, got {names}; asyncio.gather returns results in the order of its arguments")
        expect(names == expected, f"expected {expected}, got {names}; each post's JSON has a user_id, and /users/{{user_id}} has the name")
        gauge = lab.gauge()
        paths = [s["path"] for s in gauge.spans]
        post_requests = sum(p.startswith("/posts/") for p in paths)
        user_requests = sum(p.startswith("/users/") for p in paths)
        expect(post_requests >= len(post_ids) and user_requests >= len(post_ids), f"the server saw {post_requests} /posts/ and {user_requests} /users/ requests; fetch each post, then its user")
        expect(all("delay=0.2" in p for p in paths if p.startswith(("/posts/", "/users/"))), "use `?delay=0.2` on every request, as the sync version does, so the check can compare times")
        peak = gauge.peak
        expect(peak >= len(post_ids), f"the server saw at most {peak} request(s) at once, so the posts were fetched one after another; start one coroutine per post and run them together with asyncio.gather")
        return f"{len(names)} authors in input order in {elapsed:.2f} s (the sync version needs about {2 * 0.2 * len(post_ids):.1f} s); the server saw {peak} requests at once"

    return await run_check("1.1", attempt, verify)


async def check_1_2(fetch_later: Callable[[httpx.AsyncClient, str, float], Awaitable[dict]], lab: Lab) -> Result:
    """fetch_later(client, url, wait): wait `wait` seconds without blocking the loop, then GET url and return its JSON."""
    url = lab.url(f"/delay/{LATER_DELAY}")

    async def attempt() -> tuple[object, float, float]:
        if is_stub(fetch_later):
            raise NotAttempted
        async with httpx.AsyncClient(timeout=10) as client:
            await client.get(lab.url("/uuid"))  # warm-up, not counted
            lab.reset_gauge()
            async with LoopLagMonitor(interval=0.01) as lag:
                with Stopwatch() as sw:
                    results = await asyncio.gather(*(fetch_later(client, url, LATER_WAIT) for _ in range(LATER_N)))
        return results, sw.elapsed, lag.max_lag

    def verify(outcome: tuple[object, float, float]) -> str:
        results, elapsed, worst_lag = outcome
        expect(all(r is not None for r in results), "fetch_later returned None: return `response.json()`")
        expect(all(isinstance(r, dict) and r.get("delay") == LATER_DELAY for r in results), f"return the JSON of the response (a dict like {{'delay': {LATER_DELAY}, ...}}), got {results[0]!r}")
        expect(
            worst_lag < 0.15,
            f"the event loop was frozen for up to {worst_lag * 1000:.0f} ms: something in fetch_later blocks it. "
            "time.sleep() stops the whole thread; inside a coroutine wait with `await asyncio.sleep(wait)`",
        )
        gauge = lab.gauge()
        expect(gauge.count >= LATER_N, f"the server saw {gauge.count} request(s), expected {LATER_N}: does fetch_later send the request?")
        first_start = min(s["start"] for s in gauge.spans)
        expect(first_start > LATER_WAIT * 0.8, f"the first request reached the server after {first_start:.2f} s; wait {LATER_WAIT} s *before* sending it")
        peak = gauge.peak
        expect(peak >= LATER_N, f"the server saw at most {peak} request(s) at once, expected all {LATER_N}: the waits ran one after another instead of overlapping")
        return f"{LATER_N} delayed requests overlapped (server peak {peak}) and finished in {elapsed:.2f} s; the loop never froze"

    return await run_check("1.2", attempt, verify)
