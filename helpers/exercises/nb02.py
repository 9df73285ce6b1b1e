"""Checkers for notebook 02 (coroutines and the event loop)."""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, expect, is_stub, run_check
from helpers.lab import Lab
from helpers.services import data
from helpers.timing import Stopwatch

USER_IDS = (4, 1, 7)
TICKS = 4

PUZZLE_LINES = [
    "both tasks created",
    "sleepy starts",
    "quick starts",
    "helper runs",
    "quick ends",
    "sleepy ends",
    "sleepy_task awaited",
    "quick_task awaited",
]


def _never_awaited(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning) and "never awaited" in str(w.message)]


async def check_2_1(user_emails: Callable[[httpx.AsyncClient, list[int]], Awaitable[list[str]]], lab: Lab) -> Result:
    """user_emails(client, user_ids) must await fetch_user for each id and return the emails in order."""
    user_ids = list(USER_IDS)
    expected = [data.users()[i - 1]["email"] for i in user_ids]

    async def attempt() -> tuple[object, str | None, list[str]]:
        if is_stub(user_emails):
            raise NotAttempted
        value: object = None
        error: str | None = None
        # A forgotten await leaves coroutine objects behind; their "never awaited" warning
        # is the evidence we want, and it must not leak to the notebook's stderr.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    value = user_emails(client, user_ids)
                    if inspect.isawaitable(value):
                        value = await value
            except Exception as exc:  # noqa: BLE001 - reported below, one sentence
                error = f"{type(exc).__name__}: {exc}"
                del exc
            if isinstance(value, list):
                for item in value:
                    if inspect.iscoroutine(item):
                        item.close()  # never ran; closing it is what finally warns
            gc.collect()
        return value, error, _never_awaited(caught)

    def verify(outcome: tuple[object, str | None, list[str]]) -> str:
        value, error, unawaited = outcome
        if error is not None:
            hint = ""
            if "coroutine" in error:
                hint = ": calling an async function only creates a coroutine object; `await` it to get the user's JSON"
            expect(False, f"your code raised {error}{hint}")
        if isinstance(value, list) and any(inspect.iscoroutine(v) for v in value):
            expect(False, "your list holds coroutine objects, not emails: `await fetch_user(...)` for each id, then take its 'email'")
        if unawaited:
            expect(False, f"Python warned: {unawaited[0]}. Every call to an async function needs an `await` (or a task)")
        expect(value is not None, "user_emails returned None: did you forget `return`?")
        expect(isinstance(value, list), f"return a list of emails, got {type(value).__name__}")
        expect(value == expected, f"expected {expected} (in the order of user_ids), got {value}")
        return f"{len(value)} emails in order, and no coroutine was left un-awaited"

    return await run_check("2.1", attempt, verify)


async def check_2_2(ticker: Callable[[str, int, list], Awaitable[None]], lab: Lab | None = None) -> Result:
    """ticker(name, n, log) appends f"{name}{i}" for i in range(n), letting other tasks run between ticks."""

    async def attempt() -> tuple[list[str], float]:
        if is_stub(ticker):
            raise NotAttempted
        expect(inspect.iscoroutinefunction(ticker), "ticker must be a coroutine function: define it with `async def`")
        log: list[str] = []
        with Stopwatch() as sw:
            await asyncio.gather(ticker("A", TICKS, log), ticker("B", TICKS, log))
        return log, sw.elapsed

    def verify(outcome: tuple[list[str], float]) -> str:
        log, elapsed = outcome
        a = [x for x in log if str(x).startswith("A")]
        b = [x for x in log if str(x).startswith("B")]
        expect(a == [f"A{i}" for i in range(TICKS)] and b == [f"B{i}" for i in range(TICKS)], f"ticker('A', {TICKS}, log) should append 'A0' ... 'A{TICKS - 1}' in order; the log was {log}")
        expect(elapsed < 1.5, f"two tickers took {elapsed:.2f} s; no real waiting is needed, `await asyncio.sleep(0)` lets the other task run without a pause")
        expect(
            log != a + b,
            f"the log was {log}: B only started after A had finished, so A never let go of the loop. "
            "Awaiting a coroutine does not yield to the event loop, and time.sleep blocks it; `await asyncio.sleep(0)` after each tick suspends for real",
        )
        alternating = all(log[i][0] != log[i + 1][0] for i in range(len(log) - 1))
        expect(alternating, f"the log was {log}: A and B should take turns tick by tick; suspend once after every tick")
        return f"A and B took turns: {' '.join(log)}"

    return await run_check("2.2", attempt, verify)


async def check_2_3(prediction: list[str], puzzle: Callable[[list], Awaitable[None]], lab: Lab | None = None) -> Result:
    """prediction must equal the log that puzzle(log) actually produces."""

    async def attempt() -> list[str]:
        if is_stub(prediction):
            raise NotAttempted
        log: list[str] = []
        await puzzle(log)
        return log

    def verify(actual: list[str]) -> str:
        expect(isinstance(prediction, list), f"write your prediction as a list of strings, got {type(prediction).__name__}")
        expect(
            sorted(prediction) == sorted(actual),
            f"the program logs exactly these {len(actual)} lines, in some order: {sorted(actual)}; your list has {len(prediction)} lines, use the exact strings",
        )
        if prediction == actual:
            return "your prediction matches the run: " + " → ".join(actual)
        first = next(i for i, (p, a) in enumerate(zip(prediction, actual)) if p != a)
        hint = "trace it one task at a time: a task runs until it suspends, then the next ready task runs"
        where = {line: i for i, line in enumerate(prediction)}
        if where.get("both tasks created", 0) > min(where.get("sleepy starts", 99), where.get("quick starts", 99)):
            hint = "create_task() only schedules a task; it starts when the creating coroutine next suspends (here at `await sleepy_task`)"
        elif where.get("sleepy ends", 0) < where.get("quick starts", 99):
            hint = "asyncio.sleep(0) suspends sleepy and puts it at the back of the ready queue, behind quick"
        elif where.get("quick ends", 0) != where.get("helper runs", -9) + 1 or where.get("helper runs", 0) != where.get("quick starts", -9) + 1:
            hint = "`await helper(log)` runs helper like a function call: nothing suspends, so no other task runs in between"
        expect(False, f"position {first + 1}: you predicted {prediction[first]!r}, the run logged {actual[first]!r}. Hint: {hint}")
        return ""  # not reached

    return await run_check("2.3", attempt, verify)
