"""Checkers for notebook 04 (tasks and structured concurrency).

They reuse notebook 03's logged client (helpers.exercises.nb03.RequestLog),
which records whether each request finished, failed, was cancelled or was
still running when the learner's function returned.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.exercises.nb03 import Run, describe, run_with_log
from helpers.lab import Lab
from helpers.services import data

# --- Exercise 4.1: a heartbeat beside the real work ---------------------------------------

JOB_SECONDS = 0.4
BEAT_INTERVAL = 0.05
MIN_BEATS = 3  # 0.4 s of work with a beat every 0.05 s gives about 8; 3 leaves room for a busy machine
QUIET_AFTER = 0.2  # seconds the checker listens for stray beats after the function returned


class Heartbeat:
    """The `beat` callable handed to the learner: notes when and from which task it is called."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.tasks: set[asyncio.Task] = set()
        self.stopped = False

    def __call__(self) -> None:
        if self.stopped:  # a heartbeat that outlived the check: end its task quietly
            raise asyncio.CancelledError
        self.times.append(time.perf_counter())
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)

    async def stop_leftovers(self) -> None:
        self.stopped = True
        leftovers = [t for t in self.tasks if not t.done() and t is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.wait(leftovers, timeout=2)


async def check_4_1(fetch_with_heartbeat: Callable[[httpx.AsyncClient, str, Callable[[], None]], Awaitable[dict]], lab: Lab) -> Result:
    """fetch_with_heartbeat(client, url, beat): beat() every 0.05 s from a background task while fetching; stop it before returning."""
    url = lab.url(f"/delay/{JOB_SECONDS}?key=job")

    async def attempt():
        if is_stub(fetch_with_heartbeat):
            raise NotAttempted
        beat = Heartbeat()
        caller = asyncio.current_task()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                started = time.perf_counter()
                value = await fetch_with_heartbeat(client, url, beat)
                returned = time.perf_counter()
                beats_at_return = len(beat.times)
                heart_running = [t for t in beat.tasks if t is not caller and not t.done()]
                await asyncio.sleep(QUIET_AFTER)
            stray = len(beat.times) - beats_at_return
            return {
                "value": value,
                "during": [t - started for t in beat.times[:beats_at_return]],
                "elapsed": returned - started,
                "from_caller": caller in beat.tasks,
                "running_at_return": len(heart_running),
                "stray": stray,
            }
        finally:
            await beat.stop_leftovers()

    def verify(r: dict) -> str:
        value = r["value"]
        expect(value is not None, "fetch_with_heartbeat returned None: return the JSON body of the response")
        if isinstance(value, httpx.Response):
            value = value.json()
        expect(isinstance(value, dict) and value.get("key") == "job", f"return the JSON body of the response to `url` (a dict with key 'job'), got {value!r:.80}")
        expect(not r["from_caller"], "beat() was called by your function itself, not by a background task: put the heartbeat loop in its own coroutine and start it with asyncio.create_task")
        n = len(r["during"])
        expect(n >= MIN_BEATS, f"beat() was called {n} time(s) during the {JOB_SECONDS} s request; expected one call every {BEAT_INTERVAL} s (about {round(JOB_SECONDS / BEAT_INTERVAL)}). Start the heartbeat task *before* awaiting the request, and have it loop: beat(), then await asyncio.sleep({BEAT_INTERVAL})")
        expect(r["stray"] == 0, f"the heartbeat kept beating after your function returned ({r['stray']} more beat(s) in {QUIET_AFTER} s): cancel the heartbeat task before returning")
        expect(r["running_at_return"] == 0, "you cancelled the heartbeat but returned before it had stopped: after task.cancel(), wait for it with `await asyncio.gather(task, return_exceptions=True)`")
        return f"the heartbeat beat all through the {r['elapsed']:.2f} s request, and it was stopped and awaited before you returned"

    return await run_check("4.1", attempt, verify, timeout=10)


# --- Exercise 4.2: cancel cleanly -------------------------------------------------------

QUICK = "/delay/0.05?key=quick"
SLOW = "/delay/1?key=slow"
CANCEL_AFTER = 0.15


async def check_4_2(download: Callable[[httpx.AsyncClient, str, list], Awaitable[dict]], lab: Lab) -> Result:
    """download(client, url, log): on cancellation log 'cancelled' and re-raise; always log 'closed' last."""

    async def attempt():
        if is_stub(download):
            raise NotAttempted
        async with httpx.AsyncClient(timeout=10) as client:
            quick_log: list = []
            quick_value = await download(client, lab.url(QUICK), quick_log)
            slow_log: list = []
            task = asyncio.create_task(download(client, lab.url(SLOW), slow_log))
            await asyncio.sleep(CANCEL_AFTER)
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=3)
            if not done:  # the learner's code ignored the cancellation altogether: try once more, then report
                task.cancel()
                await asyncio.wait([task], timeout=2)
                return {"quick_value": quick_value, "quick_log": quick_log, "slow_log": slow_log, "outcome": "unfinished", "error": None}
            error = None if task.cancelled() else task.exception()
            outcome = "cancelled" if task.cancelled() else ("raised" if error is not None else "returned")
            return {"quick_value": quick_value, "quick_log": quick_log, "slow_log": slow_log, "outcome": outcome, "error": error}

    def verify(r: dict) -> str:
        value = r["quick_value"]
        if isinstance(value, httpx.Response):
            value = value.json()
        expect(isinstance(value, dict) and value.get("key") == "quick", f"when nothing cancels it, download() should return the JSON body (a dict with key 'quick'), got {value!r:.80}")
        expect(r["quick_log"] == ["closed"], f"after a normal download the log should be ['closed'], got {r['quick_log']}; append 'cancelled' only when cancelled, and 'closed' in a `finally:` block")
        slow_log, outcome = r["slow_log"], r["outcome"]
        expect(outcome != "unfinished", "the download was still running 3 s after task.cancel(): your code caught CancelledError and carried on. Log 'cancelled', then re-raise straight away")
        expect(outcome != "returned", f"your download returned normally after task.cancel(), so the caller never learns it was cancelled (task.cancelled() is False). After logging 'cancelled', re-raise: `raise` at the end of the except block. Log: {slow_log}")
        expect(outcome != "raised", f"after task.cancel() your download raised {describe(r['error']) if r['error'] else 'an error'} instead of letting CancelledError propagate: catch asyncio.CancelledError specifically and re-raise it")
        expect("cancelled" in slow_log, f"the log of the cancelled download is {slow_log}: catch asyncio.CancelledError around the request and append 'cancelled' before re-raising")
        expect(slow_log[-1:] == ["closed"], f"the log of the cancelled download is {slow_log}; 'closed' must come last, whatever happens: put it in a `finally:` block")
        expect(slow_log == ["cancelled", "closed"], f"expected the log ['cancelled', 'closed'] for the cancelled download, got {slow_log}")
        return "normal download logged ['closed']; the cancelled one logged ['cancelled', 'closed'] and stayed cancelled"

    return await run_check("4.2", attempt, verify, timeout=15)


# --- Exercise 4.3: TaskGroup and except* ------------------------------------------------

USER_ID = 3
MISSING_ID = 42


def pause_for(path: str) -> float:
    """Slow the requests down on the client side so overlap and cancellation are visible."""
    if path.endswith("/posts"):
        return 0.6 if f"/{MISSING_ID}/" in path else 0.3
    return 0.15


async def check_4_3(profile: Callable[[httpx.AsyncClient, int], Awaitable[dict | None]], lab: Lab) -> Result:
    """profile(client, user_id): user and posts at once in a TaskGroup; None (sibling cancelled) if either fails."""
    user = data.users()[USER_ID - 1]
    n_posts = sum(1 for p in data.posts() if p["user_id"] == USER_ID)
    expected = {"name": user["name"], "posts": n_posts}

    async def attempt():
        if is_stub(profile):
            raise NotAttempted
        found = await run_with_log(profile, USER_ID, delay=pause_for, base_url=lab.api)
        missing = await run_with_log(profile, MISSING_ID, delay=pause_for, base_url=lab.api)
        return found, missing

    def verify(runs: tuple[Run, Run]) -> str:
        found, missing = runs
        if found.error is not None:
            raise Wrong(f"profile({USER_ID}) raised {describe(found.error)}")
        expect(found.value == expected, f"profile({USER_ID}) should return {expected}, got {found.value!r:.100}")
        expect(found.log.peak >= 2, f"profile({USER_ID}) fetched the user and the posts one after the other (at most {found.log.peak} request in flight): create both tasks in one TaskGroup")
        if isinstance(missing.error, BaseExceptionGroup):
            raise Wrong(f"profile({MISSING_ID}) raised {type(missing.error).__name__} ({missing.error}): a TaskGroup wraps its tasks' errors in an ExceptionGroup, which a plain `except httpx.HTTPStatusError` does not catch. Use `except* httpx.HTTPStatusError:`, set a flag there (`return` is not allowed inside except*), and return None after the try")
        if missing.error is not None:
            raise Wrong(f"profile({MISSING_ID}) raised {describe(missing.error)}; for a user that does not exist, return None")
        expect(missing.value is None, f"profile({MISSING_ID}) should return None (user {MISSING_ID} does not exist), got {missing.value!r:.80}")
        running = missing.still_running()
        expect(not running, f"profile({MISSING_ID}) returned None while a request was still running ({', '.join(running)}): gather() leaves the sibling running after the 404. A TaskGroup cancels it and waits for it")
        cancelled = missing.log.with_state("cancelled")
        return f"profile({USER_ID}) = {found.value} with both requests at once; profile({MISSING_ID}) = None, with {len(cancelled)} sibling request cancelled"

    return await run_check("4.3", attempt, verify)
