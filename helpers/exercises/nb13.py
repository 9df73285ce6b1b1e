"""Checkers for notebook 13 (the capstone ETL pipeline).

Both checkers run the learner's code on a fresh event loop in a daemon thread:
a `time.sleep`, a CPU loop, a swallowed CancelledError or an await that never
finishes can only stall that thread, never the notebook's loop, so the check
always ends (run_check's deadline) with a sentence about what went wrong.
Parameters (latencies, targets, ids, tags, limits) are drawn fresh on every
check, so an answer can only pass by doing the work.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import math
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

import aiohttp

from helpers.checks import NotAttempted, Wrong, expect, is_stub, run_check
from helpers.tempdir import kernel_tempdir

_ABANDONED: list[asyncio.AbstractEventLoop] = []  # loops whose tasks never ended: kept, never closed


class CheckerError(RuntimeError):
    """The checker itself failed (not the learner's answer)."""


def in_own_loop(make: Callable[[], Coroutine[Any, Any, Any]]) -> Future:
    """Run make() on a new event loop in a daemon thread; the Future gets its result or error.

    Non-Exception errors (CancelledError, KeyboardInterrupt, SystemExit) raised by
    the learner's code come back as Wrong, so they never escape into the notebook.
    """
    future: Future = Future()

    def settle(setter: Callable, value: object) -> None:
        if not future.done():
            try:
                setter(value)
            except Exception:  # the waiter gave up (timed out) meanwhile
                pass

    def main() -> None:
        loop = asyncio.new_event_loop()
        try:
            settle(future.set_result, loop.run_until_complete(make()))
        except Exception as exc:
            settle(future.set_exception, exc)
        except BaseException as exc:  # noqa: BLE001 - CancelledError, KeyboardInterrupt, SystemExit
            settle(future.set_exception, Wrong(f"your code raised {type(exc).__name__}; let only real errors out, and do not raise CancelledError yourself"))
        finally:
            leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in leftovers:
                task.cancel()
            if leftovers:
                try:
                    loop.run_until_complete(asyncio.wait(leftovers, timeout=0.5))
                except BaseException:  # noqa: BLE001 - whatever the learner's tasks do while dying
                    pass
            stuck = [t for t in leftovers if not t.done()]
            for task in stuck:  # the learner's task refuses to end; do not log it again at exit
                try:
                    task._log_destroy_pending = False  # asyncio's own flag (Python and C tasks)
                except AttributeError:  # a future Python without it: at worst one line at exit
                    pass
            if stuck:
                _ABANDONED.append(loop)  # closing would log "Task was destroyed but it is pending"
            else:
                loop.close()

    threading.Thread(target=main, name="nb13-check", daemon=True).start()
    return future


async def _call(fn: Callable, *args: object) -> Any:
    value = fn(*args)
    if inspect.isawaitable(value):
        value = await value
    return value


# --- Exercise 13.1: tune the enrichment stage ------------------------------------------------

CAP = 150  # requests the API allows at once
RECORDS = 300
ATTEMPTS = 2
SLACK = 0.85  # measured throughput must reach this share of the target (a loaded machine)
TUNE_SECONDS = 5.0  # tune() computes two numbers; anything slower is stuck
HOG = 3.0  # more than this many times the needed workers hogs the shared API


def _config(value: object) -> tuple[int, float]:
    expect(isinstance(value, dict), f'tune() must return a dict like {{"workers": 20, "timeout": 0.5}}, got {type(value).__name__}')
    workers, timeout = value.get("workers"), value.get("timeout")
    expect(isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1, f'"workers" must be a whole number >= 1, got {workers!r}')
    expect(isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0, f'"timeout" must be a number of seconds > 0, got {timeout!r}')
    expect(workers <= CAP, f"you asked for {workers} workers, but the API allows at most {CAP} requests at once")
    return workers, float(timeout)


async def _tuned_run(api: str, workers: int, timeout: float, latency: float, jitter: float, salt: int) -> tuple[dict, list[float]]:
    """The checker's own stage: `workers` workers, each call timed out and tried ATTEMPTS times."""
    queue: asyncio.Queue = asyncio.Queue(50)
    stored: dict[int, int] = {}
    finished: list[float] = []
    problems: list[int] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        while (ident := await queue.get()) is not None:
            for _ in range(ATTEMPTS):
                try:
                    async with asyncio.timeout(timeout):
                        async with session.get(f"{api}/delay/{latency}", params={"jitter": str(jitter), "key": f"c{salt}-{ident}"}) as resp:
                            await resp.read()
                            if resp.status != 200:
                                problems.append(resp.status)
                                return
                    stored[ident] = stored.get(ident, 0) + 1
                    finished.append(time.perf_counter())
                    break
                except (TimeoutError, aiohttp.ClientError):
                    continue

    connector = aiohttp.TCPConnector(limit=CAP)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with asyncio.TaskGroup() as tg:
            for _ in range(workers):
                tg.create_task(worker(session))
            for ident in range(1, RECORDS + 1):
                await queue.put(ident)
            for _ in range(workers):
                await queue.put(None)
    if problems:
        raise CheckerError(f"the course API answered {problems[0]} to the checker's own request")
    return stored, sorted(finished)


def _steady_rate(finished: list[float]) -> float:
    """Records/s between the 10th and 90th percentile completions (ramp-up and tail left out)."""
    lo, hi = int(0.1 * (len(finished) - 1)), int(0.9 * (len(finished) - 1))
    span = finished[hi] - finished[lo]
    return (hi - lo) / span if span > 0 else float("inf")


def _needed(latency: float, jitter: float, target: int) -> float:
    """Workers that just reach `target` records/s when a call takes latency + jitter/2 on average."""
    return max(1.0, target * (latency + jitter / 2))


def tune_cases(rng: random.Random) -> list[tuple[float, float, int]]:
    """Two (latency, jitter, target) cases so far apart that no fixed number of workers passes both.

    A fixed W passes a case only if SLACK * needed <= W (throughput) and W <= HOG * needed (not
    hogging); drawn freely, about 1 draw in 45 let some W pass both.  Drawn until the slow case
    needs more than HOG times the fast one's workers, with 25 % to spare for a noisy machine.
    """
    while True:
        cases = [
            (round(rng.uniform(0.02, 0.04), 3), round(rng.uniform(0.01, 0.02), 3), rng.randrange(150, 251, 10)),
            (round(rng.uniform(0.05, 0.10), 3), round(rng.uniform(0.25, 0.40), 3), rng.randrange(150, 251, 10)),
        ]
        if SLACK * _needed(*cases[1]) > 1.25 * HOG * _needed(*cases[0]):
            return cases


async def check_13_1(tune: Callable, lab: Any) -> Any:
    rng = random.Random()
    cases = tune_cases(rng)
    salt = rng.randrange(10**9)

    async def attempt() -> list[str]:
        """Judge each case as soon as it has run, so a slow or lossy answer fails fast."""
        if is_stub(tune):
            raise NotAttempted
        try:
            return await runs()
        except CheckerError as exc:
            raise Wrong(f"{exc}; this is not your code's fault: run `lab = await helpers.lab.start()` and the check again") from None

    async def runs() -> list:
        seen = []
        for latency, jitter, target in cases:
            try:
                async with asyncio.timeout(TUNE_SECONDS):
                    value = await asyncio.wrap_future(in_own_loop(lambda: _call(tune, latency, jitter, target)))
            except TimeoutError:
                raise Wrong(f"tune({latency}, {jitter}, {target}) had not returned after {TUNE_SECONDS:g} s: it only has to compute two numbers (no sleeping, no waiting)") from None
            workers, timeout = _config(value)
            needed = _needed(latency, jitter, target)
            expect(workers <= HOG * needed, f"tune({latency}, {jitter}, {target}) asked for {workers} workers; about {math.ceil(needed)} reach the target, so {workers} hogs the shared API (use at most {HOG:g}x what the target needs)")
            call = f"tune({latency}, {jitter}, {target})"
            budget = RECORDS / (SLACK * target) * 1.5 + ATTEMPTS * min(timeout, latency + jitter) + 2
            try:
                async with asyncio.timeout(budget):
                    stored, finished = await asyncio.wrap_future(in_own_loop(lambda: _tuned_run(lab.api, workers, timeout, latency, jitter, salt)))
            except TimeoutError:
                raise Wrong(f"{call} -> {workers} workers had not moved {RECORDS} records after {budget:.0f} s, far below the target {target}/s: workers / average latency (latency + jitter/2) must reach the target, with headroom") from None
            judge(call, target, workers, timeout, latency, jitter, stored, finished)
            seen.append(f"{_steady_rate(finished):.0f}/s for a target of {target}/s")
        return seen

    def judge(call: str, target: int, workers: int, timeout: float, latency: float, jitter: float, stored: dict, finished: list) -> None:
        if any(n > 1 for n in stored.values()):
            raise CheckerError("the checker stored a record twice")
        lost = RECORDS - len(stored)
        expect(lost == 0, f"{call} -> timeout {timeout:g} s lost {lost} of {RECORDS} records: calls take up to {latency + jitter:.3f} s and a retry is just as slow, so the timeout must be longer than the slowest call (with some margin)")
        rate = _steady_rate(finished)
        expect(rate >= SLACK * target, f"{call} -> {workers} workers moved {rate:.0f} records/s, below the target {target}/s: workers / average latency (latency + jitter/2) must reach the target, with headroom")

    def verify(lines: list) -> str:
        return "no record lost, and the target throughput was met for both sets of parameters"

    return await run_check("13.1", attempt, verify, timeout=30)


# --- Exercise 13.2: add a stage ---------------------------------------------------------------

WAIT = 6.0  # seconds for the stage to deliver everything and its None (a right one needs ~1-2 s)


def tag_for(salt: int, ident: int) -> str:
    return hashlib.sha256(f"{salt}:{ident}".encode()).hexdigest()[:10]


async def _stage_run(tag_stage: Callable, api: str, ids: list[int], delays: dict, flaky: set, salt: int, limit: int) -> dict:
    inbox: asyncio.Queue = asyncio.Queue(10)
    outbox: asyncio.Queue = asyncio.Queue(10)
    calls: Counter = Counter()
    state = {"in_flight": 0, "peak": 0, "ends": 0}
    got: list = []

    async with aiohttp.ClientSession() as session:

        async def lookup(ident: int) -> str:
            if ident not in delays:
                raise KeyError(f"lookup({ident!r}): pass record['id'], the record's id")
            calls[ident] += 1
            state["in_flight"] += 1
            state["peak"] = max(state["peak"], state["in_flight"])
            try:
                if ident in flaky and calls[ident] == 1:
                    await asyncio.sleep(0.01)
                    raise ConnectionError(f"lookup({ident}) failed (injected): try again")
                async with session.get(f"{api}/delay/{delays[ident]}", params={"key": f"t{salt}-{ident}"}) as resp:
                    if resp.status != 200:
                        raise CheckerError(f"the API answered {resp.status} to the checker; restart the kernel and try again")
                    await resp.read()
                return tag_for(salt, ident)
            finally:
                state["in_flight"] -= 1

        async def feed() -> None:
            for ident in ids:
                await inbox.put({"id": ident, "title": f"record {ident}"})
            await inbox.put(None)

        async def drain() -> None:
            while (item := await outbox.get()) is not None:
                got.append(item)
            state["ends"] += 1

        stage_value = tag_stage(inbox, outbox, lookup, limit)
        if not inspect.isawaitable(stage_value):
            raise Wrong("tag_stage must be an `async def` function (it awaits the queues and lookup)")
        stage = asyncio.ensure_future(stage_value)
        feeder = asyncio.ensure_future(feed())
        drainer = asyncio.ensure_future(drain())
        started = time.perf_counter()
        done, _ = await asyncio.wait({stage, drainer}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        if done:  # one finished (or failed): the other has a second to follow
            await asyncio.wait({stage, drainer}, timeout=1.0)
        elapsed = time.perf_counter() - started
        feeder.cancel()
        if stage.done() and not stage.cancelled() and stage.exception() is not None:
            exc = stage.exception()
            leaves = _leaves(exc)
            if any(isinstance(e, CheckerError) for e in leaves):
                raise next(e for e in leaves if isinstance(e, CheckerError))
            inner = " (inside an ExceptionGroup from a TaskGroup)" if isinstance(exc, BaseExceptionGroup) else ""
            if any(isinstance(e, ConnectionError) for e in leaves):
                raise Wrong(f"your stage raised ConnectionError{inner}: lookups fail now and then, so try each record up to 3 times")
            first = leaves[0]
            raise Wrong(f"your stage raised {type(first).__name__}{inner}: {first}")
        if not drainer.done() and stage.done():
            raise Wrong(f"your stage returned, but the outbox had not received None ({len(got)} of {len(ids)} records arrived): when the inbox gives None, finish the records in flight, then put one None on the outbox")
        if not drainer.done():
            raise Wrong(f"after {WAIT:g} s the outbox had not received None ({len(got)} of {len(ids)} records arrived): when the inbox gives None, finish the records in flight, then put one None on the outbox")
        if not stage.done() and len(got) < len(ids):
            raise Wrong(f"None reached the outbox after only {len(got)} of {len(ids)} records: put None only after every record is on the outbox (wait for the records in flight first)")
        if not stage.done():
            raise Wrong(f"your stage put None on the outbox but had not returned after {WAIT:g} s: return after sending None")
        await asyncio.sleep(0.05)
        extra = outbox.qsize()
    return {"got": got, "extra": extra, "peak": state["peak"], "elapsed": elapsed, "calls": calls}


def _leaves(exc: BaseException) -> list[BaseException]:
    """The real errors inside (possibly nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _store(rows: list[dict]) -> tuple[dict[int, str], int]:
    """Store what came out in a real SQLite table; count rows the primary key refused (duplicates)."""
    path = kernel_tempdir() / f"check_13_2_{random.randrange(10**9)}.db"
    conn = sqlite3.connect(path)
    duplicates = 0
    try:
        conn.execute("CREATE TABLE tagged (id INTEGER PRIMARY KEY, title TEXT NOT NULL, tag TEXT NOT NULL)")
        for row in rows:
            try:
                conn.execute("INSERT INTO tagged VALUES (?, ?, ?)", (row["id"], str(row["title"]), str(row["tag"])))
            except sqlite3.IntegrityError:
                duplicates += 1
        conn.commit()
        stored = dict(conn.execute("SELECT id, tag FROM tagged").fetchall())
    finally:
        conn.close()
        path.unlink(missing_ok=True)
    return stored, duplicates


def stage_plans(rng: random.Random) -> list[tuple[int, list[int], dict[int, float], set[int]]]:
    """(limit, ids, delays, flaky) for two runs whose limits differ by 2 (3 and 5, or 4 and 6):
    a limit hard-coded instead of read from `limit` cannot reach both (before: one run with a
    limit in 3..6, and a hard-coded 3 always passed)."""
    first = rng.choice((3, 4))
    plans = []
    for limit in (first, first + 2):
        ids = rng.sample(range(1, 10**6), rng.randint(40, 60))
        delays = {ident: round(rng.uniform(0.02, 0.1), 3) for ident in ids}
        plans.append((limit, ids, delays, set(rng.sample(ids, len(ids) // 5))))
    return plans


async def check_13_2(tag_stage: Callable, lab: Any) -> Any:
    rng = random.Random()
    plans = stage_plans(rng)
    salt = rng.randrange(10**9)

    async def attempt() -> list[dict]:
        if is_stub(tag_stage):
            raise NotAttempted
        runs = []
        for limit, ids, delays, flaky in plans:
            try:
                async with asyncio.timeout(WAIT + 4):
                    run = await asyncio.wrap_future(in_own_loop(lambda: _stage_run(tag_stage, lab.api, ids, delays, flaky, salt, limit)))
            except TimeoutError:
                raise Wrong(f"your stage was still running after {WAIT + 4:g} s and never let its event loop run: a blocking call (time.sleep, a CPU loop) inside a coroutine?") from None
            except CheckerError as exc:
                raise Wrong(f"{exc}; this is not your code's fault: run `lab = await helpers.lab.start()` and the check again") from None
            runs.append(run)
            judge(run, limit, ids, delays)  # a wrong first run fails fast
        return runs

    def verify(runs: list[dict]) -> str:
        return "every record stored once with its tag, lookups concurrent within the limit, failures retried"

    def judge(run: dict, limit: int, ids: list[int], delays: dict[int, float]) -> None:
        rows = run["got"]
        bad = [r for r in rows if not (isinstance(r, dict) and {"id", "title", "tag"} <= set(r))]
        expect(not bad, f"put dicts with the record's fields plus 'tag' on the outbox ({{**record, 'tag': tag}}), got {str(bad[0])[:80]}" if bad else "")
        stored, duplicates = _store(rows)
        expect(duplicates == 0, f"{duplicates} record(s) reached the outbox more than once: put each record once, after its lookup succeeds")
        lost = len(set(ids) - set(stored))
        expect(lost == 0, f"{lost} of {len(ids)} records never reached the outbox: every record needs its lookup (retried on ConnectionError) and a put")
        expect(run["extra"] == 0, "something was put on the outbox after None: None must be the last thing you put")
        wrong = [i for i in ids if stored[i] != tag_for(salt, i)]
        expect(not wrong, f"record {wrong[0] if wrong else ''} has tag {stored.get(wrong[0]) if wrong else ''!r}: the tag must be what `await lookup(record['id'])` returned")
        expect(run["peak"] <= limit, f"{run['peak']} lookups ran at once, but limit was {limit}: use a Semaphore(limit) or `limit` workers")
        expect(run["peak"] >= 2, f"lookups ran one at a time: run up to limit={limit} of them concurrently (tasks + a semaphore, or workers)")
        sequential = sum(delays.values())
        expect(run["elapsed"] < 0.6 * sequential, f"{len(ids)} records took {run['elapsed']:.2f} s, nearly as long as one at a time ({sequential:.2f} s): is something blocking the loop (time.sleep?) or awaited one by one?")
        expect(run["peak"] == limit, f"at most {run['peak']} lookups ran at once, but limit={limit} allows {limit}: use exactly `limit` (Semaphore(limit) or `limit` workers); the check passes a different limit each time")

    return await run_check("13.2", attempt, verify, timeout=2 * (WAIT + 4) + 5)
