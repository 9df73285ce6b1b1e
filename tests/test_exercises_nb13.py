"""Checkers of notebook 13 against the real services: tune_stub, wrong answers, right answers.

The answers below are the ones a struggling learner writes; each must get a ❌
whose sentence names the mistake, within the checker's own time limit.
"""

from __future__ import annotations

import asyncio
import math
import re
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

def tune_stub(latency, jitter, target):
    ...


def tune_solution(latency, jitter, target):
    workers = math.ceil(1.5 * target * (latency + jitter / 2))
    return {"workers": min(workers, 150), "timeout": 2 * (latency + jitter) + 0.1}


def tune_alt_max_latency(latency, jitter, target):
    return {"workers": min(150, math.ceil(target * (latency + jitter))), "timeout": latency + jitter + 0.2}


def tune_hard_coded(latency, jitter, target):
    return {"workers": 20, "timeout": 1.0}


def tune_ignores_jitter(latency, jitter, target):
    return {"workers": math.ceil(2 * target * latency) + 5, "timeout": 2 * latency}


def tune_too_few_workers(latency, jitter, target):
    return {"workers": 4, "timeout": 5.0}


def tune_everything_at_once(latency, jitter, target):
    return {"workers": 150, "timeout": 5.0}


def tune_over_the_cap(latency, jitter, target):
    return {"workers": 1000, "timeout": 5.0}


def tune_timeout_equals_latency(latency, jitter, target):
    return {"workers": math.ceil(1.5 * target * (latency + jitter / 2)), "timeout": latency}


def tune_blocking_sleep(latency, jitter, target):
    time.sleep(120)
    return {"workers": 20, "timeout": 1.0}


def tune_returns_tuple(latency, jitter, target):
    return (math.ceil(1.5 * target * (latency + jitter / 2)), 2 * (latency + jitter))


def tune_fixed_thirty(latency, jitter, target):
    """A fixed pool size that suits some draws of both cases (about 1 draw in 45 before tune_cases)."""
    return {"workers": 30, "timeout": 1.0}


def tune_float_workers(latency, jitter, target):
    return {"workers": 1.5 * target * (latency + jitter / 2), "timeout": 2 * (latency + jitter)}



@pytest.mark.parametrize(
    "answer, hint",
    [
        (tune_hard_coded, "hogs the shared API|below the target"),
        (tune_fixed_thirty, "hogs the shared API|below the target"),
        (tune_ignores_jitter, "lost"),
        (tune_too_few_workers, "below the target"),
        (tune_everything_at_once, "hogs the shared API"),
        (tune_over_the_cap, "at most 150"),
        (tune_timeout_equals_latency, "lost"),
        (tune_returns_tuple, "must return a dict"),
        (tune_float_workers, "whole number"),
    ],
)
def test_13_1_wrong_answers(lab, answer, hint) -> None:
    result = run(nb13.check_13_1(answer, lab))
    assert result.outcome is Outcome.WRONG and re.search(hint, result.message), result.message


def test_13_1_blocking_answer_does_not_hang(lab) -> None:
    started = time.perf_counter()
    result = run(nb13.check_13_1(tune_blocking_sleep, lab))
    assert result.outcome is Outcome.WRONG and "had not returned" in result.message, result.message
    assert time.perf_counter() - started < 40


def test_13_1_stub_and_right_answers(lab) -> None:
    assert run(nb13.check_13_1(tune_stub, lab)).outcome is Outcome.NOT_ATTEMPTED
    assert run(nb13.check_13_1(tune_solution, lab)).passed
    assert run(nb13.check_13_1(tune_alt_max_latency, lab)).passed


# --- 13.2 ---------------------------------------------------------------------------------

async def tag_stub(inbox, outbox, lookup, limit):
    ...


async def tag_solution(inbox, outbox, lookup, limit):
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


async def tag_alt_workers(inbox, outbox, lookup, limit):
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


async def tag_sequential(inbox, outbox, lookup, limit):
    while (record := await inbox.get()) is not None:
        for attempt in range(3):
            try:
                tag = await lookup(record["id"])
                break
            except ConnectionError:
                pass
        await outbox.put({**record, "tag": tag})
    await outbox.put(None)


async def tag_no_limit(inbox, outbox, lookup, limit):
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


async def tag_no_retry(inbox, outbox, lookup, limit):
    sem = asyncio.Semaphore(limit)

    async def one(record):
        async with sem:
            tag = await lookup(record["id"])
        await outbox.put({**record, "tag": tag})

    async with asyncio.TaskGroup() as tg:
        while (record := await inbox.get()) is not None:
            tg.create_task(one(record))
    await outbox.put(None)


async def tag_drops_failures(inbox, outbox, lookup, limit):
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


async def tag_forgets_sentinel(inbox, outbox, lookup, limit):
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


async def tag_sentinel_too_early(inbox, outbox, lookup, limit):
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


async def tag_duplicates(inbox, outbox, lookup, limit):
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


async def tag_blocking_sleep(inbox, outbox, lookup, limit):
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


async def tag_swallows_cancel_forever(inbox, outbox, lookup, limit):
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass


async def tag_cpu_loop(inbox, outbox, lookup, limit):
    while True:
        pass


async def tag_hard_coded_tag(inbox, outbox, lookup, limit):
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



async def tag_hard_coded_limit(inbox, outbox, lookup, limit):
    """The semaphore from the lesson's example, not from `limit`: 3 is within every limit (3-6)."""
    sem = asyncio.Semaphore(3)

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


@pytest.mark.parametrize(
    "answer, hint",
    [
        (tag_hard_coded_limit, "the check passes a different limit each time"),
        (tag_sequential, "one at a time"),
        (tag_no_limit, "lookups ran at once, but limit was"),
        (tag_no_retry, "raised ConnectionError (inside an ExceptionGroup"),
        (tag_drops_failures, "never reached the outbox"),
        (tag_forgets_sentinel, "had not received None"),
        (tag_sentinel_too_early, "put None only after every record"),
        (tag_duplicates, "more than once"),
        (tag_blocking_sleep, "blocking the loop"),
        (tag_hard_coded_tag, "the tag must be what"),
        (tag_only, "record's fields"),
    ],
)
def test_13_2_wrong_answers(lab, answer, hint) -> None:
    result = run(nb13.check_13_2(answer, lab))
    assert result.outcome is Outcome.WRONG and hint in result.message, result.message


def test_13_2_stub_and_right_answers(lab) -> None:
    assert run(nb13.check_13_2(tag_stub, lab)).outcome is Outcome.NOT_ATTEMPTED
    assert run(nb13.check_13_2(tag_solution, lab)).passed
    assert run(nb13.check_13_2(tag_alt_workers, lab)).passed


# last: a CPU-loop answer keeps spinning in its abandoned thread for the rest of the session
@pytest.mark.parametrize("answer", [tag_swallows_cancel_forever, tag_cpu_loop])
def test_13_2_hanging_answers_do_not_hang_the_check(lab, answer) -> None:
    started = time.perf_counter()
    result = run(nb13.check_13_2(answer, lab))
    message = result.message
    assert result.outcome is Outcome.WRONG and ("had not received None" in message or "never let its event loop run" in message), message
    assert time.perf_counter() - started < 30
