"""Notebook 08's checkers against the real services: stub, right answers written several ways,
and the wrong answers a struggling learner writes, each of which must get its specific hint.

The same answers are the checker-attack set (/tmp/attack-core-b/ex_8_*.py when it was run).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import time
import urllib.request

from helpers import work

import pytest

from helpers.checks import Outcome
from helpers.exercises import nb08 as checkers

lab = None  # set by the `use_lab` fixture: some wrong answers hard-code URLs of this lab


@pytest.fixture(autouse=True)
def use_lab(lab):
    globals()["lab"] = lab
    yield


def check(checker, answer, lab):
    return asyncio.run(checker(answer, lab))

# --- Exercise 8.1 ----------------------------------------------------------------------

def a81_legacy_get_json(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


async def a81_stub(urls):
    ...


async def a81_solution(urls):
    return await asyncio.gather(*(asyncio.to_thread(a81_legacy_get_json, u) for u in urls))


async def a81_alt_executor(urls):
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(None, a81_legacy_get_json, u) for u in urls))


async def a81_direct(urls):
    return [a81_legacy_get_json(u) for u in urls]


async def a81_one_thread_at_a_time(urls):
    return [await asyncio.to_thread(a81_legacy_get_json, u) for u in urls]


async def a81_completion_order(urls):
    return [await f for f in asyncio.as_completed([asyncio.to_thread(a81_legacy_get_json, u) for u in urls])]


async def a81_whole_loop_in_one_thread(urls):
    return await asyncio.to_thread(lambda: [a81_legacy_get_json(u) for u in urls])


async def a81_hard_coded(urls):
    return [a81_legacy_get_json(lab.url(f"/users/{i}")) for i in (1, 2, 3, 4)]


async def a81_gather_of_direct_calls(urls):
    async def one(u):
        return a81_legacy_get_json(u)
    return await asyncio.gather(*(one(u) for u in urls))


def test_8_1_stub_is_not_attempted(lab, capsys):
    assert check(checkers.check_8_1, a81_stub, lab).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [a81_solution, a81_alt_executor])
def test_8_1_right_answers_pass(lab, answer):
    result = check(checkers.check_8_1, answer, lab)
    assert result.outcome is Outcome.PASSED, result.message


WRONG_8_1 = [
    (a81_direct, 'the event loop froze'),
    (a81_one_thread_at_a_time, 'the threads ran one after another'),
    (a81_completion_order, 'you collected them as they finished'),
    (a81_whole_loop_in_one_thread, 'the threads ran one after another'),
    (a81_hard_coded, 'the check asks for different users every time'),
    (a81_gather_of_direct_calls, 'the event loop froze'),
]


@pytest.mark.parametrize(("answer", "hint"), WRONG_8_1, ids=[f.__name__ for f, _ in WRONG_8_1])
def test_8_1_wrong_answers_get_their_hint(lab, answer, hint):
    result = check(checkers.check_8_1, answer, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message

# --- Exercise 8.2 ----------------------------------------------------------------------

async def a82_stub(pool, ns):
    ...


async def a82_solution(pool, ns):
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(pool, work.sum_of_squares, n) for n in ns))


async def a82_alt_wrap_future(pool, ns):
    futures = [asyncio.wrap_future(pool.submit(work.sum_of_squares, n)) for n in ns]
    return list(await asyncio.gather(*futures))


async def a82_pool_map(pool, ns):
    return list(pool.map(work.sum_of_squares, ns))


async def a82_blocking_result(pool, ns):
    futures = [pool.submit(work.sum_of_squares, n) for n in ns]
    return [f.result() for f in futures]


async def a82_in_the_loop(pool, ns):
    return [work.sum_of_squares(n) for n in ns]


async def a82_in_threads(pool, ns):
    return await asyncio.gather(*(asyncio.to_thread(work.sum_of_squares, n) for n in ns))


async def a82_one_at_a_time(pool, ns):
    loop = asyncio.get_running_loop()
    return [await loop.run_in_executor(pool, work.sum_of_squares, n) for n in ns]


async def a82_completion_order(pool, ns):
    loop = asyncio.get_running_loop()
    futures = [loop.run_in_executor(pool, work.sum_of_squares, n) for n in ns]
    return [await f for f in asyncio.as_completed(futures)]


async def a82_hard_coded(pool, ns):
    loop = asyncio.get_running_loop()
    return await asyncio.gather(*(loop.run_in_executor(pool, work.sum_of_squares, 1_000_000 + k) for k in range(6)))


async def a82_first_result_blocks(pool, ns):
    """Waits for the first (largest) job in the loop's thread, then awaits the rest properly."""
    futures = [pool.submit(work.sum_of_squares, n) for n in ns]
    first = futures[0].result()
    return [first, *await asyncio.gather(*(asyncio.wrap_future(f) for f in futures[1:]))]


async def a82_futures_wait(pool, ns):
    """concurrent.futures.wait blocks the loop's thread until every job is done."""
    futures = [pool.submit(work.sum_of_squares, n) for n in ns]
    concurrent.futures.wait(futures)
    return [f.result() for f in futures]


async def a82_executor_in_a_thread_of_pool_map(pool, ns):
    """Right answer: the blocking pool.map moved off the loop into a thread."""
    return await asyncio.to_thread(lambda: list(pool.map(work.sum_of_squares, ns)))


def test_8_2_stub_is_not_attempted(lab, capsys):
    assert check(checkers.check_8_2, a82_stub, lab).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [a82_solution, a82_alt_wrap_future, a82_executor_in_a_thread_of_pool_map])
def test_8_2_right_answers_pass(lab, answer):
    result = check(checkers.check_8_2, answer, lab)
    assert result.outcome is Outcome.PASSED, result.message


WRONG_8_2 = [
    (a82_pool_map, 'the event loop froze'),
    (a82_blocking_result, 'the event loop froze'),
    (a82_first_result_blocks, 'the event loop froze'),
    (a82_futures_wait, 'the event loop froze'),
    (a82_in_the_loop, 'the process pool received 0'),
    (a82_in_threads, 'the process pool received 0'),
    (a82_one_at_a_time, 'one job at a time'),
    (a82_completion_order, 'in the order the jobs finished'),
    (a82_hard_coded, 'the check uses new ones every time'),
]


@pytest.mark.parametrize(("answer", "hint"), WRONG_8_2, ids=[f.__name__ for f, _ in WRONG_8_2])
def test_8_2_wrong_answers_get_their_hint(lab, answer, hint):
    result = check(checkers.check_8_2, answer, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message


def test_8_2_blocking_answers_freeze_the_loop_far_beyond_the_limit():
    """Before: 4 units of 0.2 s (0.8 s) against a 0.5 s limit, only 1.6x. Now at least 3x, nominal."""
    per_worker = checkers.UNIT * sum(checkers.FACTORS) / 2
    assert per_worker >= 3 * checkers.MAX_LAG_8_2
    assert checkers.FACTORS[0] * checkers.UNIT >= 3 * checkers.MAX_LAG_8_2  # waiting for the first job alone
