"""Notebook 06's checkers against the real services: stub, right answers written several ways,
and the wrong answers a struggling learner writes, each of which must get its specific hint.

The same answers are the checker-attack set (/tmp/attack-core-b/ex_6_*.py when it was run).
"""

from __future__ import annotations

import asyncio

import httpx

import pytest

from helpers.checks import Outcome
from helpers.exercises import nb06 as checkers

lab = None  # set by the `use_lab` fixture: some wrong answers hard-code URLs of this lab


@pytest.fixture(autouse=True)
def use_lab(lab):
    globals()["lab"] = lab
    yield


def check(checker, answer, lab):
    return asyncio.run(checker(answer, lab))

# --- Exercise 6.1 ----------------------------------------------------------------------

async def a61_stub(client, urls, n_workers):
    ...


async def a61_solution(client, urls, n_workers):
    queue = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    results = {}

    async def worker():
        while True:
            url = await queue.get()
            try:
                results[url] = (await client.get(url)).json()
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return results


async def a61_alt_sentinels(client, urls, n_workers):
    queue = asyncio.Queue()
    results = {}

    async def worker():
        while (url := await queue.get()) is not None:
            results[url] = (await client.get(url)).json()

    async with asyncio.TaskGroup() as tg:
        for _ in range(n_workers):
            tg.create_task(worker())
        for url in urls:
            await queue.put(url)
        for _ in range(n_workers):
            await queue.put(None)
    return results


async def a61_cancel_not_awaited(client, urls, n_workers):
    queue = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    results = {}

    async def worker():
        while True:
            url = await queue.get()
            try:
                results[url] = (await client.get(url)).json()
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
    await queue.join()
    for w in workers:
        w.cancel()
    return results


async def a61_never_cancelled(client, urls, n_workers):
    queue = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    results = {}

    async def worker():
        while True:
            url = await queue.get()
            try:
                results[url] = (await client.get(url)).json()
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
    await queue.join()
    return results


async def a61_no_task_done(client, urls, n_workers):
    queue = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    results = {}

    async def worker():
        while True:
            url = await queue.get()
            results[url] = (await client.get(url)).json()

    workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return results


async def a61_hard_coded_workers(client, urls, n_workers):
    return await a61_solution(client, urls, 3)


async def a61_responses(client, urls, n_workers):
    queue = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    results = {}

    async def worker():
        while True:
            url = await queue.get()
            try:
                results[url] = await client.get(url)
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return results


async def a61_gather_everything(client, urls, n_workers):
    a61_responses = await asyncio.gather(*(client.get(u) for u in urls))
    return {u: r.json() for u, r in zip(urls, a61_responses)}


async def a61_swallowing_worker(client, urls, n_workers):
    queue = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    results = {}

    async def worker():
        while True:
            try:
                url = await queue.get()
            except asyncio.CancelledError:
                continue
            try:
                results[url] = (await client.get(url)).json()
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(n_workers)]
    await queue.join()
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return results


async def a61_workers_not_started(client, urls, n_workers):
    queue = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    await queue.join()
    return {}


def test_6_1_stub_is_not_attempted(lab, capsys):
    assert check(checkers.check_6_1, a61_stub, lab).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [a61_solution, a61_alt_sentinels])
def test_6_1_right_answers_pass(lab, answer):
    result = check(checkers.check_6_1, answer, lab)
    assert result.outcome is Outcome.PASSED, result.message


WRONG_6_1 = [
    (a61_cancel_not_awaited, 'cancelled but were still running'),
    (a61_never_cancelled, 'still running after run_pool returned'),
    (a61_no_task_done, 'queue.task_done() per item'),
    (a61_hard_coded_workers, 'the check uses a different number each time'),
    (a61_responses, 'return response.json(), not the Response'),
    (a61_gather_everything, 'start exactly `n_workers` worker tasks'),
    (a61_swallowing_worker, 'ignored cancellation'),
    (a61_workers_not_started, 'No request reached the server'),
]


@pytest.mark.parametrize(("answer", "hint"), WRONG_6_1, ids=[f.__name__ for f, _ in WRONG_6_1])
def test_6_1_wrong_answers_get_their_hint(lab, answer, hint):
    result = check(checkers.check_6_1, answer, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message

# --- Exercise 6.2 ----------------------------------------------------------------------

async def a62_stub(queue, client, ok, failed):
    ...


async def a62_solution(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(url)
        except httpx.HTTPStatusError:
            failed.append(url)
        finally:
            queue.task_done()


async def a62_alt_else(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            response = await client.get(url)
            if response.is_error:
                failed.append(url)
            else:
                ok.append(url)
        except Exception:
            failed.append(url)
        finally:
            queue.task_done()


async def a62_while_not_empty(queue, client, ok, failed):
    while not queue.empty():
        url = await queue.get()
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(url)
        except httpx.HTTPStatusError:
            failed.append(url)
        finally:
            queue.task_done()


async def a62_task_done_after_get(queue, client, ok, failed):
    while True:
        url = await queue.get()
        queue.task_done()
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(url)
        except httpx.HTTPStatusError:
            failed.append(url)


async def a62_task_done_twice(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(url)
        except httpx.HTTPStatusError:
            failed.append(url)
            queue.task_done()
        finally:
            queue.task_done()


async def a62_no_finally(queue, client, ok, failed):
    while True:
        url = await queue.get()
        response = await client.get(url)
        response.raise_for_status()
        ok.append(url)
        queue.task_done()


async def a62_swallow_skip_task_done(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(url)
            queue.task_done()
        except httpx.HTTPStatusError:
            failed.append(url)


async def a62_return_on_error(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(url)
        except httpx.HTTPStatusError:
            failed.append(url)
            return
        finally:
            queue.task_done()


async def a62_ignores_status(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            await client.get(url)
            ok.append(url)
        finally:
            queue.task_done()


async def a62_swallows_cancel(queue, client, ok, failed):
    while True:
        try:
            url = await queue.get()
        except BaseException:
            continue
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(url)
        except httpx.HTTPStatusError:
            failed.append(url)
        finally:
            queue.task_done()


async def a62_appends_responses(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(response)
        except httpx.HTTPStatusError as e:
            failed.append(e.response)
        finally:
            queue.task_done()


def test_6_2_stub_is_not_attempted(lab, capsys):
    assert check(checkers.check_6_2, a62_stub, lab).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize("answer", [a62_solution, a62_alt_else])
def test_6_2_right_answers_pass(lab, answer):
    result = check(checkers.check_6_2, answer, lab)
    assert result.outcome is Outcome.PASSED, result.message


WRONG_6_2 = [
    (a62_while_not_empty, 'not `while not queue.empty()`'),
    (a62_task_done_after_get, 'not right after get()'),
    (a62_task_done_twice, 'task_done() called too many times'),
    (a62_no_finally, 'a worker died with HTTPStatusError'),
    (a62_swallow_skip_task_done, 'some item never got its task_done()'),
    (a62_return_on_error, 'a worker never returns by itself'),
    (a62_ignores_status, 'call response.raise_for_status()'),
    (a62_appends_responses, 'not the Response'),
]


@pytest.mark.parametrize(("answer", "hint"), WRONG_6_2, ids=[f.__name__ for f, _ in WRONG_6_2])
def test_6_2_wrong_answers_get_their_hint(lab, answer, hint):
    result = check(checkers.check_6_2, answer, lab)
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message
