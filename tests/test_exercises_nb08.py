"""Notebook 08's checkers against the real services: stub, wrong answers, right answers."""

from __future__ import annotations

import asyncio
import json
import urllib.request

from helpers import work
from helpers.checks import Outcome
from helpers.exercises import nb08 as ex


def run(checker, answer, lab):
    return asyncio.run(checker(answer, lab))


def legacy_get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


# --- Exercise 8.1: fetch_all_blocking -----------------------------------------------


async def fetch_all_blocking_stub(urls):
    ...


async def fetch_all_blocking_right(urls):
    return await asyncio.gather(*(asyncio.to_thread(legacy_get_json, url) for url in urls))


async def fetch_all_blocking_direct(urls):
    return [legacy_get_json(url) for url in urls]  # blocks the event loop


async def fetch_all_blocking_one_thread_at_a_time(urls):
    return [await asyncio.to_thread(legacy_get_json, url) for url in urls]


def test_8_1_stub_is_not_attempted(lab):
    assert run(ex.check_8_1, fetch_all_blocking_stub, lab).outcome is Outcome.NOT_ATTEMPTED


def test_8_1_blocking_the_loop_is_wrong(lab):
    result = run(ex.check_8_1, fetch_all_blocking_direct, lab)
    assert result.outcome is Outcome.WRONG
    assert "froze" in result.message and "to_thread" in result.message


def test_8_1_sequential_threads_are_wrong(lab):
    result = run(ex.check_8_1, fetch_all_blocking_one_thread_at_a_time, lab)
    assert result.outcome is Outcome.WRONG
    assert "one after another" in result.message


def test_8_1_right_answer_passes(lab):
    assert run(ex.check_8_1, fetch_all_blocking_right, lab).outcome is Outcome.PASSED


# --- Exercise 8.2: squares_in_processes ---------------------------------------------


async def squares_stub(pool, ns):
    ...


async def squares_right(pool, ns):
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(pool, work.sum_of_squares, n) for n in ns))


async def squares_in_the_loop(pool, ns):
    return [work.sum_of_squares(n) for n in ns]


async def squares_in_threads(pool, ns):
    return await asyncio.gather(*(asyncio.to_thread(work.sum_of_squares, n) for n in ns))


async def squares_one_at_a_time(pool, ns):
    loop = asyncio.get_running_loop()
    return [await loop.run_in_executor(pool, work.sum_of_squares, n) for n in ns]


async def squares_blocking_result(pool, ns):
    return [pool.submit(work.sum_of_squares, n).result() for n in ns]


async def squares_wrong_order(pool, ns):
    return sorted(await squares_right(pool, ns), reverse=True)


def test_8_2_stub_is_not_attempted(lab):
    assert run(ex.check_8_2, squares_stub, lab).outcome is Outcome.NOT_ATTEMPTED


def test_8_2_computing_in_the_loop_is_wrong(lab):
    result = run(ex.check_8_2, squares_in_the_loop, lab)
    assert result.outcome is Outcome.WRONG
    assert "process pool received 0" in result.message


def test_8_2_blocking_on_result_is_wrong(lab):
    result = run(ex.check_8_2, squares_blocking_result, lab)
    assert result.outcome is Outcome.WRONG
    assert "froze" in result.message


def test_8_2_threads_are_wrong(lab):
    result = run(ex.check_8_2, squares_in_threads, lab)
    assert result.outcome is Outcome.WRONG
    assert "process pool received 0" in result.message


def test_8_2_one_at_a_time_is_wrong(lab):
    result = run(ex.check_8_2, squares_one_at_a_time, lab)
    assert result.outcome is Outcome.WRONG
    assert "one job at a time" in result.message


def test_8_2_wrong_order_is_wrong(lab):
    result = run(ex.check_8_2, squares_wrong_order, lab)
    assert result.outcome is Outcome.WRONG
    assert "input order" in result.message


def test_8_2_right_answer_passes(lab):
    assert run(ex.check_8_2, squares_right, lab).outcome is Outcome.PASSED
