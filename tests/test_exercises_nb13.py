"""Checkers of notebook 13 against the real services: stub, wrong answers, right answers.

The answers below are the ones a struggling learner writes; each must get a ❌
whose sentence names the mistake, within the checker's own time limit.
"""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from helpers.checks import Outcome
from helpers.etl_work import pool_workers, transform, usable_cpus
from helpers.exercises import nb13


def run(coro):
    return asyncio.run(coro)


# --- helpers/etl_work.py ------------------------------------------------------------------


def test_transform_is_deterministic_and_normalises_titles() -> None:
    rows = transform([{"source": "api", "id": 7, "title": "  a   b ", "value": 3}])
    assert rows == transform([{"source": "api", "id": 7, "title": "a b", "value": 3}])
    assert rows[0]["title"] == "a b" and 0 <= rows[0]["score"] < 1000 and len(rows[0]["digest"]) == 64


def test_pool_workers_is_capped_by_cpus_and_cap() -> None:
    assert 1 <= pool_workers() <= min(usable_cpus(), 4)
    assert pool_workers(1) == 1
    with pytest.raises(ValueError, match="cap"):
        pool_workers(0)


# --- 13.1 ---------------------------------------------------------------------------------

def stub(latency, jitter, target):
    ...


def solution(latency, jitter, target):
    workers = math.ceil(1.5 * target * (latency + jitter / 2))
    return {"workers": min(workers, 150), "timeout": 2 * (latency + jitter) + 0.1}


def alt_max_latency(latency, jitter, target):
    return {"workers": min(150, math.ceil(target * (latency + jitter))), "timeout": latency + jitter + 0.2}


def hard_coded(latency, jitter, target):
    return {"workers": 20, "timeout": 1.0}


def ignores_jitter(latency, jitter, target):
    return {"workers": math.ceil(2 * target * latency) + 5, "timeout": 2 * latency}


def too_few_workers(latency, jitter, target):
    return {"workers": 4, "timeout": 5.0}


def everything_at_once(latency, jitter, target):
    return {"workers": 150, "timeout": 5.0}


def over_the_cap(latency, jitter, target):
    return {"workers": 1000, "timeout": 5.0}


def timeout_equals_latency(latency, jitter, target):
    return {"workers": math.ceil(1.5 * target * (latency + jitter / 2)), "timeout": latency}


def blocking_sleep(latency, jitter, target):
    time.sleep(120)
    return {"workers": 20, "timeout": 1.0}


def returns_tuple(latency, jitter, target):
    return (math.ceil(1.5 * target * (latency + jitter / 2)), 2 * (latency + jitter))


def float_workers(latency, jitter, target):
    return {"workers": 1.5 * target * (latency + jitter / 2), "timeout": 2 * (latency + jitter)}



@pytest.mark.parametrize(
    "answer, hint",
    [
        (hard_coded, "below the target"),
        (ignores_jitter, "lost"),
        (too_few_workers, "below the target"),
        (everything_at_once, "hogs the shared API"),
        (over_the_cap, "at most 150"),
        (timeout_equals_latency, "lost"),
        (returns_tuple, "must return a dict"),
        (float_workers, "whole number"),
    ],
)
def test_13_1_wrong_answers(lab, answer, hint) -> None:
    result = run(nb13.check_13_1(answer, lab))
    assert result.outcome is Outcome.WRONG and hint in result.message, result.message


def test_13_1_blocking_answer_does_not_hang(lab) -> None:
    started = time.perf_counter()
    result = run(nb13.check_13_1(blocking_sleep, lab))
    assert result.outcome is Outcome.WRONG and "had not returned" in result.message, result.message
    assert time.perf_counter() - started < 40


def test_13_1_stub_and_right_answers(lab) -> None:
    assert run(nb13.check_13_1(stub, lab)).outcome is Outcome.NOT_ATTEMPTED
    assert run(nb13.check_13_1(solution, lab)).passed
    assert run(nb13.check_13_1(alt_max_latency, lab)).passed


# --- 13.2 ---------------------------------------------------------------------------------

async def stub(inbox, outbox, lookup, limit):
    ...


async def solution(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)

    async def one(record):
        for attempt in range(3):
            try:
                async with sem:
                    tag = await lookup(record["id"])
                break
            except ConnectionError:
                if attempt == 2:
                    raise
        await outbox.put({**record, "tag": tag})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))
    await outbox.put(None)


async def alt_workers(inbox, outbox, lookup, limit):
    async def worker():
        while (record := await inbox.get()) is not None:
            for attempt in range(3):
                try:
                    tag = await lookup(record["id"])
                    break
                except ConnectionError:
                    if attempt == 2:
                        raise
            await outbox.put({**record, "tag": tag})
        await inbox.put(None)

    async with asyncio.TaskGroup() as tg:
        for _ in range(limit):
            tg.create_task(worker())
    await outbox.put(None)


async def sequential(inbox, outbox, lookup, limit):
    while (record := await inbox.get()) is not None:
        for attempt in range(3):
            try:
                tag = await lookup(record["id"])
                break
            except ConnectionError:
                pass
        await outbox.put({**record, "tag": tag})
    await outbox.put(None)


async def no_limit(inbox, outbox, lookup, limit):
    async def one(record):
        for attempt in range(3):
            try:
                tag = await lookup(record["id"])
                break
            except ConnectionError:
                pass
        await outbox.put({**record, "tag": tag})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))
    await outbox.put(None)


async def no_retry(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)

    async def one(record):
        async with sem:
            tag = await lookup(record["id"])
        await outbox.put({**record, "tag": tag})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))
    await outbox.put(None)


async def drops_failures(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)

    async def one(record):
        try:
            async with sem:
                tag = await lookup(record["id"])
        except ConnectionError:
            return
        await outbox.put({**record, "tag": tag})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))
    await outbox.put(None)


async def forgets_sentinel(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)

    async def one(record):
        for attempt in range(3):
            try:
                async with sem:
                    tag = await lookup(record["id"])
                break
            except ConnectionError:
                pass
        await outbox.put({**record, "tag": tag})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))


async def sentinel_too_early(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)
    tasks = []

    async def one(record):
        for attempt in range(3):
            try:
                async with sem:
                    tag = await lookup(record["id"])
                break
            except ConnectionError:
                pass
        await outbox.put({**record, "tag": tag})

    while (record := await inbox.get()) is not None:
        tasks.append(asyncio.create_task(one(record)))
    await outbox.put(None)
    await asyncio.gather(*tasks)


async def duplicates(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)

    async def one(record):
        for attempt in range(3):
            try:
                async with sem:
                    tag = await lookup(record["id"])
                await outbox.put({**record, "tag": tag})
                break
            except ConnectionError:
                await outbox.put({**record, "tag": None})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))
    await outbox.put(None)


async def blocking_sleep(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)

    async def one(record):
        for attempt in range(3):
            try:
                async with sem:
                    time.sleep(0.05)
                    tag = await lookup(record["id"])
                break
            except ConnectionError:
                pass
        await outbox.put({**record, "tag": tag})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))
    await outbox.put(None)


async def swallows_cancel_forever(inbox, outbox, lookup, limit):
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass


async def cpu_loop(inbox, outbox, lookup, limit):
    while True:
        pass


async def hard_coded_tag(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)

    async def one(record):
        for attempt in range(3):
            try:
                async with sem:
                    await lookup(record["id"])
                break
            except ConnectionError:
                pass
        await outbox.put({**record, "tag": "tag"})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))
    await outbox.put(None)


async def tag_only(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)

    async def one(record):
        for attempt in range(3):
            try:
                async with sem:
                    tag = await lookup(record["id"])
                break
            except ConnectionError:
                pass
        await outbox.put({"id": record["id"], "tag": tag})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))
    await outbox.put(None)



@pytest.mark.parametrize(
    "answer, hint",
    [
        (sequential, "one at a time"),
        (no_limit, "lookups ran at once, but limit was"),
        (no_retry, "raised ConnectionError (inside an ExceptionGroup"),
        (drops_failures, "never reached the outbox"),
        (forgets_sentinel, "had not received None"),
        (sentinel_too_early, "put None only after every record"),
        (duplicates, "more than once"),
        (blocking_sleep, "blocking the loop"),
        (hard_coded_tag, "the tag must be what"),
        (tag_only, "record's fields"),
    ],
)
def test_13_2_wrong_answers(lab, answer, hint) -> None:
    result = run(nb13.check_13_2(answer, lab))
    assert result.outcome is Outcome.WRONG and hint in result.message, result.message


def test_13_2_stub_and_right_answers(lab) -> None:
    assert run(nb13.check_13_2(stub, lab)).outcome is Outcome.NOT_ATTEMPTED
    assert run(nb13.check_13_2(solution, lab)).passed
    assert run(nb13.check_13_2(alt_workers, lab)).passed


# last: a CPU-loop answer keeps spinning in its abandoned thread for the rest of the session
@pytest.mark.parametrize("answer", [swallows_cancel_forever, cpu_loop])
def test_13_2_hanging_answers_do_not_hang_the_check(lab, answer) -> None:
    started = time.perf_counter()
    result = run(nb13.check_13_2(answer, lab))
    message = result.message
    assert result.outcome is Outcome.WRONG and ("had not received None" in message or "never let its event loop run" in message), message
    assert time.perf_counter() - started < 30
