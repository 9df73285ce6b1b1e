"""Notebook 12's checkers: stubs, the wrong answers a struggling learner writes, right answers.

12.1's answers are test files (text); the checker runs each with pytest against hidden
versions of fetch_all.  12.2's answers are functions run against random pipelines.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

import pytest

from helpers.checks import Outcome
from helpers.exercises import nb12 as ex


def run(checker, answer, lab=None):
    return asyncio.run(checker(answer, lab))


# --- Exercise 12.1: a test file --------------------------------------------------------------

HEAD = """
import asyncio
import time

import pytest

from fanout import fetch_all


def fake_fetch(delays, finished):
    async def fetch(key):
        try:
            await asyncio.sleep(delays[key])
            return key.upper()
        finally:
            finished.append(key)
    return fetch
"""

ORDER_TEST = """
@pytest.mark.asyncio
async def test_order():
    delays, finished = {"a": 0.05, "b": 0.01, "c": 0.03}, []
    assert await fetch_all(fake_fetch(delays, finished), ["a", "b", "c"], timeout=1) == [
        "A", "B", "C"]
"""

TIMEOUT_TEST = """
@pytest.mark.asyncio
async def test_timeout():
    delays, finished = {"fast": 0.01, "slow": 0.5}, []
    with pytest.raises(TimeoutError):
        await fetch_all(fake_fetch(delays, finished), ["fast", "slow"], timeout=0.05)
"""

CANCEL_TEST = TIMEOUT_TEST.replace("test_timeout", "test_timeout_and_cancel") + """\
    assert finished == ["fast", "slow"]
"""

STUB = """
import asyncio

import pytest

from fanout import fetch_all


@pytest.mark.asyncio
async def test_fetch_all():
    ...
"""

RIGHT = HEAD + ORDER_TEST + CANCEL_TEST

# Right, written differently: sync tests driving asyncio.run, and an Event-based slow fetch.
RIGHT_WITH_ASYNCIO_RUN = """
import asyncio

import pytest

from fanout import fetch_all


def test_order_with_asyncio_run():
    async def fetch(n):
        await asyncio.sleep(0.01 * (5 - n))
        return n * 10
    assert asyncio.run(fetch_all(fetch, [1, 2, 3, 4], timeout=2)) == [10, 20, 30, 40]


def test_deadline_and_cleanup():
    cancelled = []

    async def fetch(n):
        try:
            await asyncio.sleep(0.4 if n == 2 else 0)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    async def scenario():
        with pytest.raises(TimeoutError):
            await fetch_all(fetch, [1, 2], timeout=0.05)
        return list(cancelled)

    assert asyncio.run(scenario()) == [2]
"""

ALWAYS_PASSES = """
import pytest

from fanout import fetch_all


@pytest.mark.asyncio
async def test_it_exists():
    assert callable(fetch_all)
"""

ALWAYS_FAILS = """
import asyncio

import pytest

from fanout import fetch_all


@pytest.mark.asyncio
async def test_broken():
    assert await fetch_all(lambda k: asyncio.sleep(0, k), ["a"], timeout=1) == ["b"]
"""

HANGS = HEAD + """
@pytest.mark.asyncio
async def test_waits_for_ever():
    await asyncio.Event().wait()
"""

SLEEPS_FOR_REAL = HEAD + """
@pytest.mark.asyncio
async def test_order_slowly():
    delays, finished = {"a": 1.2, "b": 0.4, "c": 0.8}, []
    assert await fetch_all(fake_fetch(delays, finished), ["a", "b", "c"], timeout=5) == [
        "A", "B", "C"]


@pytest.mark.asyncio
async def test_order_slowly_again():
    delays, finished = {"a": 1.2, "b": 0.4}, []
    assert await fetch_all(fake_fetch(delays, finished), ["a", "b"], timeout=5) == ["A", "B"]
"""

UNMARKED = HEAD + ORDER_TEST.replace("@pytest.mark.asyncio\n", "") + CANCEL_TEST

ONLY_ORDER = HEAD + ORDER_TEST

NO_CANCEL_CHECK = HEAD + ORDER_TEST + TIMEOUT_TEST

SLOW_FETCH_NEVER_ENDS = HEAD + ORDER_TEST + """
@pytest.mark.asyncio
async def test_timeout_with_a_fetch_that_never_ends():
    finished = []

    async def fetch(key):
        try:
            if key == "slow":
                await asyncio.Event().wait()
            return key
        finally:
            finished.append(key)

    with pytest.raises(TimeoutError):
        await fetch_all(fetch, ["fast", "slow"], timeout=0.05)
    assert finished == ["fast", "slow"]
"""

BLOCKING_FAKE = """
import asyncio
import time

import pytest

from fanout import fetch_all


async def fetch(key):
    time.sleep({"a": 0.03, "b": 0.01, "c": 0.02}[key])  # blocks: the fetches run one by one
    return key.upper()


@pytest.mark.asyncio
async def test_order():
    assert await fetch_all(fetch, ["a", "b", "c"], timeout=1) == ["A", "B", "C"]
""" + HEAD.split("from fanout import fetch_all")[1] + CANCEL_TEST

SYNTAX_ERROR = HEAD + "\nasync def test_oops(:\n    pass\n"

NO_TESTS = HEAD  # only a helper, no test_ function


def test_12_1_stub_is_not_attempted():
    assert run(ex.check_12_1, STUB).outcome is Outcome.NOT_ATTEMPTED
    assert run(ex.check_12_1, ...).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (ALWAYS_PASSES, "order they FINISH"),
        (ALWAYS_FAILS, "against a CORRECT fetch_all"),
        (HANGS, "hung against a correct fetch_all"),
        (SLEEPS_FOR_REAL, "they wait for real"),
        (UNMARKED, "without @pytest.mark.asyncio"),
        (ONLY_ORDER, "ignores `timeout`"),
        (NO_CANCEL_CHECK, "leaves the slow fetches running"),
        (SLOW_FETCH_NEVER_ENDS, "hung until pytest-timeout"),
        (BLOCKING_FAKE, "order they FINISH"),
        (SYNTAX_ERROR, "syntax error on line"),
        (NO_TESTS, "found no tests"),
    ],
    ids=["always-passes", "always-fails", "hangs", "sleeps", "unmarked", "only-order",
         "no-cancel-check", "never-ending-fetch", "blocking-fake", "syntax", "no-tests"],
)
def test_12_1_wrong_answers_get_a_specific_hint(answer, hint):
    started = time.perf_counter()
    result = run(ex.check_12_1, answer)
    assert result.outcome is Outcome.WRONG, result
    assert hint in result.message, result.message
    assert time.perf_counter() - started < 45


@pytest.mark.parametrize("answer", [RIGHT, RIGHT_WITH_ASYNCIO_RUN], ids=["marked", "asyncio-run"])
def test_12_1_right_answers_pass(answer):
    result = run(ex.check_12_1, answer)
    assert result.outcome is Outcome.PASSED, result.message


def test_12_1_missing_plugin_is_not_blamed_on_the_learner(monkeypatch, capsys):
    real_find_spec = ex.importlib.util.find_spec
    monkeypatch.setattr(ex.importlib.util, "find_spec",
                        lambda name: None if name == "pytest_asyncio" else real_find_spec(name))
    result = run(ex.check_12_1, RIGHT)
    assert result.outcome is not Outcome.WRONG
    printed = capsys.readouterr().out
    assert "not about your answer" in printed and "❌" not in printed


def test_12_1_a_wrong_type_is_wrong():
    result = run(ex.check_12_1, ["test_order"])
    assert result.outcome is Outcome.WRONG and "a str" in result.message


# --- Exercise 12.2: find_blocker -------------------------------------------------------------


class Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


async def _debug_run(pipeline, *, threshold=0.1, debug=True, remove=True):
    loop = asyncio.get_running_loop()
    keep, logger = Keep(), logging.getLogger("asyncio")
    logger.addHandler(keep)
    loop.set_debug(debug)
    loop.slow_callback_duration = threshold
    try:
        await pipeline()
    finally:
        loop.set_debug(False)
        if remove:
            logger.removeHandler(keep)
    return [m for m in keep.messages if m.startswith("Executing")]


def _slowest(messages):
    found = [re.search(r"coro=<(\w+)\(\).*took ([\d.]+) seconds", m) for m in messages]
    found = [f for f in found if f]
    return max(found, key=lambda f: float(f[2]))[1] if found else None


async def find_blocker_stub(pipeline):
    ...


async def find_blocker_right(pipeline):
    return _slowest(await _debug_run(pipeline))


async def find_blocker_right_first_report(pipeline):
    """Right too: with a 0.1 s threshold only the blocking step is reported."""
    messages = await _debug_run(pipeline, threshold=0.15)
    return re.search(r"coro=<(\w+)\(", messages[0])[1]


async def find_blocker_hard_coded(pipeline):
    await _debug_run(pipeline)
    return "load_report"  # the name it had when the learner ran it once


async def find_blocker_no_debug(pipeline):
    return _slowest(await _debug_run(pipeline, debug=False))


async def find_blocker_task_name(pipeline):
    messages = await _debug_run(pipeline)
    return re.search(r"name='([^']+)'", messages[0])[1]


async def find_blocker_whole_message(pipeline):
    return (await _debug_run(pipeline))[0]


async def find_blocker_never_awaits(pipeline):
    pipeline()
    return "parse_orders"


async def find_blocker_threshold_too_high(pipeline):
    return _slowest(await _debug_run(pipeline, threshold=1.0))


async def find_blocker_leaves_handler(pipeline):
    return _slowest(await _debug_run(pipeline, remove=False))


async def find_blocker_first_of_everything(pipeline):
    """Threshold 0: every callback is 'slow'; the first report is just the first step to run."""
    messages = await _debug_run(pipeline, threshold=0.0)
    names = [re.search(r"coro=<(\w+)\(", m) for m in messages]
    skip = ("both", "find_blocker_first_of_everything")  # the checker's and our own coroutine
    return next(n[1] for n in names if n and n[1] not in skip)


async def find_blocker_hangs(pipeline):
    await asyncio.Event().wait()


async def find_blocker_returns_response_like(pipeline):
    await _debug_run(pipeline)
    return {"name": "x"}


def test_12_2_stub_is_not_attempted():
    assert run(ex.check_12_2, find_blocker_stub).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (find_blocker_hard_coded, "do not hard-code"),
        (find_blocker_no_debug, "debug mode OFF"),
        (find_blocker_task_name, "TASK's name"),
        (find_blocker_whole_message, "not the whole log message"),
        (find_blocker_never_awaits, "never awaited"),
        (find_blocker_threshold_too_high, "slow_callback_duration was 1 s"),
        (find_blocker_leaves_handler, "remove it in a `finally:`"),
        (find_blocker_first_of_everything, "not the one that blocks|AWAITS a long sleep"),
        (find_blocker_hangs, "still running after"),
        (find_blocker_returns_response_like, "as a str"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[len("find_blocker_"):] or None,
)
def test_12_2_wrong_answers_get_a_specific_hint(answer, hint):
    result = run(ex.check_12_2, answer)
    assert result.outcome is Outcome.WRONG, result
    assert re.search(hint, result.message), result.message
    assert not [h for h in logging.getLogger("asyncio").handlers if isinstance(h, Keep)]


@pytest.mark.parametrize("answer", [find_blocker_right, find_blocker_right_first_report])
def test_12_2_right_answers_pass_every_time(answer):
    for _ in range(3):
        result = run(ex.check_12_2, answer)
        assert result.outcome is Outcome.PASSED, result.message
