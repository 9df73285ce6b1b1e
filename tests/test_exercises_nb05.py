"""Checkers of notebook 05 against the real services: stub, wrong answers, right answer."""

from __future__ import annotations

import asyncio
import collections

import httpx

from helpers.checks import Outcome
from helpers.exercises import nb05


def run(coro):
    return asyncio.run(coro)


# --- 5.1 -------------------------------------------------------------------------------


async def fetch_limited_stub(client, urls, limit):
    ...


async def fetch_limited_right(client, urls, limit):
    sem = asyncio.Semaphore(limit)

    async def fetch(url):
        async with sem:
            return (await client.get(url)).json()

    return await asyncio.gather(*(fetch(u) for u in urls))


async def fetch_limited_no_limit(client, urls, limit):
    responses = await asyncio.gather(*(client.get(u) for u in urls))
    return [r.json() for r in responses]


async def fetch_limited_semaphore_per_call(client, urls, limit):
    async def fetch(url):
        async with asyncio.Semaphore(limit):
            return (await client.get(url)).json()

    return await asyncio.gather(*(fetch(u) for u in urls))


async def fetch_limited_sequential(client, urls, limit):
    sem = asyncio.Semaphore(limit)
    results = []
    for url in urls:
        async with sem:
            results.append((await client.get(url)).json())
    return results


async def fetch_limited_completion_order(client, urls, limit):
    sem = asyncio.Semaphore(limit)

    async def fetch(url):
        async with sem:
            return (await client.get(url)).json()

    return [await f for f in asyncio.as_completed([fetch(u) for u in reversed(urls)])]


def test_5_1_stub_is_not_attempted(lab, capsys):
    assert run(nb05.check_5_1(fetch_limited_stub, lab)).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


def test_5_1_right_answer_passes(lab):
    result = run(nb05.check_5_1(fetch_limited_right, lab))
    assert result.outcome is Outcome.PASSED, result.message


def test_5_1_no_limit_is_wrong(lab):
    result = run(nb05.check_5_1(fetch_limited_no_limit, lab))
    assert result.outcome is Outcome.WRONG
    assert "more than limit=4" in result.message and "ONE asyncio.Semaphore" in result.message


def test_5_1_semaphore_per_call_is_wrong(lab):
    result = run(nb05.check_5_1(fetch_limited_semaphore_per_call, lab))
    assert result.outcome is Outcome.WRONG
    assert "a new one per request limits nothing" in result.message


def test_5_1_sequential_is_wrong(lab):
    result = run(nb05.check_5_1(fetch_limited_sequential, lab))
    assert result.outcome is Outcome.WRONG
    assert "never saw more than 1 request(s) at once" in result.message


def test_5_1_completion_order_is_wrong(lab):
    result = run(nb05.check_5_1(fetch_limited_completion_order, lab))
    assert result.outcome is Outcome.WRONG
    assert "not in the order of `urls`" in result.message


def test_5_1_none_is_wrong(lab):
    async def forgot_return(client, urls, limit):
        await fetch_limited_right(client, urls, limit)

    result = run(nb05.check_5_1(forgot_return, lab))
    assert result.outcome is Outcome.WRONG
    assert "forget `return`" in result.message


# --- 5.2 -------------------------------------------------------------------------------


async def politely_stub(client, urls):
    raise NotImplementedError


async def politely_right(client, urls):
    async def get(url):
        for _ in range(20):
            response = await client.get(url)
            if response.status_code != 429:
                return response.json()
            await asyncio.sleep(float(response.headers["X-RateLimit-Reset-After"]))
        raise RuntimeError("gave up")

    return await asyncio.gather(*(get(u) for u in urls))


async def politely_retry_after_only(client, urls):
    """Honours the coarse standard header only (whole seconds): slow, but correct."""

    async def get(url):
        while True:
            response = await client.get(url)
            if response.status_code != 429:
                return response.json()
            await asyncio.sleep(float(response.headers["Retry-After"]))

    return await asyncio.gather(*(get(u) for u in urls))


async def politely_semaphore_only(client, urls):
    sem = asyncio.Semaphore(4)

    async def get(url):
        async with sem:
            return (await client.get(url)).json()

    return await asyncio.gather(*(get(u) for u in urls))


async def politely_hammer(client, urls):
    """Retries at once, without waiting: succeeds eventually, but floods the server with refused requests."""

    async def get(url):
        while True:
            response = await client.get(url)
            if response.status_code != 429:
                return response.json()

    return await asyncio.gather(*(get(u) for u in urls))


def test_5_2_stub_is_not_attempted(lab):
    assert run(nb05.check_5_2(politely_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_5_2_right_answer_passes(lab):
    result = run(nb05.check_5_2(politely_right, lab))
    assert result.outcome is Outcome.PASSED, result.message


def test_5_2_retry_after_header_passes(lab):
    result = run(nb05.check_5_2(politely_retry_after_only, lab))
    assert result.outcome is Outcome.PASSED, result.message


def test_5_2_semaphore_only_is_wrong(lab):
    result = run(nb05.check_5_2(politely_semaphore_only, lab))
    assert result.outcome is Outcome.WRONG
    assert "429 refusals" in result.message and "not how many start per second" in result.message


def test_5_2_hammering_is_wrong(lab):
    result = run(nb05.check_5_2(politely_hammer, lab))
    assert result.outcome is Outcome.WRONG
    assert "retried without waiting" in result.message


def test_5_2_returns_responses_not_json_is_wrong(lab):
    async def responses_not_bodies(client, urls):
        return [await client.get(u) for u in urls]

    result = run(nb05.check_5_2(responses_not_bodies, lab))
    assert result.outcome is Outcome.WRONG
    assert "response.json()" in result.message
