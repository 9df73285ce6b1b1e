"""Checkers of notebook 06 against the real services: stub, wrong answers, right answer."""

from __future__ import annotations

import asyncio

import httpx

from helpers.checks import Outcome
from helpers.exercises import nb06


def run(coro):
    return asyncio.run(coro)


# --- 6.1 -------------------------------------------------------------------------------


async def run_pool_stub(client, urls, n_workers):
    ...


async def run_pool_right(client, urls, n_workers):
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


async def run_pool_sentinels(client, urls, n_workers):
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


async def run_pool_leaks_workers(client, urls, n_workers):
    queue = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    results = {}

    async def worker():
        while True:
            url = await queue.get()
            results[url] = (await client.get(url)).json()
            queue.task_done()

    run_pool_leaks_workers.tasks = [asyncio.create_task(worker()) for _ in range(n_workers)]
    await queue.join()
    return results  # the workers are still waiting in get()


async def run_pool_gather_everything(client, urls, n_workers):
    responses = await asyncio.gather(*(client.get(u) for u in urls))
    return {u: r.json() for u, r in zip(urls, responses)}


async def run_pool_one_worker(client, urls, n_workers):
    return await run_pool_right(client, urls, 1)


async def run_pool_returns_too_early(client, urls, n_workers):
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
    await asyncio.sleep(0.15)  # instead of join(): returns before the work is done
    for w in workers:
        w.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return results


def test_6_1_stub_is_not_attempted(lab, capsys):
    assert run(nb06.check_6_1(run_pool_stub, lab)).outcome is Outcome.NOT_ATTEMPTED
    assert "not attempted" in capsys.readouterr().out


def test_6_1_right_answer_passes(lab):
    result = run(nb06.check_6_1(run_pool_right, lab))
    assert result.outcome is Outcome.PASSED, result.message


def test_6_1_sentinel_answer_passes(lab):
    result = run(nb06.check_6_1(run_pool_sentinels, lab))
    assert result.outcome is Outcome.PASSED, result.message


def test_6_1_leaked_workers_are_wrong_and_cleaned_up(lab):
    result = run(nb06.check_6_1(run_pool_leaks_workers, lab))
    assert result.outcome is Outcome.WRONG
    assert "still running after run_pool returned" in result.message
    assert all(t.done() for t in run_pool_leaks_workers.tasks), "the checker must cancel leaked workers"


def test_6_1_gather_everything_is_wrong(lab):
    result = run(nb06.check_6_1(run_pool_gather_everything, lab))
    assert result.outcome is Outcome.WRONG
    assert "12 requests at once with n_workers=3" in result.message


def test_6_1_one_worker_is_wrong(lab):
    result = run(nb06.check_6_1(run_pool_one_worker, lab))
    assert result.outcome is Outcome.WRONG
    assert "never saw more than 1 request(s) at once" in result.message


def test_6_1_returning_before_join_is_wrong(lab):
    result = run(nb06.check_6_1(run_pool_returns_too_early, lab))
    assert result.outcome is Outcome.WRONG
    assert "missing from your dict" in result.message and "queue.join()" in result.message


# --- 6.2 -------------------------------------------------------------------------------


async def safe_worker_stub(queue, client, ok, failed):
    raise NotImplementedError


async def safe_worker_right(queue, client, ok, failed):
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


async def worker_task_done_not_in_finally(queue, client, ok, failed):
    while True:
        url = await queue.get()
        response = await client.get(url)
        response.raise_for_status()  # a 500 kills the worker before task_done()
        ok.append(url)
        queue.task_done()


async def worker_swallows_but_skips_task_done(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(url)
            queue.task_done()
        except httpx.HTTPStatusError:
            failed.append(url)  # no task_done() for failures: join() never returns


async def worker_stops_after_error(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            response = await client.get(url)
            response.raise_for_status()
            ok.append(url)
        except httpx.HTTPStatusError:
            failed.append(url)
            return  # gives up: the pool shrinks with every error
        finally:
            queue.task_done()


async def worker_ignores_status(queue, client, ok, failed):
    while True:
        url = await queue.get()
        try:
            await client.get(url)
            ok.append(url)
        finally:
            queue.task_done()


def test_6_2_stub_is_not_attempted(lab):
    assert run(nb06.check_6_2(safe_worker_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_6_2_right_answer_passes(lab):
    result = run(nb06.check_6_2(safe_worker_right, lab))
    assert result.outcome is Outcome.PASSED, result.message


def test_6_2_task_done_skipped_on_error_is_wrong(lab):
    result = run(nb06.check_6_2(worker_task_done_not_in_finally, lab))
    assert result.outcome is Outcome.WRONG
    assert "join() was still waiting" in result.message and "HTTPStatusError" in result.message and "finally" in result.message


def test_6_2_swallowed_error_without_task_done_is_wrong(lab):
    result = run(nb06.check_6_2(worker_swallows_but_skips_task_done, lab))
    assert result.outcome is Outcome.WRONG
    assert "join() was still waiting" in result.message and "never got its task_done()" in result.message


def test_6_2_worker_that_stops_is_wrong(lab):
    result = run(nb06.check_6_2(worker_stops_after_error, lab))
    assert result.outcome is Outcome.WRONG
    assert "all your workers returned" in result.message and "while True" in result.message


def test_6_2_ignoring_status_is_wrong(lab):
    result = run(nb06.check_6_2(worker_ignores_status, lab))
    assert result.outcome is Outcome.WRONG
    assert "raise_for_status" in result.message
