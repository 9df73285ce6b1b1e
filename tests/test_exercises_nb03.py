"""Notebook 03's checkers against the real services: stub, wrong answers, right answers."""

from __future__ import annotations

import asyncio

import httpx
import pytest

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
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return done.pop().result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def fastest_with_as_completed(client, urls):
    async def fetch(url):
        response = await client.get(url)
        response.raise_for_status()
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
    assert "the first response to arrive is the 0.1 s mirror" in result.message


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


# --- every class of wrong answer, with a specific hint (3.1, 3.2, 3.3) ------------------------


async def _fetch_json(client, url):
    response = await client.get(url)
    response.raise_for_status()
    return response.json()


async def settled_completion_order(client, urls):
    succeeded, failed = [], []

    async def one(url):
        try:
            succeeded.append(await _fetch_json(client, url))
        except httpx.HTTPStatusError:
            failed.append(url)

    await asyncio.gather(*(one(u) for u in urls))
    return succeeded, failed


async def settled_as_completed(client, urls):
    async def one(url):
        try:
            return url, await _fetch_json(client, url)
        except httpx.HTTPStatusError as exc:
            return url, exc

    succeeded, failed = [], []
    for next_done in asyncio.as_completed([one(u) for u in urls]):
        url, result = await next_done
        (failed.append(url) if isinstance(result, Exception) else succeeded.append(result))
    return succeeded, failed


async def settled_exceptions_as_failed(client, urls):
    results = await asyncio.gather(*(_fetch_json(client, u) for u in urls), return_exceptions=True)
    return [r for r in results if not isinstance(r, Exception)], [r for r in results if isinstance(r, Exception)]


async def settled_hard_coded(client, urls):
    await asyncio.gather(*(client.get(u) for u in urls))
    return [{"n": n, "ok": True} for n in (0, 1, 2, 4, 5)], [urls[3], urls[6], urls[7]]


async def settled_responses(client, urls):
    async def get(url):
        response = await client.get(url)
        response.raise_for_status()
        return response

    results = await asyncio.gather(*(get(u) for u in urls), return_exceptions=True)
    ok = [r for r in results if not isinstance(r, Exception)]
    return ok, [u for u, r in zip(urls, results) if isinstance(r, Exception)]


async def settled_taskgroup_alt(client, urls):  # right, written another way
    async def one(url):
        try:
            return await _fetch_json(client, url)
        except httpx.HTTPError as exc:
            return exc

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(one(u)) for u in urls]
    results = [t.result() for t in tasks]
    return ([r for r in results if not isinstance(r, Exception)],
            [u for u, r in zip(urls, results) if isinstance(r, Exception)])


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (settled_completion_order, "follows the finishing order"),
        (settled_as_completed, "follows the finishing order"),
        (settled_exceptions_as_failed, "`failed` holds exception objects"),
        (settled_hard_coded, "expected|should be"),
        (settled_responses, "return response.json(), not the Response"),
    ],
)
def test_3_1_wrong_answer_classes(fn, words, lab):
    result = run(ex.check_3_1(fn, lab))
    assert result.outcome is Outcome.WRONG, result
    assert any(w in result.message for w in words.split("|")), result.message
    assert "checker itself failed" not in result.message


def test_3_1_taskgroup_answer_passes(lab):
    result = run(ex.check_3_1(settled_taskgroup_alt, lab))
    assert result.outcome is Outcome.PASSED, result.message


async def fastest_returns_response(client, urls):
    tasks = [asyncio.create_task(client.get(u)) for u in urls]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return done.pop().result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def fastest_skips_errors(client, urls):  # first *successful* answer: not what 3.2 asks
    tasks = [asyncio.create_task(_fetch_json(client, u)) for u in urls]
    try:
        for next_done in asyncio.as_completed(tasks):
            try:
                return await next_done
            except httpx.HTTPStatusError:
                continue
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def fastest_no_finally(client, urls):  # cancels only on success
    tasks = [asyncio.create_task(_fetch_json(client, u)) for u in urls]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    result = done.pop().result()
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    return result


async def fastest_no_raise_for_status(client, urls):
    tasks = [asyncio.create_task(client.get(u)) for u in urls]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return done.pop().result().json()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def fastest_hard_coded_last(client, urls):
    tasks = [asyncio.create_task(_fetch_json(client, u)) for u in urls]
    try:
        return await tasks[-1]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def fastest_taskgroup_alt(client, urls):  # right, written another way
    winner = {}

    async def one(url, tg_cancel):
        winner.setdefault("body", await _fetch_json(client, url))
        tg_cancel()

    class Done(Exception):
        pass

    def stop():
        raise Done

    try:
        async with asyncio.TaskGroup() as tg:
            async def racer(url):
                await one(url, stop)
            for u in urls:
                tg.create_task(racer(u))
    except* Done:
        pass
    return winner["body"]


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (fastest_returns_response, "return response.json(), not the Response"),
        (fastest_skips_errors, "the first response to arrive was a 503 error"),
        (fastest_no_finally, "in a `finally:` block"),
        (fastest_no_raise_for_status, "call raise_for_status()"),
        (fastest_hard_coded_last, "the first response to arrive is the 0.1 s mirror"),
    ],
)
def test_3_2_wrong_answer_classes(fn, words, lab):
    result = run(ex.check_3_2(fn, lab))
    assert result.outcome is Outcome.WRONG, result
    assert words in result.message, result.message


def test_3_2_taskgroup_answer_passes(lab):
    result = run(ex.check_3_2(fastest_taskgroup_alt, lab))
    assert result.outcome is Outcome.PASSED, result.message


async def all_as_completed(client, urls):
    tasks = [asyncio.create_task(_fetch_json(client, u)) for u in urls]
    try:
        return [await t for t in asyncio.as_completed(tasks)]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def all_responses(client, urls):
    async def get(url):
        response = await client.get(url)
        response.raise_for_status()
        return response

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(get(u)) for u in urls]
    return [t.result() for t in tasks]


async def all_sequential(client, urls):
    return [await _fetch_json(client, u) for u in urls]


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (all_as_completed, "follows the finishing order"),
        (all_responses, "return response.json(), not the Response"),
        (all_sequential, "ran at once"),
    ],
)
def test_3_3_wrong_answer_classes(fn, words, lab):
    result = run(ex.check_3_3(fn, lab))
    assert result.outcome is Outcome.WRONG, result
    assert words in result.message, result.message


# --- answers that used to pass by luck on some draws ---------------------------------------------


async def settled_failed_in_finish_order(client, urls):
    """Successes in input order, but the failed URLs collected as they fail: with 2 failures they
    used to finish in input order 1 draw in 2."""
    failed = []

    async def one(url):
        try:
            return await _fetch_json(client, url)
        except httpx.HTTPStatusError as exc:
            failed.append(url)
            return exc

    results = await asyncio.gather(*(one(u) for u in urls))
    return [r for r in results if not isinstance(r, Exception)], failed


async def all_awaits_in_input_order(client, urls):
    """Cancels and awaits the rest on an error, but meets the error only when its turn comes:
    it passed whenever the 500 was first in the list (1 draw in 3)."""
    tasks = [asyncio.create_task(_fetch_json(client, u)) for u in urls]
    try:
        return [await t for t in tasks]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize(
    ("checker", "fn", "words"),
    [
        (ex.check_3_1, settled_failed_in_finish_order, "follows the finishing order"),
        (ex.check_3_3, all_awaits_in_input_order, "ran to the end"),
    ],
)
def test_answers_that_passed_by_luck_are_wrong_every_time(checker, fn, words, lab):
    for _ in range(3):
        result = run(checker(fn, lab))
        assert result.outcome is Outcome.WRONG, result
        assert words in result.message, result.message
