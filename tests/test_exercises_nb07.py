"""Notebook 07's checkers against the real services: stub, right answers written several ways,
and the wrong answers a struggling learner writes, each of which must get its specific hint.

The same answers are the checker-attack set (/tmp/attack-core-b/ex_7_*.py when it was run).
"""

from __future__ import annotations

import asyncio
import time

import httpx

import pytest

from helpers.checks import Outcome
from helpers.exercises import nb07 as checkers

lab = None  # set by the `use_lab` fixture: some wrong answers hard-code URLs of this lab


@pytest.fixture(autouse=True)
def use_lab(lab):
    globals()["lab"] = lab
    yield


def check(checker, answer, lab):
    return asyncio.run(checker(answer, lab))

# --- Exercise 7.1 ----------------------------------------------------------------------

async def a71_stub(client, url, seconds):
    ...


async def a71_solution(client, url, seconds):
    try:
        async with asyncio.timeout(seconds):
            response = await client.get(url)
            return response.json()
    except TimeoutError:
        return None


async def a71_alt_wait_for(client, url, seconds):
    try:
        response = await asyncio.wait_for(client.get(url), seconds)
    except TimeoutError:
        return None
    return response.json()


async def a71_alt_timeout_at(client, url, seconds):
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout_at(loop.time() + seconds):
            return (await client.get(url)).json()
    except TimeoutError:
        return None


async def a71_wait_not_cancel(client, url, seconds):
    task = asyncio.create_task(client.get(url))
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        return None
    return task.result().json()


async def a71_shielded(client, url, seconds):
    try:
        response = await asyncio.wait_for(asyncio.shield(client.get(url)), seconds)
    except TimeoutError:
        return None
    return response.json()


async def a71_httpx_timeout(client, url, seconds):
    try:
        return (await client.get(url, timeout=seconds)).json()
    except httpx.TimeoutException:
        return None


async def a71_hard_coded_deadline(client, url, seconds):
    try:
        async with asyncio.timeout(0.5):
            return (await client.get(url)).json()
    except TimeoutError:
        return None


async def a71_no_deadline(client, url, seconds):
    return (await client.get(url)).json()


async def a71_escapes(client, url, seconds):
    async with asyncio.timeout(seconds):
        return (await client.get(url)).json()


async def a71_returns_response(client, url, seconds):
    try:
        async with asyncio.timeout(seconds):
            return await client.get(url)
    except TimeoutError:
        return None


async def a71_blocking_client(client, url, seconds):
    try:
        return httpx.get(url, timeout=seconds).json()
    except httpx.TimeoutException:
        return None


async def a71_timeout_after_await(client, url, seconds):
    response = await client.get(url)
    try:
        async with asyncio.timeout(seconds):
            return response.json()
    except TimeoutError:
        return None


async def a71_always_none(client, url, seconds):
    return None


async def a71_swallows(client, url, seconds):
    try:
        async with asyncio.timeout(seconds):
            while True:
                try:
                    return (await client.get(url)).json()
                except asyncio.CancelledError:
                    continue
    except TimeoutError:
        return None


def test_7_1_stub_is_not_attempted(lab, capsys):
    assert check(checkers.check_7_1, a71_stub, lab).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [a71_solution, a71_alt_wait_for, a71_alt_timeout_at])
def test_7_1_right_answers_pass(lab, answer):
    result = check(checkers.check_7_1, answer, lab)
    assert result.outcome is Outcome.PASSED, result.message


WRONG_7_1 = [
    (a71_wait_not_cancel, 'abandoned, not cancelled'),
    (a71_shielded, 'abandoned, not cancelled'),
    (a71_httpx_timeout, "httpx's timeout= limits each wait for data"),
    (a71_hard_coded_deadline, 'Is the deadline `seconds`, the argument?'),
    (a71_no_deadline, 'it should give up at the deadline'),
    (a71_escapes, 'let TimeoutError escape'),
    (a71_returns_response, 'return response.json(), not the Response'),
    (a71_blocking_client, 'the event loop froze'),
    (a71_timeout_after_await, 'it should give up at the deadline'),
    (a71_always_none, 'Is the deadline `seconds`, the argument?'),
    (a71_swallows, 'never catch CancelledError'),
]


@pytest.mark.parametrize(("answer", "hint"), WRONG_7_1, ids=[f.__name__ for f, _ in WRONG_7_1])
def test_7_1_wrong_answers_get_their_hint(lab, answer, hint):
    result = check(checkers.check_7_1, answer, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message

# --- Exercise 7.2 ----------------------------------------------------------------------

async def a72_stub(client, urls, deadline):
    ...


async def a72_solution(client, urls, deadline):
    results = [None] * len(urls)

    async def fetch(i, url):
        results[i] = (await client.get(url)).json()

    try:
        async with asyncio.timeout(deadline):
            async with asyncio.TaskGroup() as tg:
                for i, url in enumerate(urls):
                    tg.create_task(fetch(i, url))
    except TimeoutError:
        pass
    return results


async def a72_alt_wait(client, urls, deadline):
    tasks = [asyncio.create_task(client.get(u)) for u in urls]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [t.result().json() if t in done else None for t in tasks]


async def a72_forgets_to_cancel(client, urls, deadline):
    tasks = [asyncio.create_task(client.get(u)) for u in urls]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    return [t.result().json() if t in done else None for t in tasks]


async def a72_cancel_not_awaited(client, urls, deadline):
    tasks = [asyncio.create_task(client.get(u)) for u in urls]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for t in pending:
        t.cancel()
    return [t.result().json() if t in done else None for t in tasks]


async def a72_per_request_sequential(client, urls, deadline):
    results = []
    for url in urls:
        try:
            async with asyncio.timeout(deadline):
                results.append((await client.get(url)).json())
        except TimeoutError:
            results.append(None)
    return results


async def a72_completion_order(client, urls, deadline):
    results = []

    async def fetch(url):
        results.append((await client.get(url)).json())

    try:
        async with asyncio.timeout(deadline):
            async with asyncio.TaskGroup() as tg:
                for url in urls:
                    tg.create_task(fetch(url))
    except TimeoutError:
        pass
    return results + [None] * (len(urls) - len(results))


async def a72_loses_results(client, urls, deadline):
    async with asyncio.timeout(deadline):
        return [r.json() for r in await asyncio.gather(*(client.get(u) for u in urls))]


async def a72_responses(client, urls, deadline):
    results = [None] * len(urls)

    async def fetch(i, url):
        results[i] = await client.get(url)

    try:
        async with asyncio.timeout(deadline):
            async with asyncio.TaskGroup() as tg:
                for i, url in enumerate(urls):
                    tg.create_task(fetch(i, url))
    except TimeoutError:
        pass
    return results


def test_7_2_stub_is_not_attempted(lab, capsys):
    assert check(checkers.check_7_2, a72_stub, lab).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [a72_solution, a72_alt_wait])
def test_7_2_right_answers_pass(lab, answer):
    result = check(checkers.check_7_2, answer, lab)
    assert result.outcome is Outcome.PASSED, result.message


WRONG_7_2 = [
    (a72_forgets_to_cancel, 'still running after fetch_within returned'),
    (a72_cancel_not_awaited, 'cancelled but were still running'),
    (a72_per_request_sequential, 'put ONE asyncio.timeout around all of them'),
    (a72_completion_order, "the URL's own index"),
    (a72_loses_results, 'let TimeoutError escape and lost every result'),
    (a72_responses, 'return response.json(), not the Response'),
]


@pytest.mark.parametrize(("answer", "hint"), WRONG_7_2, ids=[f.__name__ for f, _ in WRONG_7_2])
def test_7_2_wrong_answers_get_their_hint(lab, answer, hint):
    result = check(checkers.check_7_2, answer, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message


async def a71_hard_coded_just_below(client, url, seconds):
    """A fixed deadline as long as the tight call allows (0.64 s < tight + SLACK when tight >= 0.3):
    the patient body (0.75-0.85 s, drawn so) always outlasts it."""
    try:
        async with asyncio.timeout(0.64):
            return (await client.get(url)).json()
    except TimeoutError:
        return None


def test_7_1_no_fixed_deadline_fits_both_calls(lab):
    result = check(checkers.check_7_1, a71_hard_coded_just_below, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert "Is the deadline `seconds`, the argument?" in result.message or "only after" in result.message, result.message


def test_7_2_completion_order_is_wrong_every_time(lab):
    """a72_completion_order passed when the on-time URLs came first in finishing order (1 draw in
    ~60); now the first URL always misses the deadline, so its entry must be None."""
    for _ in range(3):
        result = check(checkers.check_7_2, a72_completion_order, lab)
        assert result.outcome is Outcome.WRONG, result.message
        assert "the URL's own index" in result.message, result.message
