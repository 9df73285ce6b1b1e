"""Checkers for notebook 06 (queues: producers and consumers)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.lab import Lab
from helpers.services.api import fraction

N_6_1 = 12
WORKERS_6_1 = 3
DELAY_6_1 = 0.1
GRACE = 0.1  # seconds we give cancelled tasks to finish before calling them leaked

IDS_6_2 = list(range(1, 13))
RATE_6_2 = 0.3
SEED_6_2 = "ex62"
WORKERS_6_2 = 3
JOIN_TIMEOUT_6_2 = 3.0  # the work takes a fraction of a second; a missing task_done() makes join() wait forever


async def check_6_1(run_pool: Callable[[httpx.AsyncClient, list[str], int], Awaitable[dict]], lab: Lab) -> Result:
    """run_pool(client, urls, n_workers) fetches every URL through a queue served by exactly n worker tasks, and leaves no task behind."""
    urls = [lab.url(f"/delay/{DELAY_6_1}?key=ex61-{i}") for i in range(N_6_1)]
    before: set[asyncio.Task] = set()
    leftovers: list[asyncio.Task] = []

    async def attempt() -> dict:
        if is_stub(run_pool):
            raise NotAttempted
        before.update(asyncio.all_tasks())
        async with httpx.AsyncClient(timeout=10) as client:
            await client.get(lab.url("/uuid"))
            lab.reset_gauge()
            result = await run_pool(client, urls, WORKERS_6_1)
            await asyncio.sleep(GRACE)  # cancelled-but-not-awaited workers get a moment to finish
            leftovers.extend(t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task())
        for task in leftovers:  # clean up for the learner, so nothing keeps running after the check
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        return result

    def verify(result: object) -> str:
        expect(result is not None, "run_pool returned None: did you forget `return`?")
        expect(isinstance(result, dict), f"return a dict {{url: JSON body}}, got {type(result).__name__}")
        missing = [u for u in urls if u not in result]
        expect(not missing, f"{len(missing)} of the {N_6_1} URLs are missing from your dict, e.g. {missing[0] if missing else ''}; did every queued URL get fetched before you returned? (await queue.join())")
        expect(all(isinstance(result[u], dict) and result[u].get("key") == f"ex61-{i}" for i, u in enumerate(urls)), "each value should be that URL's JSON body (response.json())")
        reading = lab.gauge()
        expect(reading.count == N_6_1, f"the server saw {reading.count} requests for {N_6_1} URLs: fetch each URL exactly once")
        expect(reading.peak <= WORKERS_6_1, f"the server saw {reading.peak} requests at once with n_workers={WORKERS_6_1}: only the worker tasks should fetch, each one URL at a time")
        expect(reading.peak == WORKERS_6_1, f"the server never saw more than {reading.peak} request(s) at once: start all {WORKERS_6_1} workers before waiting (create_task for each, then await queue.join())")
        expect(
            not leftovers,
            f"{len(leftovers)} task(s) you started were still running after run_pool returned: a worker loops forever, so cancel the workers after queue.join() (or send one sentinel per worker) and await them",
        )
        return f"{N_6_1} URLs through {WORKERS_6_1} workers (the server saw exactly {WORKERS_6_1} at once), and no task left behind"

    return await run_check("6.1", attempt, verify)


def _expected_failures() -> set[int]:
    return {n for n in IDS_6_2 if fraction("unreliable", SEED_6_2, n) < RATE_6_2}


async def check_6_2(safe_worker: Callable[[asyncio.Queue, httpx.AsyncClient, list, list], Awaitable[None]], lab: Lab) -> Result:
    """safe_worker(queue, client, ok, failed) must survive failing items and always call task_done, so join() returns."""
    urls = {n: lab.url(f"/unreliable/{n}?rate={RATE_6_2}&seed={SEED_6_2}") for n in IDS_6_2}
    bad = {urls[n] for n in _expected_failures()}
    good = set(urls.values()) - bad
    state: dict = {}

    async def attempt() -> dict:
        if is_stub(safe_worker):
            raise NotAttempted
        ok: list = []
        failed: list = []
        queue: asyncio.Queue = asyncio.Queue()
        for url in urls.values():
            queue.put_nowait(url)
        async with httpx.AsyncClient(timeout=10) as client:
            workers = [asyncio.create_task(safe_worker(queue, client, ok, failed)) for _ in range(WORKERS_6_2)]
            try:
                async with asyncio.timeout(JOIN_TIMEOUT_6_2):
                    await queue.join()
                state["joined"] = True
            except TimeoutError:
                state["joined"] = False
            state["alive"] = sum(not w.done() for w in workers)
            state["returned"] = sum(w.done() and not w.cancelled() and w.exception() is None for w in workers)
            for w in workers:
                w.cancel()
            outcomes = await asyncio.gather(*workers, return_exceptions=True)  # also retrieves a crashed worker's exception
        state["crashes"] = [o for o in outcomes if isinstance(o, Exception)]
        state["unfinished"] = queue.qsize()
        return {"ok": ok, "failed": failed}

    def verify(outcome: dict) -> str:
        crashes = state["crashes"]
        if not state["joined"]:
            if crashes:
                raise Wrong(
                    f"queue.join() was still waiting after {JOIN_TIMEOUT_6_2:g} s, because a worker died with {type(crashes[0]).__name__} ({crashes[0]}) before calling task_done(): catch the error for that item so the worker keeps going, and call queue.task_done() in a `finally:` block"
                )
            if state["returned"] == WORKERS_6_2:
                raise Wrong(
                    f"queue.join() was still waiting after {JOIN_TIMEOUT_6_2:g} s: all your workers returned while {state['unfinished']} URL(s) were still queued. A worker loops forever (`while True:`) and carries on with the next item after an error"
                )
            raise Wrong(
                f"queue.join() was still waiting after {JOIN_TIMEOUT_6_2:g} s: some item never got its task_done(). Every get() needs exactly one task_done(), even when handling the item fails: call queue.task_done() in a `finally:` block"
            )
        expect(not crashes, f"a worker ended with {type(crashes[0]).__name__ if crashes else ''}: catch the error for that item (record it in `failed`) and keep looping")
        expect(state["alive"] == WORKERS_6_2, f"only {state['alive']} of {WORKERS_6_2} workers were still serving the queue at the end: after an error, a worker should carry on with the next item, not return")
        ok, failed = outcome["ok"], outcome["failed"]
        expect(isinstance(ok, list) and isinstance(failed, list), "append to the `ok` and `failed` lists you are given; do not replace them")
        expect(set(failed) == bad and len(failed) == len(bad), f"expected {len(bad)} URLs in `failed` (the ones that answer 500), got {len(failed)}: call response.raise_for_status() and append the URL to `failed` when it raises httpx.HTTPStatusError")
        expect(set(ok) == good and len(ok) == len(good), f"expected {len(good)} URLs in `ok`, got {len(ok)}: append each URL that answered 200 exactly once")
        return f"{len(good)} ok, {len(bad)} failed, queue.join() returned and all {WORKERS_6_2} workers survived the errors"

    return await run_check("6.2", attempt, verify)
