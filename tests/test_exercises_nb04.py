"""Notebook 04's checkers against the real services: stub, wrong answers, right answers."""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from helpers.checks import Outcome
from helpers.exercises import nb04 as ex


def run(coro):
    return asyncio.run(coro)


# --- 4.1 -----------------------------------------------------------------------------------


async def heartbeat_stub(client, url, beat):
    ...


async def heartbeat_loop(beat):
    while True:
        beat()
        await asyncio.sleep(0.05)


async def heartbeat_right(client, url, beat):
    task = asyncio.create_task(heartbeat_loop(beat))
    try:
        response = await client.get(url)
        return response.json()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def heartbeat_right_taskgroup(client, url, beat):
    async with asyncio.TaskGroup() as tg:
        heart = tg.create_task(heartbeat_loop(beat))
        response = await client.get(url)
        heart.cancel()
    return response.json()


async def heartbeat_never_stopped(client, url, beat):
    asyncio.create_task(heartbeat_loop(beat))  # noqa: RUF006 - the mistake under test
    response = await client.get(url)
    return response.json()


async def heartbeat_cancel_not_awaited(client, url, beat):
    task = asyncio.create_task(heartbeat_loop(beat))
    response = await client.get(url)
    task.cancel()
    return response.json()


async def heartbeat_after_the_work(client, url, beat):
    response = await client.get(url)
    task = asyncio.create_task(heartbeat_loop(beat))
    await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return response.json()


async def heartbeat_inline(client, url, beat):
    beat()
    response = await client.get(url)
    beat()
    return response.json()


def test_4_1_stub_is_not_attempted(lab):
    assert run(ex.check_4_1(heartbeat_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_4_1_right_answers_pass(lab):
    for answer in (heartbeat_right, heartbeat_right_taskgroup):
        result = run(ex.check_4_1(answer, lab))
        assert result.outcome is Outcome.PASSED, (answer.__name__, result.message)


def test_4_1_heartbeat_left_running_is_wrong(lab):
    result = run(ex.check_4_1(heartbeat_never_stopped, lab))
    assert result.outcome is Outcome.WRONG
    assert "kept beating" in result.message


def test_4_1_cancel_without_await_is_wrong(lab):
    result = run(ex.check_4_1(heartbeat_cancel_not_awaited, lab))
    assert result.outcome is Outcome.WRONG
    assert "await asyncio.gather(task, return_exceptions=True)" in result.message


def test_4_1_heartbeat_started_too_late_is_wrong(lab):
    result = run(ex.check_4_1(heartbeat_after_the_work, lab))
    assert result.outcome is Outcome.WRONG
    assert "before" in result.message


def test_4_1_beating_from_the_caller_is_wrong(lab):
    result = run(ex.check_4_1(heartbeat_inline, lab))
    assert result.outcome is Outcome.WRONG
    assert "background task" in result.message


# --- 4.2 -----------------------------------------------------------------------------------


async def download_stub(client, url, log):
    raise NotImplementedError


async def download_right(client, url, log):
    try:
        response = await client.get(url)
        return response.json()
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    finally:
        log.append("closed")


async def download_swallows(client, url, log):
    try:
        response = await client.get(url)
        return response.json()
    except asyncio.CancelledError:
        log.append("cancelled")
        return None
    finally:
        log.append("closed")


async def download_no_finally(client, url, log):
    try:
        response = await client.get(url)
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    log.append("closed")
    return response.json()


async def download_converts_to_error(client, url, log):
    try:
        response = await client.get(url)
        return response.json()
    except asyncio.CancelledError:
        log.append("cancelled")
        raise RuntimeError("download aborted") from None
    finally:
        log.append("closed")


async def download_retries_after_cancel(client, url, log):
    try:
        while True:
            try:
                response = await client.get(url)
                return response.json()
            except asyncio.CancelledError:
                log.append("cancelled")  # ... and tries again: the mistake under test
    finally:
        log.append("closed")


async def download_ignores_cancel(client, url, log):
    try:
        response = await client.get(url)
        return response.json()
    except asyncio.CancelledError:
        log.append("cancelled")
        await asyncio.sleep(5)  # carries on as if nothing happened (a second cancel() does stop it)
        return None
    finally:
        log.append("closed")


def test_4_2_stub_is_not_attempted(lab):
    assert run(ex.check_4_2(download_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_4_2_right_answer_passes(lab):
    result = run(ex.check_4_2(download_right, lab))
    assert result.outcome is Outcome.PASSED, result.message


def test_4_2_swallowing_cancellation_is_wrong(lab):
    result = run(ex.check_4_2(download_swallows, lab))
    assert result.outcome is Outcome.WRONG
    assert "re-raise" in result.message


def test_4_2_missing_finally_is_wrong(lab):
    result = run(ex.check_4_2(download_no_finally, lab))
    assert result.outcome is Outcome.WRONG
    assert "finally" in result.message


def test_4_2_turning_cancellation_into_an_error_is_wrong(lab):
    result = run(ex.check_4_2(download_converts_to_error, lab))
    assert result.outcome is Outcome.WRONG
    assert "RuntimeError" in result.message


def test_4_2_retrying_after_cancellation_is_wrong(lab):
    result = run(ex.check_4_2(download_retries_after_cancel, lab))
    assert result.outcome is Outcome.WRONG
    assert "re-raise" in result.message


def test_4_2_ignoring_cancellation_is_wrong(lab):
    result = run(ex.check_4_2(download_ignores_cancel, lab))
    assert result.outcome is Outcome.WRONG
    assert "still running" in result.message


# --- 4.3 -----------------------------------------------------------------------------------


async def profile_stub(client, user_id):
    ...


async def get_json(client, path):
    response = await client.get(path)
    response.raise_for_status()
    return response.json()


async def profile_right(client, user_id):
    try:
        async with asyncio.TaskGroup() as tg:
            user = tg.create_task(get_json(client, f"/users/{user_id}"))
            posts = tg.create_task(get_json(client, f"/users/{user_id}/posts"))
    except* httpx.HTTPStatusError:
        return_none = True  # `return` is not allowed inside an except* block
    else:
        return_none = False
    if return_none:
        return None
    return {"name": user.result()["name"], "posts": len(posts.result())}


async def profile_plain_except(client, user_id):
    try:
        async with asyncio.TaskGroup() as tg:
            user = tg.create_task(get_json(client, f"/users/{user_id}"))
            posts = tg.create_task(get_json(client, f"/users/{user_id}/posts"))
    except httpx.HTTPStatusError:
        return None
    return {"name": user.result()["name"], "posts": len(posts.result())}


async def profile_gather(client, user_id):
    try:
        user, posts = await asyncio.gather(get_json(client, f"/users/{user_id}"), get_json(client, f"/users/{user_id}/posts"))
    except httpx.HTTPStatusError:
        return None
    return {"name": user["name"], "posts": len(posts)}


async def profile_sequential(client, user_id):
    try:
        user = await get_json(client, f"/users/{user_id}")
        posts = await get_json(client, f"/users/{user_id}/posts")
    except httpx.HTTPStatusError:
        return None
    return {"name": user["name"], "posts": len(posts)}


def test_4_3_stub_is_not_attempted(lab):
    assert run(ex.check_4_3(profile_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_4_3_right_answer_passes(lab):
    result = run(ex.check_4_3(profile_right, lab))
    assert result.outcome is Outcome.PASSED, result.message


def test_4_3_plain_except_is_wrong(lab):
    result = run(ex.check_4_3(profile_plain_except, lab))
    assert result.outcome is Outcome.WRONG
    assert "except*" in result.message


def test_4_3_gather_leaves_the_sibling_running(lab):
    result = run(ex.check_4_3(profile_gather, lab))
    assert result.outcome is Outcome.WRONG
    assert "still running" in result.message and "TaskGroup" in result.message


def test_4_3_sequential_is_wrong(lab):
    result = run(ex.check_4_3(profile_sequential, lab))
    assert result.outcome is Outcome.WRONG
    assert "one after the other" in result.message


# --- every class of wrong answer, with a specific hint (4.1, 4.2) -----------------------------

import time  # noqa: E402

import pytest  # noqa: E402


async def beats(beat, n):
    for _ in range(n):
        beat()
        await asyncio.sleep(0.05)


async def heartbeat_fixed_count(client, url, beat):  # not tied to the request
    response, _ = await asyncio.gather(client.get(url), beats(beat, 8))
    return response.json()


async def heartbeat_many_fixed(client, url, beat):  # enough beats for the long request, too many for the short
    task = asyncio.create_task(beats(beat, 24))
    response = await client.get(url)
    await task
    return response.json()


async def heartbeat_swallows_cancel(client, url, beat):
    async def loop():
        while True:
            try:
                beat()
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                pass

    task = asyncio.create_task(loop())
    response = await client.get(url)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return response.json()


async def heartbeat_time_sleep_forever(client, url, beat):
    async def loop():
        while True:
            beat()
            time.sleep(0.05)

    task = asyncio.create_task(loop())
    response = await client.get(url)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return response.json()


async def heartbeat_time_sleep_yielding(client, url, beat):
    async def loop():
        while True:
            beat()
            time.sleep(0.05)
            await asyncio.sleep(0)

    task = asyncio.create_task(loop())
    response = await client.get(url)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return response.json()


async def heartbeat_returns_response(client, url, beat):
    task = asyncio.create_task(heartbeat_loop(beat))
    try:
        return await client.get(url)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def heartbeat_literal_cancel_await(client, url, beat):
    task = asyncio.create_task(heartbeat_loop(beat))
    response = await client.get(url)
    task.cancel()
    await task  # re-raises the CancelledError into this function
    return response.json()


async def heartbeat_gather_idiom(client, url, beat):  # right, written another way
    task = asyncio.create_task(heartbeat_loop(beat))
    try:
        response = await client.get(url)
    finally:
        task.cancel()
        (result,) = await asyncio.gather(task, return_exceptions=True)
        if isinstance(result, Exception):
            raise result
    return response.json()


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (heartbeat_fixed_count, "without a beat"),
        (heartbeat_many_fixed, "after the response had arrived"),
        (heartbeat_swallows_cancel, "caught CancelledError and carried on"),
        (heartbeat_time_sleep_forever, "blocked the event loop"),
        (heartbeat_time_sleep_yielding, "time.sleep() in the heartbeat"),
        (heartbeat_returns_response, "return response.json(), not the Response"),
        (heartbeat_literal_cancel_await, "CancelledError"),
    ],
)
def test_4_1_wrong_answer_classes(fn, words, lab):
    started = time.perf_counter()
    result = run(ex.check_4_1(fn, lab))
    assert time.perf_counter() - started < 20
    assert result.outcome is Outcome.WRONG, result
    assert words in result.message, result.message


def test_4_1_gather_idiom_passes(lab):
    result = run(ex.check_4_1(heartbeat_gather_idiom, lab))
    assert result.outcome is Outcome.PASSED, result.message


async def download_returns_response(client, url, log):
    try:
        return await client.get(url)
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    finally:
        log.append("closed")


def _download_fixed_url(lab):
    async def download_fixed_url(client, url, log):
        try:
            return (await client.get(lab.url("/delay/0.05?key=quick"))).json()
        except asyncio.CancelledError:
            log.append("cancelled")
            raise
        finally:
            log.append("closed")

    return download_fixed_url


async def download_swallows_forever(client, url, log):
    try:
        while True:
            try:
                return (await client.get(url)).json()
            except asyncio.CancelledError:
                log.append("cancelled")
    finally:
        log.append("closed")


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (download_returns_response, "return response.json(), not the Response"),
        (download_swallows_forever, "returned normally after task.cancel()"),
    ],
)
def test_4_2_wrong_answer_classes(fn, words, lab):
    result = run(ex.check_4_2(fn, lab))
    assert result.outcome is Outcome.WRONG, result
    assert words in result.message, result.message


def test_4_2_ignoring_the_url_is_wrong(lab):
    result = run(ex.check_4_2(_download_fixed_url(lab), lab))
    assert result.outcome is Outcome.WRONG and "JSON body of `url`" in result.message


async def heartbeat_fixed_in_between(client, url, beat):
    """12 beats (0.6 s): just enough for a 0.9 s request under MAX_GAP, and returns at most
    0.35 s late after a 0.25 s one; with the old lengths (long 0.9-1.1 s) it sat on the boundary."""
    task = asyncio.create_task(beats(beat, 12))
    response = await client.get(url)
    await task
    return response.json()


def test_4_1_a_fixed_number_of_beats_never_fits_both_lengths(lab):
    for _ in range(2):
        result = run(ex.check_4_1(heartbeat_fixed_in_between, lab))
        assert result.outcome is Outcome.WRONG, result
        assert "heartbeat went" in result.message or "returned" in result.message, result.message
