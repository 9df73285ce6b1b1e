"""Checkers for notebook 06 (queues: producers and consumers).

6.1 calls run_pool twice, with worker counts and URLs the learner cannot
predict, and judges what the server saw and which tasks were still running
the moment run_pool returned (a worker cancelled but not awaited is one).

6.2 feeds the learner's workers in two waves, the second only after the first
is handled, so a worker that stops when the queue is momentarily empty is
caught; it notes how many items were handled when join() returned, so a
task_done() called before the work is done is caught too.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.exercises.sandbox import (
    RESPONSE_HINT,
    STUBBORN,
    is_response,
    not_finished,
    raise_error,
    run_learner,
    stop_tasks,
)
from helpers.lab import Lab
from helpers.services.api import fraction

JOBS_PER_WORKER_6_1 = 4
DELAYS_6_1 = (0.05, 0.1, 0.15)
CALL_TIMEOUT_6_1 = 3.0  # s per call; the work takes about 0.4 s

IDS_6_2 = list(range(1, 13))
RATE_6_2 = 0.3
WORKERS_6_2 = 3
DELAY_6_2 = 0.05  # s per request, so the workers really interleave
WAVE_TIMEOUT_6_2 = 1.5  # s to wait for the first wave to be handled
JOIN_TIMEOUT_6_2 = 3.0  # the work takes a fraction of a second; a missing task_done() makes join() wait forever
TOO_MANY = "task_done() called too many times"


async def _one_call_6_1(run_pool: Callable, lab: Lab, n_workers: int) -> str:
    """One call of run_pool with `n_workers`; raise Wrong with a specific sentence, or return a summary."""
    token = uuid.uuid4().hex[:6]
    n = JOBS_PER_WORKER_6_1 * n_workers
    urls = [lab.url(f"/delay/{random.choice(DELAYS_6_1)}?key=ex61-{token}-{i}") for i in range(n)]
    async with httpx.AsyncClient(timeout=10) as client:
        await client.get(lab.url("/uuid"))
        lab.reset_gauge()
        run = await run_learner(lambda: run_pool(client, list(urls), n_workers), CALL_TIMEOUT_6_1)
    reading = lab.gauge()
    if not run.finished:
        done = sum(1 for s in reading.spans if s["end"] is not None)
        if reading.count == 0:
            hint = "No request reached the server: start the worker tasks (asyncio.create_task) before you await queue.join()."
        elif done >= n:
            hint = (
                f"All {n} URLs were fetched, but run_pool never returned: queue.join() waits for one "
                "queue.task_done() per item. Call task_done() once for every get(), in a `finally:` block."
            )
        else:
            hint = f"The server answered {done} of {n} requests: is queue.join() waiting for items nobody takes, or for a task_done() that is never called?"
        raise not_finished("run_pool", CALL_TIMEOUT_6_1, run, hint)
    raise_error(run)
    result = run.value
    expect(result is not None, "run_pool returned None: did you forget `return`?")
    expect(isinstance(result, dict), f"return a dict {{url: JSON body}}, got {type(result).__name__}")
    expect(not any(is_response(v) for v in result.values()), RESPONSE_HINT)
    missing = [u for u in urls if u not in result]
    expect(
        not missing,
        f"{len(missing)} of the {n} URLs are missing from your dict (the check passes new URLs every time), e.g. {missing[0] if missing else ''}; "
        "did every queued URL get fetched before you returned? (await queue.join())",
    )
    expect(
        all(isinstance(result[u], dict) and result[u].get("key") == f"ex61-{token}-{i}" for i, u in enumerate(urls)),
        "each value should be that URL's JSON body (response.json()), stored under that URL",
    )
    expect(reading.count == n, f"the server saw {reading.count} requests for {n} URLs: fetch each URL exactly once")
    expect(
        reading.peak <= n_workers,
        f"with n_workers={n_workers} the server saw {reading.peak} requests at once: start exactly `n_workers` worker tasks "
        "(the check uses a different number each time), each fetching one URL at a time",
    )
    expect(
        reading.peak == n_workers,
        f"with n_workers={n_workers} the server never saw more than {reading.peak} request(s) at once: start all "
        f"`n_workers` workers (the check uses a different number each time) before waiting: create_task for each, then await queue.join()",
    )
    if run.left_running:
        stubborn = STUBBORN if run.ignored_cancel else ""
        if run.cancel_pending:
            raise Wrong(
                f"{run.cancel_pending} worker task(s) had been cancelled but were still running when run_pool returned: "
                "cancel() only asks a task to stop; await the workers after cancelling them "
                f"(await asyncio.gather(*workers, return_exceptions=True)).{stubborn}"
            )
        raise Wrong(
            f"{len(run.left_running)} task(s) you started were still running after run_pool returned: a worker loops "
            f"forever, so cancel the workers after queue.join() and await them (or send one sentinel per worker).{stubborn}"
        )
    return f"n_workers={n_workers}: {n} URLs, exactly {n_workers} at once, no task left behind"


async def check_6_1(run_pool: Callable[[httpx.AsyncClient, list[str], int], Awaitable[dict]], lab: Lab) -> Result:
    """run_pool(client, urls, n_workers) fetches every URL through a queue served by exactly n worker tasks, and leaves no task behind."""
    first = random.choice((2, 3))
    counts = (first, first + 2)

    async def attempt() -> list[str]:
        if is_stub(run_pool):
            raise NotAttempted
        return [await _one_call_6_1(run_pool, lab, n) for n in counts]

    def verify(summaries: list[str]) -> str:  # the same sentence every time: solutions are regression-tested
        return (
            "both calls (different worker counts, new URLs) fetched every URL through exactly `n_workers` "
            "requests at once, and left no task behind"
        )

    return await run_check("6.1", attempt, verify, timeout=2 * CALL_TIMEOUT_6_1 + 5)


def _first_line(error: BaseException, width: int = 80) -> str:
    """An exception's message, short: httpx's include a second line with a documentation link."""
    text = (str(error).splitlines() or [""])[0]
    return text if len(text) <= width else text[: width - 3] + "..."


def _failing(seed: str) -> set[int]:
    return {n for n in IDS_6_2 if fraction("unreliable", seed, n) < RATE_6_2}


def _seed_6_2() -> str:
    """A fresh seed with a failing and a passing id in each wave and >= 3 failing in all: unpredictable, never trivial."""
    half = len(IDS_6_2) // 2
    while True:
        seed = f"ex62-{uuid.uuid4().hex[:6]}"
        bad = _failing(seed)
        waves = (set(IDS_6_2[:half]), set(IDS_6_2[half:]))
        if all(1 <= len(bad & wave) <= len(wave) - 1 for wave in waves) and len(bad) >= 3:
            return seed


async def _wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition() and loop.time() < end:
        await asyncio.sleep(0.01)
    return condition()


async def check_6_2(safe_worker: Callable[[asyncio.Queue, httpx.AsyncClient, list, list], Awaitable[None]], lab: Lab) -> Result:
    """safe_worker(queue, client, ok, failed) must survive failing items and always call task_done, so join() returns."""
    seed = _seed_6_2()
    urls = {n: lab.url(f"/unreliable/{n}?rate={RATE_6_2}&seed={seed}&delay={DELAY_6_2}") for n in IDS_6_2}
    bad = {urls[n] for n in _failing(seed)}
    good = set(urls.values()) - bad
    half = len(IDS_6_2) // 2
    state: dict = {}

    async def attempt() -> dict:
        if is_stub(safe_worker):
            raise NotAttempted
        ok: list = []
        failed: list = []
        queue: asyncio.Queue = asyncio.Queue()
        handled = lambda: len(ok) + len(failed)  # noqa: E731
        async with httpx.AsyncClient(timeout=10) as client:
            for n in IDS_6_2[:half]:
                queue.put_nowait(urls[n])
            workers = [asyncio.create_task(safe_worker(queue, client, ok, failed)) for _ in range(WORKERS_6_2)]
            # second wave only once the first is handled and the queue has been empty for a moment
            await _wait_until(lambda: handled() >= half or all(w.done() for w in workers), WAVE_TIMEOUT_6_2)
            await asyncio.sleep(0.05)
            for n in IDS_6_2[half:]:
                queue.put_nowait(urls[n])
            join = asyncio.create_task(queue.join())
            await asyncio.wait({join}, timeout=JOIN_TIMEOUT_6_2)
            state["joined"] = join.done()
            state["handled_at_join"] = handled()
            join.cancel()
            if state["joined"]:  # give a worker that marks items done too early a moment to show it
                await _wait_until(lambda: handled() >= len(IDS_6_2) or all(w.done() for w in workers), 0.5)
            state["alive"] = sum(not w.done() for w in workers)
            state["returned"] = sum(w.done() and not w.cancelled() and w.exception() is None for w in workers)
            state["crashes"] = [w.exception() for w in workers if w.done() and not w.cancelled() and w.exception() is not None]
            state["stopped"] = await stop_tasks(workers)
            await asyncio.gather(join, return_exceptions=True)
        state["unfinished"] = queue.qsize()
        return {"ok": list(ok), "failed": list(failed)}

    def verify(outcome: dict) -> str:
        crashes = state["crashes"]
        too_many = [c for c in crashes if isinstance(c, ValueError) and TOO_MANY in str(c)]
        if too_many:
            raise Wrong(
                f"a worker died with ValueError: {TOO_MANY}: each get() needs exactly one task_done(). "
                "Call it only in the `finally:` block, not also in `except`/after the work"
            )
        if not state["stopped"]:
            raise Wrong(f"a worker kept running when the check cancelled it at the end.{STUBBORN}")
        if not state["joined"]:
            if crashes:
                raise Wrong(
                    f"queue.join() was still waiting after {JOIN_TIMEOUT_6_2:g} s, because a worker died with {type(crashes[0]).__name__} "
                    f"({_first_line(crashes[0])}) before calling task_done(): catch the error for that item so the worker keeps going, "
                    "and call queue.task_done() in a `finally:` block"
                )
            if state["returned"]:
                raise Wrong(
                    f"queue.join() was still waiting after {JOIN_TIMEOUT_6_2:g} s: {state['returned']} of your workers returned "
                    f"while {state['unfinished']} URL(s) were still waiting, and a worker never returns by itself. It loops with "
                    "`while True:`, carries on with the next item whatever happened to the last one (no return or break after an error), "
                    "and waits in `await queue.get()`, not `while not queue.empty()`: more items can arrive after the queue "
                    "was empty for a moment. The caller stops the workers after join()"
                )
            raise Wrong(
                f"queue.join() was still waiting after {JOIN_TIMEOUT_6_2:g} s: some item never got its task_done(). Every get() "
                "needs exactly one task_done(), even when handling the item fails: call queue.task_done() in a `finally:` block"
            )
        expect(
            state["handled_at_join"] >= len(IDS_6_2),
            f"queue.join() returned when only {state['handled_at_join']} of {len(IDS_6_2)} URLs had been handled: "
            "call task_done() when the item is finished (in the `finally:` block after the work), not right after get()",
        )
        expect(
            not crashes,
            f"a worker ended with {type(crashes[0]).__name__ if crashes else ''}: catch the error for that item (record it in `failed`) and keep looping",
        )
        expect(
            state["alive"] == WORKERS_6_2,
            f"only {state['alive']} of {WORKERS_6_2} workers were still serving the queue at the end: after an item "
            "(failed or not) a worker carries on with the next one, with `while True:`; a worker never returns by itself",
        )
        ok, failed = outcome["ok"], outcome["failed"]
        every = ok + failed
        expect(
            not any(is_response(x) for x in every),
            "append the URL itself to `ok` or `failed`, not the Response (the URL is what you took from the queue)",
        )
        expect(
            set(failed) == bad and len(failed) == len(bad),
            f"expected {len(bad)} URLs in `failed` (the ones that answer 500), got {len(failed)}: call response.raise_for_status() "
            "and append the URL to `failed` when it raises httpx.HTTPStatusError",
        )
        expect(
            set(ok) == good and len(ok) == len(good),
            f"expected {len(good)} URLs in `ok`, got {len(ok)}: append each URL that answered 200 exactly once",
        )
        return (
            "every URL landed in `ok` or `failed` as it should, queue.join() returned with every item handled, "
            f"and all {WORKERS_6_2} workers survived the errors"
        )

    return await run_check("6.2", attempt, verify, timeout=WAVE_TIMEOUT_6_2 + JOIN_TIMEOUT_6_2 + 5)
