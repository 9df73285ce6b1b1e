"""Checkers for notebook 02 (coroutines and the event loop)."""

from __future__ import annotations

import asyncio
import gc
import inspect
import random
import warnings
from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.exercises.common import check_order, defuse, reject_awaitable, reject_response, short
from helpers.lab import Lab
from helpers.services import data

SIZES = (3, 4)  # two calls of user_emails, with ids drawn at random

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


def _one_call(value: object, error: str | None, unawaited: list[str], user_ids: list[int],
              seen: list[str]) -> None:
    expected = [data.users()[i - 1]["email"] for i in user_ids]
    if error is not None:
        hint = ""
        if "coroutine" in error:
            hint = (": calling an async function only creates a coroutine object; `await` it to "
                    "get the user's JSON")
        expect(False, f"your code raised {error}{hint}")
    if isinstance(value, list) and any(inspect.iscoroutine(v) for v in value):
        expect(False, "your list holds coroutine objects, not emails: `await fetch_user(...)` for "
               "each id, then take its 'email'")
    if unawaited:
        expect(False, f"Python warned: {unawaited[0]}. Every call to an async function needs an "
               "`await` (or a task)")
    expect(value is not None, "user_emails returned None: did you forget `return`?")
    reject_awaitable(value, "user_emails")
    expect(isinstance(value, list), f"return a list of emails, got {type(value).__name__}")
    reject_response(value, "user_emails")
    expect(not any(isinstance(v, dict) for v in value), "your list holds whole users (dicts): "
           "take the 'email' field of each")
    asked = [i for i in user_ids if f"/users/{i}" not in seen]
    expect(not asked, f"the server saw no request for user(s) {asked}: call fetch_user for every id "
           "in `user_ids` (the check uses different ids each time)")
    check_order(value, expected, "emails")
    expect(value == expected, f"for user_ids {user_ids} expected {expected}, got {short(value)}")


async def check_2_1(
    user_emails: Callable[[httpx.AsyncClient, list[int]], Awaitable[list[str]]], lab: Lab
) -> Result:
    """user_emails(client, user_ids) must await fetch_user for each id and return the emails in
    order.  Two calls with ids the learner cannot predict; the server says what was fetched."""
    rng = random.Random()
    ids = rng.sample(range(1, len(data.users()) + 1), sum(SIZES))
    calls = [ids[: SIZES[0]], ids[SIZES[0] :]]

    async def run_one(client: httpx.AsyncClient, user_ids: list[int]) -> tuple:
        value: object = None
        error: str | None = None
        # A forgotten await leaves coroutine objects behind; their "never awaited" warning
        # is the evidence we want, and it must not leak to the notebook's stderr.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lab.reset_gauge()
            try:
                value = user_emails(client, list(user_ids))
                if inspect.isawaitable(value):
                    value = await value
                defuse(value)  # an un-awaited gather() must not outlive the client quietly
            except Exception as exc:  # noqa: BLE001 - the learner's error, reported in one sentence
                error = f"{type(exc).__name__}: {exc}"
                del exc
            if isinstance(value, list):
                for item in value:
                    if inspect.iscoroutine(item):
                        item.close()  # never ran; closing it is what finally warns
            gc.collect()
        seen = [s["path"] for s in lab.gauge().spans]
        return value, error, _never_awaited(caught), user_ids, seen

    async def attempt() -> list[tuple]:
        if is_stub(user_emails):
            raise NotAttempted
        async with httpx.AsyncClient(timeout=10) as client:
            return [await run_one(client, user_ids) for user_ids in calls]

    def verify(runs: list[tuple]) -> str:
        for run in runs:
            _one_call(*run)
        return (f"{len(runs)} calls with different ids: emails in order, every user fetched from "
                "the server, and no coroutine left un-awaited")

    return await run_check("2.1", attempt, verify)


class TimerSpy:
    """Notes every timer a set of tasks schedules on the running loop (asyncio.sleep(d > 0) does).

    It wraps the loop's call_at on the instance for the duration of the check, and counts only
    calls made from the tasks under test, so timers of other code in the kernel do not count.
    """

    def __init__(self) -> None:
        self.tasks: set[asyncio.Future] = set()
        self.delays: list[float] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> TimerSpy:
        loop = asyncio.get_running_loop()
        original = loop.call_at

        def call_at(when: float, *args: object, **kwargs: object) -> asyncio.TimerHandle:
            if asyncio.current_task() in self.tasks:
                self.delays.append(when - loop.time())
            return original(when, *args, **kwargs)

        try:
            loop.call_at = call_at  # type: ignore[method-assign]
            self._loop = loop
        except AttributeError:  # a loop written in C (uvloop): no spying, the check is skipped
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            del self._loop.call_at


def _expected_turns(names: tuple[str, str], n: int) -> list[str]:
    return [f"{name}{i}" for i in range(n) for name in names]


def _verify_turns(log: list, names: tuple[str, str], n: int, timers: list[float]) -> None:
    first, second = names
    call = f"ticker({first!r}, {n}, log)"
    mine = [x for x in log if str(x).startswith(first)]
    theirs = [x for x in log if str(x).startswith(second)]
    expect(mine == [f"{first}{i}" for i in range(n)] and theirs == [f"{second}{i}" for i in range(n)],
           f"{call} should append {first}0 ... {first}{n - 1} (f\"{{name}}{{i}}\" for i in "
           f"range(n)) in order; the log was {short(log)}")
    expect(len(log) == 2 * n, f"the log should hold exactly {2 * n} entries, got {short(log)}")
    expect(log != mine + theirs,
           f"the log was {short(log)}: {second} only started after {first} had finished, so "
           f"{first} never let go of the loop. Awaiting a coroutine does not yield to the event "
           "loop, and time.sleep blocks it; `await asyncio.sleep(0)` after each tick suspends")
    expect(log == _expected_turns(names, n),
           f"the log was {short(log)}: the two tickers should take turns tick by tick; "
           "suspend once after every tick")
    if timers:
        raise Wrong(f"your ticker waited on a timer ({len(timers)} time(s), e.g. "
                    f"asyncio.sleep({max(timers):.2g})): the exercise asks for no real waiting. "
                    "`await asyncio.sleep(0)` yields to the other task without a pause")


async def check_2_2(ticker: Callable[[str, int, list], Awaitable[None]], lab: Lab | None = None) -> Result:
    """ticker(name, n, log) appends f"{name}{i}" for i in range(n), letting other tasks run
    between ticks without waiting.  Two rounds, names and two different n drawn at random (never
    the 4 of the exercise's example), so nothing can be hard-coded."""
    rng = random.Random()
    rounds = [(tuple(rng.sample("ABCDEFGHKMNPRSTUVWXYZ", 2)), n) for n in rng.sample([3, 5, 6, 7], 2)]

    async def attempt() -> list[tuple[list[str], list[float]]]:
        if is_stub(ticker):
            raise NotAttempted
        expect(inspect.iscoroutinefunction(ticker),
               "ticker must be a coroutine function: define it with `async def`")
        runs = []
        for names, n in rounds:
            log: list[str] = []
            with TimerSpy() as spy:
                tasks = [asyncio.ensure_future(ticker(name, n, log)) for name in names]
                spy.tasks.update(tasks)
                await asyncio.gather(*tasks)
            runs.append((log, spy.delays))
        return runs

    def verify(runs: list[tuple[list[str], list[float]]]) -> str:
        for (log, timers), (names, n) in zip(runs, rounds):
            _verify_turns(log, names, n, timers)
        return ("two rounds of two tickers (names and counts drawn at random) took turns tick by "
                "tick, without waiting on any timer")

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
        expect(isinstance(prediction, list),
               f"write your prediction as a list of strings, got {type(prediction).__name__}")
        odd = [p for p in prediction if not isinstance(p, str)]
        expect(not odd, f"every item of the prediction should be one of the logged strings, got {short(odd)}")
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
