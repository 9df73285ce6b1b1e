"""Notebook 02's checkers against the real services: stub, wrong answers, right answer."""

from __future__ import annotations

import asyncio
import time
import warnings

import pytest

from helpers.checks import Outcome
from helpers.exercises import nb02

# --- Exercise 2.1: the forgotten await ---------------------------------------------------


def _email_functions(lab):
    async def fetch_user(client, user_id):
        response = await client.get(lab.url(f"/users/{user_id}"))
        response.raise_for_status()
        return response.json()

    async def stub(client, user_ids):
        ...

    async def subscripts_a_coroutine(client, user_ids):
        return [fetch_user(client, user_id)["email"] for user_id in user_ids]

    async def returns_coroutines(client, user_ids):
        return [fetch_user(client, user_id) for user_id in user_ids]

    async def one_forgotten(client, user_ids):  # right result, but one call is never awaited
        fetch_user(client, user_ids[0])
        return [(await fetch_user(client, user_id))["email"] for user_id in user_ids]

    async def wrong_field(client, user_ids):
        return [(await fetch_user(client, user_id))["name"] for user_id in user_ids]

    async def right_one_by_one(client, user_ids):
        emails = []
        for user_id in user_ids:
            user = await fetch_user(client, user_id)
            emails.append(user["email"])
        return emails

    async def right_gathered(client, user_ids):
        users = await asyncio.gather(*(fetch_user(client, user_id) for user_id in user_ids))
        return [user["email"] for user in users]

    async def hard_coded(client, user_ids):
        return ["ada@example.org", "grace@example.org", "alan@example.org"]

    async def ignores_ids(client, user_ids):
        users = [await fetch_user(client, i) for i in (4, 1, 7)]
        return [u["email"] for u in users] + [u["email"] for u in users][: len(user_ids) - 3]

    async def user_dicts(client, user_ids):
        return [await fetch_user(client, i) for i in user_ids]

    async def responses(client, user_ids):
        return [await client.get(lab.url(f"/users/{i}")) for i in user_ids]

    return {
        "hard_coded": hard_coded,
        "ignores_ids": ignores_ids,
        "user_dicts": user_dicts,
        "responses": responses,
        "stub": stub,
        "subscripts_a_coroutine": subscripts_a_coroutine,
        "returns_coroutines": returns_coroutines,
        "one_forgotten": one_forgotten,
        "wrong_field": wrong_field,
        "right_one_by_one": right_one_by_one,
        "right_gathered": right_gathered,
    }


def _run_2_1(fn, lab):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker must not let a "never awaited" warning escape
        return asyncio.run(nb02.check_2_1(fn, lab))


def test_2_1_stub_is_not_attempted(lab):
    assert _run_2_1(_email_functions(lab)["stub"], lab).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("subscripts_a_coroutine", ["TypeError", "await"]),
        ("returns_coroutines", ["coroutine objects", "await"]),
        ("one_forgotten", ["never awaited", "await"]),
        ("wrong_field", ["expected"]),
        ("hard_coded", ["the server saw no request"]),
        ("ignores_ids", ["the server saw no request for user(s)"]),
        ("user_dicts", ["whole users"]),
        ("responses", ["return response.json(), not the Response"]),
    ],
)
def test_2_1_wrong_answers_say_what_is_wrong(lab, name, words):
    result = _run_2_1(_email_functions(lab)[name], lab)
    assert result.outcome is Outcome.WRONG
    for word in words:
        assert word in result.message, result.message


@pytest.mark.parametrize("name", ["right_one_by_one", "right_gathered"])
def test_2_1_right_answers_pass(lab, name):
    result = _run_2_1(_email_functions(lab)[name], lab)
    assert result.outcome is Outcome.PASSED, result.message


# --- Exercise 2.2: take turns ------------------------------------------------------------


async def stub_ticker(name, n, log):
    ...


async def greedy_ticker(name, n, log):  # awaits a coroutine, which does not yield
    async def tick(i):
        log.append(f"{name}{i}")

    for i in range(n):
        await tick(i)


async def sleepy_blocking_ticker(name, n, log):
    for i in range(n):
        log.append(f"{name}{i}")
        time.sleep(0)  # blocks (briefly), never suspends


def sync_ticker(name, n, log):
    for i in range(n):
        log.append(f"{name}{i}")


async def right_ticker(name, n, log):
    for i in range(n):
        log.append(f"{name}{i}")
        await asyncio.sleep(0)


async def yield_first_ticker(name, n, log):
    for i in range(n):
        await asyncio.sleep(0)
        log.append(f"{name}{i}")


def test_2_2_stub_is_not_attempted():
    assert asyncio.run(nb02.check_2_2(stub_ticker)).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize("ticker", [greedy_ticker, sleepy_blocking_ticker])
def test_2_2_never_suspending_is_wrong(ticker):
    result = asyncio.run(nb02.check_2_2(ticker))
    assert result.outcome is Outcome.WRONG
    assert "asyncio.sleep(0)" in result.message and "never let go" in result.message


def test_2_2_sync_function_is_wrong():
    result = asyncio.run(nb02.check_2_2(sync_ticker))
    assert result.outcome is Outcome.WRONG
    assert "async def" in result.message


async def really_waits_ticker(name, n, log):
    for i in range(n):
        log.append(f"{name}{i}")
        await asyncio.sleep(0.001)  # takes turns, but waits: the exercise says no real waiting


async def hard_coded_ticker(name, n, log):
    for i in range(4):  # ignores n
        log.append(f"A{i}" if name == "A" else f"{name}{i}")
        await asyncio.sleep(0)


async def time_sleep_ticker(name, n, log):
    for i in range(n):
        log.append(f"{name}{i}")
        time.sleep(0.01)


async def yields_every_other_tick(name, n, log):
    for i in range(n):
        log.append(f"{name}{i}")
        if i % 2:
            await asyncio.sleep(0)


@pytest.mark.parametrize(
    ("ticker", "words"),
    [
        (really_waits_ticker, "waited on a timer"),
        (hard_coded_ticker, "should append"),
        (time_sleep_ticker, "never let go"),
        (yields_every_other_tick, "take turns tick by tick"),
    ],
)
def test_2_2_wrong_answer_classes(ticker, words):
    result = asyncio.run(nb02.check_2_2(ticker))
    assert result.outcome is Outcome.WRONG, result
    assert words in result.message, result.message


async def queue_ticker(name, n, log):  # right, written another way: a future that is not done
    for i in range(n):
        log.append(f"{name}{i}")
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, None)
        await future


@pytest.mark.parametrize("ticker", [right_ticker, yield_first_ticker, queue_ticker])
def test_2_2_right_answers_pass(ticker):
    result = asyncio.run(nb02.check_2_2(ticker))
    assert result.outcome is Outcome.PASSED, result.message


# --- Exercise 2.3: predict the order -----------------------------------------------------


async def helper(log):
    log.append("helper runs")


async def quick(log):
    log.append("quick starts")
    await helper(log)
    log.append("quick ends")


async def sleepy(log):
    log.append("sleepy starts")
    await asyncio.sleep(0)
    log.append("sleepy ends")


async def puzzle(log):
    sleepy_task = asyncio.create_task(sleepy(log))
    quick_task = asyncio.create_task(quick(log))
    log.append("both tasks created")
    await sleepy_task
    log.append("sleepy_task awaited")
    await quick_task
    log.append("quick_task awaited")


RIGHT = list(nb02.PUZZLE_LINES)


def test_2_3_stub_is_not_attempted():
    assert asyncio.run(nb02.check_2_3(..., puzzle)).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize(
    ("prediction", "hint"),
    [
        (["sleepy starts", "quick starts", "helper runs", "quick ends", "both tasks created", "sleepy ends", "sleepy_task awaited", "quick_task awaited"], "create_task() only schedules"),
        (["both tasks created", "sleepy starts", "sleepy ends", "quick starts", "helper runs", "quick ends", "sleepy_task awaited", "quick_task awaited"], "back of the ready queue"),
        (["both tasks created", "sleepy starts", "quick starts", "sleepy ends", "helper runs", "quick ends", "sleepy_task awaited", "quick_task awaited"], "like a function call"),
        (["both tasks created", "sleepy starts", "quick starts"], "exactly these 8 lines"),
    ],
)
def test_2_3_wrong_predictions_get_a_hint(prediction, hint):
    result = asyncio.run(nb02.check_2_3(prediction, puzzle))
    assert result.outcome is Outcome.WRONG
    assert hint in result.message, result.message


def test_2_3_right_prediction_passes():
    assert RIGHT == ["both tasks created", "sleepy starts", "quick starts", "helper runs", "quick ends", "sleepy ends", "sleepy_task awaited", "quick_task awaited"]
    result = asyncio.run(nb02.check_2_3(RIGHT, puzzle))
    assert result.outcome is Outcome.PASSED, result.message


async def fixed_four_ticker(name, n, log):  # ignores n: uses the 4 of the example
    for i in range(4):
        log.append(f"{name}{i}")
        await asyncio.sleep(0)


def test_2_2_ignoring_n_always_fails():
    for _ in range(5):
        result = asyncio.run(nb02.check_2_2(fixed_four_ticker))
        assert result.outcome is Outcome.WRONG and "should append" in result.message, result
