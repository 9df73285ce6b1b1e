"""Notebook 05's checkers against the real services: stub, right answers written several ways,
and the wrong answers a struggling learner writes, each of which must get its specific hint.

The same answers are the checker-attack set (/tmp/attack-core-b/ex_5_*.py when it was run).
"""

from __future__ import annotations

import asyncio
import re
import time

import httpx

import pytest

from helpers.checks import Outcome
from helpers.exercises import nb05 as checkers

lab = None  # set by the `use_lab` fixture: some wrong answers hard-code URLs of this lab


@pytest.fixture(autouse=True)
def use_lab(lab):
    globals()["lab"] = lab
    yield


def check(checker, answer, lab):
    return asyncio.run(checker(answer, lab))

# --- Exercise 5.1 ----------------------------------------------------------------------

async def a51_stub(client, urls, limit):
    ...


async def a51_solution(client, urls, limit):
    sem = asyncio.Semaphore(limit)

    async def fetch(url):
        async with sem:
            response = await client.get(url)
            return response.json()

    return await asyncio.gather(*(fetch(u) for u in urls))


async def a51_alt_taskgroup(client, urls, limit):
    sem = asyncio.Semaphore(limit)
    results = [None] * len(urls)

    async def fetch(i, url):
        async with sem:
            results[i] = (await client.get(url)).json()

    async with asyncio.TaskGroup() as tg:
        for i, url in enumerate(urls):
            tg.create_task(fetch(i, url))
    return results


async def a51_alt_workers(client, urls, limit):
    queue = asyncio.Queue()
    for i, u in enumerate(urls):
        queue.put_nowait((i, u))
    results = [None] * len(urls)

    async def worker():
        while not queue.empty():
            i, u = queue.get_nowait()
            results[i] = (await client.get(u)).json()

    await asyncio.gather(*(worker() for _ in range(limit)))
    return results


async def a51_completion_order(client, urls, limit):
    sem = asyncio.Semaphore(limit)

    async def fetch(url):
        async with sem:
            return (await client.get(url)).json()

    return [await f for f in asyncio.as_completed([fetch(u) for u in urls])]


async def a51_append_when_done(client, urls, limit):
    sem = asyncio.Semaphore(limit)
    results = []

    async def fetch(url):
        async with sem:
            results.append((await client.get(url)).json())

    await asyncio.gather(*(fetch(u) for u in urls))
    return results


async def a51_batches(client, urls, limit):
    results = []
    for i in range(0, len(urls), limit):
        a51_responses = await asyncio.gather(*(client.get(u) for u in urls[i:i + limit]))
        results.extend(r.json() for r in a51_responses)
    return results


async def a51_semaphore_minus_one(client, urls, limit):
    sem = asyncio.Semaphore(limit - 1)

    async def fetch(url):
        async with sem:
            return (await client.get(url)).json()

    return await asyncio.gather(*(fetch(u) for u in urls))


async def a51_hard_coded_limit(client, urls, limit):
    sem = asyncio.Semaphore(4)

    async def fetch(url):
        async with sem:
            return (await client.get(url)).json()

    return await asyncio.gather(*(fetch(u) for u in urls))


async def a51_semaphore_per_call(client, urls, limit):
    async def fetch(url):
        async with asyncio.Semaphore(limit):
            return (await client.get(url)).json()

    return await asyncio.gather(*(fetch(u) for u in urls))


async def a51_responses(client, urls, limit):
    sem = asyncio.Semaphore(limit)

    async def fetch(url):
        async with sem:
            return await client.get(url)

    return await asyncio.gather(*(fetch(u) for u in urls))


async def a51_blocking_sync_client(client, urls, limit):
    return [httpx.get(u).json() for u in urls]


async def a51_sequential(client, urls, limit):
    return [(await client.get(u)).json() for u in urls]


async def a51_hard_coded(client, urls, limit):
    return [{"delay": 0.2, "key": f"ex51-{i}"} for i in range(len(urls))]


async def a51_swallow_cancel(client, urls, limit):
    sem = asyncio.Semaphore(limit)

    async def fetch(url):
        async with sem:
            return (await client.get(url)).json()

    while True:
        try:
            await asyncio.sleep(100)
        except asyncio.CancelledError:
            pass


def test_5_1_stub_is_not_attempted(lab, capsys):
    assert check(checkers.check_5_1, a51_stub, lab).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [a51_solution, a51_alt_taskgroup, a51_alt_workers])
def test_5_1_right_answers_pass(lab, answer):
    result = check(checkers.check_5_1, answer, lab)
    assert result.outcome is Outcome.PASSED, result.message


WRONG_5_1 = [
    (a51_completion_order, 'not in the order of `urls`'),
    (a51_append_when_done, 'not in the order of `urls`'),
    (a51_batches, 'in batches'),
    (a51_semaphore_minus_one, 'create the semaphore with exactly `limit` units'),
    (a51_hard_coded_limit, 'the check uses a different limit each time'),
    (a51_semaphore_per_call, 'a new one per request limits nothing'),
    (a51_responses, 'return response.json(), not the Response'),
    (a51_blocking_sync_client, 'the event loop froze'),
    (a51_sequential, 'ran one after another'),
    (a51_hard_coded, 'not the answers to the URLs you were given'),
    (a51_swallow_cancel, 'ignored cancellation'),
]


@pytest.mark.parametrize(("answer", "hint"), WRONG_5_1, ids=[f.__name__ for f, _ in WRONG_5_1])
def test_5_1_wrong_answers_get_their_hint(lab, answer, hint):
    result = check(checkers.check_5_1, answer, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message

# --- Exercise 5.2 ----------------------------------------------------------------------

async def a52_stub(client, urls):
    ...


async def a52_solution(client, urls):
    async def get(url):
        for _ in range(20):
            response = await client.get(url)
            if response.status_code != 429:
                response.raise_for_status()
                return response.json()
            await asyncio.sleep(float(response.headers["X-RateLimit-Reset-After"]))
        raise RuntimeError("gave up")

    return await asyncio.gather(*(get(u) for u in urls))


async def a52_alt_retry_after(client, urls):
    results = []
    for url in urls:
        while True:
            response = await client.get(url)
            if response.status_code != 429:
                results.append(response.json())
                break
            await asyncio.sleep(float(response.headers["Retry-After"]))
    return results


async def a52_semaphore_only(client, urls):
    sem = asyncio.Semaphore(4)

    async def get(url):
        async with sem:
            return (await client.get(url)).json()

    return await asyncio.gather(*(get(u) for u in urls))


async def a52_hammer(client, urls):
    async def get(url):
        while True:
            response = await client.get(url)
            if response.status_code != 429:
                return response.json()

    return await asyncio.gather(*(get(u) for u in urls))


async def a52_responses(client, urls):
    async def get(url):
        while True:
            response = await client.get(url)
            if response.status_code != 429:
                return response
            await asyncio.sleep(float(response.headers["X-RateLimit-Reset-After"]))

    return await asyncio.gather(*(get(u) for u in urls))


async def a52_drops_refused(client, urls):
    a52_responses = await asyncio.gather(*(client.get(u) for u in urls))
    return [r.json() for r in a52_responses if r.status_code == 200]


async def a52_blocking_sleep(client, urls):
    results = []
    for url in urls:
        while True:
            response = await client.get(url)
            if response.status_code != 429:
                results.append(response.json())
                break
            time.sleep(float(response.headers["X-RateLimit-Reset-After"]))
    return results


async def a52_forever(client, urls):
    async def get(url):
        while True:
            response = await client.get(url)
            if response.status_code == 200 and response.json().get("count") == 99:
                return response.json()
            await asyncio.sleep(0.3)

    return await asyncio.gather(*(get(u) for u in urls))


def test_5_2_stub_is_not_attempted(lab, capsys):
    assert check(checkers.check_5_2, a52_stub, lab).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [a52_solution, a52_alt_retry_after])
def test_5_2_right_answers_pass(lab, answer):
    result = check(checkers.check_5_2, answer, lab)
    assert result.outcome is Outcome.PASSED, result.message


WRONG_5_2 = [
    (a52_semaphore_only, 'not how many start per second'),
    (a52_hammer, 'retried without waiting'),
    (a52_responses, 'return response.json(), not the Response'),
    (a52_drops_refused, 'one per URL'),
    (a52_blocking_sleep, 'the event loop froze'),
    (a52_forever, 'was still running after'),
]


@pytest.mark.parametrize(("answer", "hint"), WRONG_5_2, ids=[f.__name__ for f, _ in WRONG_5_2])
def test_5_2_wrong_answers_get_their_hint(lab, answer, hint):
    result = check(checkers.check_5_2, answer, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message


async def a52_blocking_sleep_gathered(client, urls):
    async def get(url):
        while True:
            response = await client.get(url)
            if response.status_code != 429:
                return response.json()
            time.sleep(float(response.headers["X-RateLimit-Reset-After"]))

    return await asyncio.gather(*(get(u) for u in urls))


async def a52_blocking_retry_after(client, urls):
    async def get(url):
        while True:
            response = await client.get(url)
            if response.status_code != 429:
                return response.json()
            time.sleep(float(response.headers["Retry-After"]))

    return await asyncio.gather(*(get(u) for u in urls))


@pytest.mark.parametrize("answer", [a52_blocking_sleep_gathered, a52_blocking_retry_after])
def test_5_2_more_blocking_answers_are_caught(lab, answer):
    result = check(checkers.check_5_2, answer, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert re.search("the event loop froze|blocked the event loop", result.message), result.message


def test_5_2_blocking_rule_by_construction():
    """The rule the loop-lag samples are judged by: one noisy stall (< 0.5 s) is forgiven, the
    two ~0.28 s stalls of a sequential time.sleep(reset) answer are not."""
    assert not checkers.blocked_5_2([])
    assert not checkers.blocked_5_2([0.01] * 100 + [0.14] * 20)  # a busy machine: many short stalls
    assert not checkers.blocked_5_2([0.01, 0.45, 0.02])  # one long scheduling hiccup
    assert checkers.blocked_5_2([0.01, 0.27, 0.02, 0.26])  # sequential time.sleep(reset)
    assert checkers.blocked_5_2([2.1])  # gathered time.sleep(reset): eight sleeps at once
    assert checkers.blocked_5_2([1.0])  # time.sleep(Retry-After)
