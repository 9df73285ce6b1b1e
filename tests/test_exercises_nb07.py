"""Notebook 07's checkers against the real services: stub, wrong answers, right answers."""

from __future__ import annotations

import asyncio

import httpx

from helpers.checks import Outcome
from helpers.exercises import nb07 as ex


def run(checker, answer, lab):
    return asyncio.run(checker(answer, lab))


# --- Exercise 7.1: fetch_or_none -------------------------------------------------------


async def fetch_or_none_stub(client, url, seconds):
    ...


async def fetch_or_none_right(client, url, seconds):
    try:
        async with asyncio.timeout(seconds):
            response = await client.get(url)
            return response.json()
    except TimeoutError:
        return None


async def fetch_or_none_wait_for(client, url, seconds):
    try:
        response = await asyncio.wait_for(client.get(url), seconds)
    except TimeoutError:
        return None
    return response.json()


async def fetch_or_none_no_deadline(client, url, seconds):
    response = await client.get(url)
    return response.json()


async def fetch_or_none_lets_it_escape(client, url, seconds):
    async with asyncio.timeout(seconds):
        response = await client.get(url)
        return response.json()


async def fetch_or_none_returns_response(client, url, seconds):
    try:
        async with asyncio.timeout(seconds):
            return await client.get(url)
    except TimeoutError:
        return None


def test_7_1_stub_is_not_attempted(lab):
    assert run(ex.check_7_1, fetch_or_none_stub, lab).outcome is Outcome.NOT_ATTEMPTED


def test_7_1_no_deadline_is_wrong(lab):
    result = run(ex.check_7_1, fetch_or_none_no_deadline, lab)
    assert result.outcome is Outcome.WRONG
    assert "asyncio.timeout" in result.message and "return None" in result.message


def test_7_1_escaping_timeout_is_wrong(lab):
    result = run(ex.check_7_1, fetch_or_none_lets_it_escape, lab)
    assert result.outcome is Outcome.WRONG
    assert "let TimeoutError escape" in result.message


def test_7_1_response_object_is_wrong(lab):
    result = run(ex.check_7_1, fetch_or_none_returns_response, lab)
    assert result.outcome is Outcome.WRONG
    assert "response.json()" in result.message


def test_7_1_right_answers_pass(lab):
    assert run(ex.check_7_1, fetch_or_none_right, lab).outcome is Outcome.PASSED
    assert run(ex.check_7_1, fetch_or_none_wait_for, lab).outcome is Outcome.PASSED


# --- Exercise 7.2: fetch_within ------------------------------------------------------


async def fetch_within_stub(client, urls, deadline):
    ...


async def fetch_within_right(client, urls, deadline):
    results = [None] * len(urls)

    async def fetch(i, url):
        response = await client.get(url)
        results[i] = response.json()

    try:
        async with asyncio.timeout(deadline):
            async with asyncio.TaskGroup() as tg:
                for i, url in enumerate(urls):
                    tg.create_task(fetch(i, url))
    except TimeoutError:
        pass
    return results


async def fetch_within_wait(client, urls, deadline):
    tasks = [asyncio.create_task(client.get(url)) for url in urls]
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return [t.result().json() if t in done else None for t in tasks]


async def fetch_within_sequential(client, urls, deadline):
    results = []
    for url in urls:  # a per-request timeout: each request gets the whole budget again
        try:
            async with asyncio.timeout(deadline):
                results.append((await client.get(url)).json())
        except TimeoutError:
            results.append(None)
    return results


async def fetch_within_forgets_to_cancel(client, urls, deadline):
    tasks = [asyncio.create_task(client.get(url)) for url in urls]
    done, _ = await asyncio.wait(tasks, timeout=deadline)
    return [t.result().json() if t in done else None for t in tasks]


async def fetch_within_loses_results(client, urls, deadline):
    async with asyncio.timeout(deadline):
        responses = await asyncio.gather(*(client.get(url) for url in urls))
    return [r.json() for r in responses]


def test_7_2_stub_is_not_attempted(lab):
    assert run(ex.check_7_2, fetch_within_stub, lab).outcome is Outcome.NOT_ATTEMPTED


def test_7_2_sequential_per_request_timeouts_are_wrong(lab):
    result = run(ex.check_7_2, fetch_within_sequential, lab)
    assert result.outcome is Outcome.WRONG
    assert "ONE asyncio.timeout" in result.message


def test_7_2_leftover_tasks_are_wrong(lab):
    result = run(ex.check_7_2, fetch_within_forgets_to_cancel, lab)
    assert result.outcome is Outcome.WRONG
    assert "still running" in result.message


def test_7_2_escaping_timeout_is_wrong(lab):
    result = run(ex.check_7_2, fetch_within_loses_results, lab)
    assert result.outcome is Outcome.WRONG
    assert "TimeoutError" in result.message


def test_7_2_right_answers_pass(lab):
    assert run(ex.check_7_2, fetch_within_right, lab).outcome is Outcome.PASSED
    assert run(ex.check_7_2, fetch_within_wait, lab).outcome is Outcome.PASSED
