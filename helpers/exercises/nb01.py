"""Checkers for notebook 01 (blocking vs non-blocking I/O)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, expect, is_stub, run_check
from helpers.exercises.common import (
    check_order,
    defuse,
    reject_awaitable,
    reject_response,
    short,
    shuffled_delays,
)
from helpers.exercises.nb03 import RequestLog
from helpers.lab import Lab
from helpers.services import data
from helpers.timing import LoopLagMonitor, Stopwatch

SIZES = (5, 3)  # two calls with different posts
STEP = 0.06  # client-side pause before each post request: 0.06, 0.12, ... in shuffled order
LATER_N = 6
LATER_STEP = 0.1  # fetch_later waits 0.1, 0.2, ... 0.6 s, shuffled
LATER_DELAY = 0.1
# time.sleep(wait) in the six calls freezes the loop for 2.1 s at once (at least 0.6 s, the longest
# wait, if they were spread out); a right answer on a loaded machine stalls < 0.1 s: 3x both ways
MAX_LAG_1_2 = 0.3


def _author_of(post_id: int) -> str:
    post = data.posts()[post_id - 1]
    return data.users()[post["user_id"] - 1]["name"]


def plan_posts(rng: random.Random) -> list[dict[int, float]]:
    """Per call: {post id: pause before its request}; posts by different authors, unpredictable."""
    by_author: dict[int, int] = {}
    for post in rng.sample(data.posts(), len(data.posts())):
        by_author.setdefault(post["user_id"], post["id"])
    ids = list(by_author.values())[: sum(SIZES)]
    calls, start = [], 0
    for size in SIZES:
        chosen = ids[start : start + size]
        calls.append(dict(zip(chosen, shuffled_delays(size, STEP, rng))))
        start += size
    return calls


def _verify_authors(names: object, post_ids: list[int], log: RequestLog) -> None:
    expected = [_author_of(p) for p in post_ids]
    expect(names is not None, "post_authors returned None: did you forget `return`?")
    reject_awaitable(names, "post_authors")
    expect(isinstance(names, list), f"return a list of author names, got {type(names).__name__}")
    reject_response(names, "post_authors")
    expect(not any(isinstance(n, dict) for n in names), "your list holds whole JSON answers: return "
           "the author's 'name' field for each post")
    expect(len(names) == len(post_ids), f"called with {len(post_ids)} post ids, post_authors "
           f"returned {len(names)} names: one name per post id")
    paths = list(log.states)
    posts_seen = {p for p in post_ids if any(k.startswith(f"/posts/{p}?") or k == f"/posts/{p}"
                                             for k in paths)}
    missing = [p for p in post_ids if p not in posts_seen]
    expect(not missing, f"no request for post(s) {missing} reached the server: fetch the posts in "
           "`post_ids` (the check uses different posts each time)")
    check_order(names, expected, "names")
    expect(names == expected, f"expected {expected}, got {short(names)}; each post's JSON has a "
           "user_id, and /users/{user_id} has the name")
    users = [k for k in paths if k.startswith("/users/")]
    expect(len(users) >= len(set(expected)), f"the server saw {len(users)} /users/ request(s) for "
           f"{len(post_ids)} posts: fetch each post's author from /users/{{user_id}}")
    expect(all("delay=0.2" in k for k in paths if k.startswith(("/posts/", "/users/"))),
           "use `?delay=0.2` on every request, as the sync version does")
    expect(log.peak >= len(post_ids), f"at most {log.peak} request(s) were in flight at once, so the "
           "posts were fetched one after another; start one coroutine per post and run them "
           "together with asyncio.gather")
    expect(log.peak_by_kind.get("users", 0) >= 2, "the posts ran at once, but the authors were "
           "fetched one after another, so each post waited for the others' authors. Write one "
           "coroutine per post (its post, then its author) and gather those")


async def check_1_1(
    post_authors: Callable[[httpx.AsyncClient, list[int]], Awaitable[list[str]]], lab: Lab
) -> Result:
    """post_authors(client, post_ids): per post, the post then its author; all posts at once;
    names in input order.  The client pauses each post request for a different time, so the
    posts finish in another order than they start."""
    calls = plan_posts(random.Random())

    async def attempt() -> list[tuple[object, list[int], RequestLog, float]]:
        if is_stub(post_authors):
            raise NotAttempted
        runs = []
        for pauses in calls:
            def pause(path: str, pauses: dict[int, float] = pauses) -> float:
                head = path.split("?")[0]
                if head.startswith("/posts/") and head[7:].isdigit():
                    return pauses.get(int(head[7:]), 0.0)
                return 0.0

            log = RequestLog(delay=pause)
            async with httpx.AsyncClient(transport=log, timeout=10) as client:
                with Stopwatch() as sw:
                    names = defuse(await post_authors(client, list(pauses)))
                await log.settle()
            runs.append((names, list(pauses), log, sw.elapsed))
        return runs

    def verify(runs: list[tuple[object, list[int], RequestLog, float]]) -> str:
        for names, post_ids, log, _ in runs:
            _verify_authors(names, post_ids, log)
        elapsed = runs[0][3]
        n = len(runs[0][1])
        return (f"{len(runs)} calls with different posts: authors in input order although the posts "
                f"finished in another order; {n} posts took {elapsed:.2f} s, all in flight at once")

    return await run_check("1.1", attempt, verify)


def _verify_later(results: list, keys: list[str], waits: list[float], spans: list[dict],
                  worst_lag: float) -> None:
    reject_awaitable(results, "fetch_later")
    expect(all(r is not None for r in results), "fetch_later returned None: return `response.json()`")
    reject_response(results, "fetch_later")
    expect(all(isinstance(r, dict) for r in results),
           f"return the JSON of the response (a dict like {{'delay': {LATER_DELAY}, ...}}), "
           f"got {short(results[0])}")
    got = [r.get("key") for r in results]
    expect(got == keys, f"each call should return the JSON of its own `url` (keys {keys}), got keys "
           f"{got}: request the `url` you were given")
    expect(worst_lag < MAX_LAG_1_2, f"the event loop was frozen for up to {worst_lag * 1000:.0f} ms: "
           "something in fetch_later blocks it. time.sleep() stops the whole thread; inside a "
           "coroutine wait with `await asyncio.sleep(wait)`")
    arrived = {}
    for span in spans:
        key = span["path"].partition("key=")[2]
        arrived.setdefault(key, span["start"])
    missing = [k for k in keys if k not in arrived]
    expect(not missing, f"the server saw no request for {len(missing)} of the {len(keys)} calls: "
           "does fetch_later send the request?")
    for key, wait in zip(keys, waits):
        expect(arrived[key] > wait * 0.8, f"the call with wait={wait} sent its request after "
               f"{arrived[key]:.2f} s: wait `wait` seconds (the parameter) *before* sending")
        expect(arrived[key] < wait * 1.5 + 0.5, f"the call with wait={wait} sent its request only "
               f"after {arrived[key]:.2f} s: wait `wait` seconds once, then send")


async def check_1_2(
    fetch_later: Callable[[httpx.AsyncClient, str, float], Awaitable[dict]], lab: Lab
) -> Result:
    """fetch_later(client, url, wait): wait `wait` seconds without blocking the loop, then GET url
    and return its JSON.  Six calls run together, each with its own wait and URL."""
    rng = random.Random()
    waits = [round(LATER_STEP * (i + 1), 2) for i in range(LATER_N)]
    rng.shuffle(waits)
    keys = [f"later-{rng.randrange(10**6)}-{i}" for i in range(LATER_N)]
    urls = [lab.url(f"/delay/{LATER_DELAY}?key={k}") for k in keys]

    async def attempt() -> tuple[object, float, float, list[dict]]:
        if is_stub(fetch_later):
            raise NotAttempted
        async with httpx.AsyncClient(timeout=10) as client:
            await client.get(lab.url("/uuid"))  # warm-up, not counted
            lab.reset_gauge()
            async with LoopLagMonitor(interval=0.01) as lag:
                with Stopwatch() as sw:
                    calls = (fetch_later(client, u, w) for u, w in zip(urls, waits))
                    results = [defuse(r) for r in await asyncio.gather(*calls)]
        return results, sw.elapsed, lag.max_lag, lab.gauge().spans

    def verify(outcome: tuple[list, float, float, list[dict]]) -> str:
        results, elapsed, worst_lag, spans = outcome
        _verify_later(results, keys, waits, spans, worst_lag)
        return (f"{LATER_N} calls, each waited its own `wait` ({min(waits)}-{max(waits)} s) and "
                f"fetched its own URL; all done in {elapsed:.2f} s and the loop never froze")

    return await run_check("1.2", attempt, verify)
