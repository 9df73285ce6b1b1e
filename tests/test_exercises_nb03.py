"""Notebook 03's checkers against the real services: stub, wrong answers, right answers."""

from __future__ import annotations

import asyncio

import httpx

from helpers.checks import Outcome
from helpers.exercises import nb03 as ex


def run(coro):
    return asyncio.run(coro)


# --- 3.1 -----------------------------------------------------------------------------------


async def settled_stub(client, urls):
    ...


async def settled_right(client, urls):
    async def fetch(url):
        response = await client.get(url)
        response.raise_for_status()
        return response.json()

    results = await asyncio.gather(*(fetch(u) for u in urls), return_exceptions=True)
    succeeded = [r for r in results if not isinstance(r, Exception)]
    failed = [u for u, r in zip(urls, results) if isinstance(r, Exception)]
    return succeeded, failed


async def settled_without_return_exceptions(client, urls):
    async def fetch(url):
        response = await client.get(url)
        response.raise_for_status()
        return response.json()

    results = await asyncio.gather(*(fetch(u) for u in urls))
    return results, []


async def settled_one_by_one(client, urls):
    succeeded, failed = [], []
    for url in urls:
        response = await client.get(url)
        if response.is_error:
            failed.append(url)
        else:
            succeeded.append(response.json())
    return succeeded, failed


async def settled_no_raise_for_status(client, urls):
    responses = await asyncio.gather(*(client.get(u) for u in urls), return_exceptions=True)
    return [r.json() for r in responses], []


def test_3_1_stub_is_not_attempted(lab):
    assert run(ex.check_3_1(settled_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_3_1_right_answer_passes(lab):
    result = run(ex.check_3_1(settled_right, lab))
    assert result.outcome is Outcome.PASSED, result.message


def test_3_1_gather_without_return_exceptions_is_wrong(lab):
    result = run(ex.check_3_1(settled_without_return_exceptions, lab))
    assert result.outcome is Outcome.WRONG
    assert "return_exceptions=True" in result.message


def test_3_1_sequential_is_wrong(lab):
    result = run(ex.check_3_1(settled_one_by_one, lab))
    assert result.outcome is Outcome.WRONG
    assert "at once" in result.message


def test_3_1_forgetting_raise_for_status_is_wrong(lab):
    result = run(ex.check_3_1(settled_no_raise_for_status, lab))
    assert result.outcome is Outcome.WRONG
    assert "raise_for_status" in result.message


# --- 3.2 -----------------------------------------------------------------------------------


async def fastest_stub(client, urls):
    ...


async def fastest_right(client, urls):
    async def fetch(url):
        response = await client.get(url)
        response.raise_for_status()
        return response.json()

    tasks = [asyncio.create_task(fetch(u)) for u in urls]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return done.pop().result()


async def fastest_with_as_completed(client, urls):
    async def fetch(url):
        response = await client.get(url)
        return response.json()

    tasks = [asyncio.create_task(fetch(u)) for u in urls]
    try:
        for first in asyncio.as_completed(tasks):
            return await first
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def fastest_no_cancel(client, urls):
    tasks = [asyncio.create_task(client.get(u)) for u in urls]
    done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    return done.pop().result().json()


async def fastest_waits_for_all(client, urls):
    responses = await asyncio.gather(*(client.get(u) for u in urls))
    return min((r.json() for r in responses), key=lambda body: body["delay"])


async def fastest_first_in_list(client, urls):
    tasks = [asyncio.create_task(client.get(u)) for u in urls]
    first = await tasks[0]
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks[1:], return_exceptions=True)
    return first.json()


def test_3_2_stub_is_not_attempted(lab):
    assert run(ex.check_3_2(fastest_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_3_2_right_answers_pass(lab):
    for answer in (fastest_right, fastest_with_as_completed):
        result = run(ex.check_3_2(answer, lab))
        assert result.outcome is Outcome.PASSED, (answer.__name__, result.message)


def test_3_2_leaving_the_others_running_is_wrong(lab):
    result = run(ex.check_3_2(fastest_no_cancel, lab))
    assert result.outcome is Outcome.WRONG
    assert "still running" in result.message and "nothing cancelled them" in result.message


def test_3_2_waiting_for_all_is_wrong(lab):
    result = run(ex.check_3_2(fastest_waits_for_all, lab))
    assert result.outcome is Outcome.WRONG
    assert "waited for all" in result.message


def test_3_2_first_in_list_is_wrong(lab):
    result = run(ex.check_3_2(fastest_first_in_list, lab))
    assert result.outcome is Outcome.WRONG
    assert "'slow'" in result.message


# --- 3.3 -----------------------------------------------------------------------------------


async def all_stub(client, urls):
    raise NotImplementedError


async def all_right_with_wait(client, urls):
    async def fetch(url):
        response = await client.get(url)
        response.raise_for_status()
        return response.json()

    tasks = [asyncio.create_task(fetch(u)) for u in urls]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:
        if task in done and task.exception() is not None:
            raise task.exception()
    return [task.result() for task in tasks]


async def all_right_with_gather(client, urls):
    async def fetch(url):
        response = await client.get(url)
        response.raise_for_status()
        return response.json()

    tasks = [asyncio.create_task(fetch(u)) for u in urls]
    try:
        return await asyncio.gather(*tasks)
    except Exception:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def all_right_with_taskgroup(client, urls):
    async def fetch(url):
        response = await client.get(url)
        response.raise_for_status()
        return response.json()

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(fetch(u)) for u in urls]
    return [t.result() for t in tasks]


async def all_plain_gather(client, urls):
    async def fetch(url):
        response = await client.get(url)
        response.raise_for_status()
        return response.json()

    return await asyncio.gather(*(fetch(u) for u in urls))


async def all_cancel_without_waiting(client, urls):
    async def fetch(url):
        response = await client.get(url)
        response.raise_for_status()
        return response.json()

    tasks = [asyncio.create_task(fetch(u)) for u in urls]
    try:
        return await asyncio.gather(*tasks)
    except Exception:
        for task in tasks:
            task.cancel()  # ... but never awaited: they are still winding down when we raise
        raise


async def all_swallows_errors(client, urls):
    responses = await asyncio.gather(*(client.get(u) for u in urls))
    return [r.json() for r in responses]


def test_3_3_stub_is_not_attempted(lab):
    assert run(ex.check_3_3(all_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_3_3_right_answers_pass(lab):
    for answer in (all_right_with_wait, all_right_with_gather, all_right_with_taskgroup):
        result = run(ex.check_3_3(answer, lab))
        assert result.outcome is Outcome.PASSED, (answer.__name__, result.message)


def test_3_3_plain_gather_is_wrong(lab):
    result = run(ex.check_3_3(all_plain_gather, lab))
    assert result.outcome is Outcome.WRONG
    assert "still running" in result.message and "nothing cancelled them" in result.message


def test_3_3_cancel_without_awaiting_is_wrong(lab):
    result = run(ex.check_3_3(all_cancel_without_waiting, lab))
    assert result.outcome is Outcome.WRONG
    assert "still running" in result.message and "did not wait for them" in result.message


def test_3_3_no_error_is_wrong(lab):
    result = run(ex.check_3_3(all_swallows_errors, lab))
    assert result.outcome is Outcome.WRONG
    assert "raise_for_status" in result.message


def test_request_log_records_cancellation(lab):
    async def main():
        log = ex.RequestLog()
        async with httpx.AsyncClient(transport=log) as client:
            task = asyncio.create_task(client.get(lab.url("/delay/0.5?key=x")))
            await asyncio.sleep(0.1)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await client.get(lab.url("/uuid"))
        return log.states

    assert run(main()) == {"/delay/0.5?key=x": "cancelled", "/uuid": "done"}
