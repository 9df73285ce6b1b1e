"""Checkers for notebook 04 (tasks and structured concurrency).

They reuse notebook 03's logged client (helpers.exercises.nb03.RequestLog),
which records whether each request finished, failed, was cancelled or was
still running when the learner's function returned.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, abandon, expect, is_stub, run_check
from helpers.exercises.common import defuse, reject_awaitable, reject_response, short
from helpers.exercises.nb03 import RequestLog, Run, describe, path_of, run_with_log
from helpers.lab import Lab
from helpers.services import data
from helpers.timing import LoopLagMonitor

# --- Exercise 4.1: a heartbeat beside the real work ---------------------------------------

BEAT_INTERVAL = 0.05
# a short and a long request, lengths drawn in these ranges.  A fixed number of beats lasting D
# passes the long job only if D >= long - MAX_GAP (>= 0.65 s) and the short one only if
# D <= short + MAX_LATE (<= 0.55 s): no D passes both, on every draw.
JOBS = ((0.15, 0.25), (1.0, 1.2))
MAX_GAP = 0.35  # seconds without a beat while the request runs (7 intervals: room for a busy machine)
MAX_LATE = 0.3  # seconds the function may take to return after the response arrived
QUIET_AFTER = 0.2  # seconds the checker listens for stray beats after the function returned
HANG_AFTER = 3.0  # seconds after the response before we say the function is stuck


class HeartbeatStopped(BaseException):
    """Raised by beat() once the check is over: ends even a heartbeat that swallows CancelledError."""


class Heartbeat:
    """The `beat` callable handed to the learner: notes when and from which task it is called."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.tasks: set[asyncio.Task] = set()
        self.stopped = False

    def __call__(self) -> None:
        if self.stopped:  # a heartbeat that outlived the check: end its task
            raise HeartbeatStopped
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


async def wait_turning(task: asyncio.Future, seconds: float) -> None:
    """Wait up to `seconds` of a turning loop: time the loop spent frozen (learner's time.sleep,
    handled by run_check's watchdog) does not count, so a frozen loop is not taken for a hang."""
    for _ in range(round(seconds / 0.1)):
        if task.done():
            return
        await asyncio.wait([task], timeout=0.1)


async def _one_heartbeat(fn: Callable, lab: Lab, seconds: float, key: str) -> dict:
    """Run fn(client, url, beat) once on a logged client; note beats, timing and leftovers."""
    url = lab.url(f"/delay/{seconds}?key={key}")
    beat = Heartbeat()
    log = RequestLog()

    async def call_and_look() -> tuple[object, float, int, int]:
        """The learner's call, and what was still running the moment it returned."""
        value = defuse(await fn(client, url, beat))
        me = asyncio.current_task()
        running = [t for t in beat.tasks if t is not me and not t.done()]
        return value, time.perf_counter(), len(beat.times), len(running)

    try:
        async with httpx.AsyncClient(transport=log, timeout=10) as client:
            async with LoopLagMonitor(interval=0.01) as lag:
                started = time.perf_counter()
                call = asyncio.ensure_future(call_and_look())
                await wait_turning(call, seconds + HANG_AFTER)
            arrived = log.finished_at.get(path_of(url), time.perf_counter())
            if not call.done():  # stuck: most often awaiting a heartbeat that ignores cancel()
                beats_after = sum(t > arrived + MAX_GAP for t in beat.times)
                await beat.stop_leftovers()  # beat() now raises HeartbeatStopped: that ends it
                call.cancel()
                await asyncio.wait([call], timeout=2)
                if not call.done():
                    abandon(call)
                return {"stuck": True, "beats_after": beats_after, "key": key, "seconds": seconds}
            await asyncio.sleep(QUIET_AFTER)
        if call.cancelled():
            raise asyncio.CancelledError
        if call.exception() is not None:
            raise call.exception()
        value, returned, beats_at_return, running = call.result()
        during = [t for t in beat.times[:beats_at_return] if started <= t <= arrived]
        marks = [started, *during, arrived]
        return {
            "stuck": False,
            "key": key,
            "seconds": seconds,
            "value": value,
            "during": len(during),
            "gap": max(b - a for a, b in zip(marks, marks[1:])),
            "late": returned - arrived,
            "from_caller": call in beat.tasks,
            "running_at_return": running,
            "stray": len(beat.times) - beats_at_return,
            "frozen": sum(sample.lag for sample in lag.samples),
            "elapsed": returned - started,
        }
    finally:
        await beat.stop_leftovers()


def _verify_heartbeat(r: dict) -> None:
    seconds = r["seconds"]
    if r["stuck"] and r["beats_after"]:
        raise Wrong("your function never returned: the heartbeat kept beating after task.cancel(), "
                    "so waiting for it never ended. It caught CancelledError and carried on: do not "
                    "catch CancelledError in the heartbeat loop (or re-raise it)")
    if r["stuck"]:
        raise Wrong(f"your function was still running {HANG_AFTER:g} s after the response arrived: "
                    "is it waiting for something that never finishes?")
    value = r["value"]
    expect(value is not None, "fetch_with_heartbeat returned None: return the JSON body of the response")
    reject_awaitable(value, "fetch_with_heartbeat")
    reject_response(value, "fetch_with_heartbeat")
    expect(isinstance(value, dict) and value.get("key") == r["key"],
           f"return the JSON body of the response to `url` (a dict with key {r['key']!r}), got "
           f"{short(value)}")
    expect(not r["from_caller"], "beat() was called by your function itself, not by a background "
           "task: put the heartbeat loop in its own coroutine and start it with asyncio.create_task")
    expect(r["during"] > 0, f"beat() was never called during the {seconds} s request: start the "
           "heartbeat task *before* awaiting the request, and have it loop: beat(), then "
           f"await asyncio.sleep({BEAT_INTERVAL})")
    expect(r["frozen"] < 0.6 * r["elapsed"], f"the event loop was frozen for {r['frozen']:.2f} s of "
           f"the {r['elapsed']:.2f} s: time.sleep() in the heartbeat blocks everything; use "
           f"`await asyncio.sleep({BEAT_INTERVAL})`")
    expect(r["gap"] <= MAX_GAP, f"during a {seconds} s request the heartbeat went {r['gap']:.2f} s "
           "without a beat: it must beat every 0.05 s for as long as the request runs, whatever its "
           "length (loop until cancelled, not a fixed number of beats)")
    expect(r["late"] <= MAX_LATE, f"your function returned {r['late']:.2f} s after the response had "
           "arrived: stop the heartbeat as soon as the request is done (cancel it then), don't wait "
           "for a fixed number of beats")
    expect(r["stray"] == 0, f"the heartbeat kept beating after your function returned ({r['stray']} "
           f"more beat(s) in {QUIET_AFTER} s): cancel the heartbeat task before returning")
    expect(r["running_at_return"] == 0, "you cancelled the heartbeat but returned before it had "
           "stopped: after task.cancel(), wait for it to finish, e.g. "
           "`await asyncio.gather(task, return_exceptions=True)`")


async def check_4_1(
    fetch_with_heartbeat: Callable[[httpx.AsyncClient, str, Callable[[], None]], Awaitable[dict]],
    lab: Lab,
) -> Result:
    """fetch_with_heartbeat(client, url, beat): beat() every 0.05 s from a background task for
    exactly as long as the request runs; stop it before returning.  A short and a long request
    of lengths the learner cannot predict."""
    rng = random.Random()
    jobs = [(round(rng.uniform(low, high), 2), f"job-{rng.randrange(10**6)}") for low, high in JOBS]
    rng.shuffle(jobs)

    async def attempt() -> list[dict]:
        if is_stub(fetch_with_heartbeat):
            raise NotAttempted
        return [await _one_heartbeat(fetch_with_heartbeat, lab, s, k) for s, k in jobs]

    def verify(runs: list[dict]) -> str:
        for r in runs:
            _verify_heartbeat(r)
        lengths = " and ".join(f"{r['seconds']} s" for r in runs)
        return (f"the heartbeat beat all through requests of {lengths}, stopped when each was "
                "done, and was cancelled and awaited before you returned")

    return await run_check("4.1", attempt, verify, timeout=15)


# --- Exercise 4.2: cancel cleanly -------------------------------------------------------

QUICK_SECONDS = 0.05
SLOW_SECONDS = 1


async def check_4_2(download: Callable[[httpx.AsyncClient, str, list], Awaitable[dict]], lab: Lab) -> Result:
    """download(client, url, log): on cancellation log 'cancelled' and re-raise; always log
    'closed' last.  Keys and the moment of cancellation are drawn at random."""
    rng = random.Random()
    quick_key, slow_key = f"quick-{rng.randrange(10**6)}", f"slow-{rng.randrange(10**6)}"
    cancel_after = round(rng.uniform(0.1, 0.2), 2)

    async def attempt() -> dict:
        if is_stub(download):
            raise NotAttempted
        async with httpx.AsyncClient(timeout=10) as client:
            quick_log: list = []
            quick_url = lab.url(f"/delay/{QUICK_SECONDS}?key={quick_key}")
            quick_value = defuse(await download(client, quick_url, quick_log))
            slow_log: list = []
            task = asyncio.create_task(download(client, lab.url(f"/delay/{SLOW_SECONDS}?key={slow_key}"), slow_log))
            await asyncio.sleep(cancel_after)
            task.cancel()
            await wait_turning(task, 3)
            if not task.done():  # the learner's code ignored the cancellation altogether
                task.cancel()
                await asyncio.wait([task], timeout=2)
                if not task.done():
                    abandon(task)
                return {"quick_value": quick_value, "quick_log": quick_log, "slow_log": slow_log, "outcome": "unfinished", "error": None}
            error = None if task.cancelled() else task.exception()
            outcome = "cancelled" if task.cancelled() else ("raised" if error is not None else "returned")
            return {"quick_value": quick_value, "quick_log": quick_log, "slow_log": slow_log, "outcome": outcome, "error": error}

    def verify(r: dict) -> str:
        value = r["quick_value"]
        reject_awaitable(value, "download")
        reject_response(value, "download")
        expect(isinstance(value, dict) and value.get("key") == quick_key,
               f"when nothing cancels it, download() should return the JSON body of `url` (a dict "
               f"with key {quick_key!r}), got {short(value)}")
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
