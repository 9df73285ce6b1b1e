"""Notebook 01's checkers against the real services: stub, wrong answers, right answer."""

from __future__ import annotations

import asyncio
import time

from helpers.checks import Outcome
from helpers.exercises import nb01


# --- Exercise 1.1: post authors, all posts at once ---------------------------------------


def _authors_functions(lab):
    async def stub(client, post_ids):
        ...

    async def one_by_one(client, post_ids):  # correct names, but no concurrency
        names = []
        for pid in post_ids:
            post = (await client.get(lab.url(f"/posts/{pid}?delay=0.2"))).json()
            user = (await client.get(lab.url(f"/users/{post['user_id']}?delay=0.2"))).json()
            names.append(user["name"])
        return names

    async def author(client, pid):
        post = (await client.get(lab.url(f"/posts/{pid}?delay=0.2"))).json()
        user = (await client.get(lab.url(f"/users/{post['user_id']}?delay=0.2"))).json()
        return user["name"]

    async def right(client, post_ids):
        return list(await asyncio.gather(*(author(client, pid) for pid in post_ids)))

    async def completion_order(client, post_ids):  # concurrent, but results in completion order
        names = []
        for next_done in asyncio.as_completed([author(client, pid) for pid in sorted(post_ids, reverse=True)]):
            names.append(await next_done)
        return names

    async def user_ids_only(client, post_ids):  # stops after the first request
        posts = await asyncio.gather(*(client.get(lab.url(f"/posts/{pid}?delay=0.2")) for pid in post_ids))
        return [str(p.json()["user_id"]) for p in posts]

    async def forgot_await(client, post_ids):
        return asyncio.gather(*(author(client, pid) for pid in post_ids))

    return stub, one_by_one, right, completion_order, user_ids_only, forgot_await


def test_1_1_stub_is_not_attempted(lab):
    stub, *_ = _authors_functions(lab)
    result = asyncio.run(nb01.check_1_1(stub, lab))
    assert result.outcome is Outcome.NOT_ATTEMPTED


def test_1_1_sequential_is_wrong_and_says_so(lab):
    _, one_by_one, *_ = _authors_functions(lab)
    result = asyncio.run(nb01.check_1_1(one_by_one, lab))
    assert result.outcome is Outcome.WRONG
    assert "one after another" in result.message and "gather" in result.message


def test_1_1_wrong_order_is_wrong(lab):
    *_, completion_order, _, _ = _authors_functions(lab)
    result = asyncio.run(nb01.check_1_1(completion_order, lab))
    assert result.outcome is Outcome.WRONG
    assert "wrong order" in result.message


def test_1_1_missing_second_step_is_wrong(lab):
    *_, user_ids_only, _ = _authors_functions(lab)
    result = asyncio.run(nb01.check_1_1(user_ids_only, lab))
    assert result.outcome is Outcome.WRONG
    assert "user_id" in result.message


def test_1_1_forgotten_await_is_wrong(lab):
    *_, forgot_await = _authors_functions(lab)
    result = asyncio.run(nb01.check_1_1(forgot_await, lab))
    assert result.outcome is Outcome.WRONG
    assert "await" in result.message


def test_1_1_right_answer_passes(lab):
    _, _, right, *_ = _authors_functions(lab)
    result = asyncio.run(nb01.check_1_1(right, lab))
    assert result.outcome is Outcome.PASSED, result.message


# --- Exercise 1.2: wait without blocking -------------------------------------------------


async def stub_later(client, url, wait):
    ...


async def blocking_later(client, url, wait):
    time.sleep(wait)  # the classic mistake
    response = await client.get(url)
    return response.json()


async def no_wait_later(client, url, wait):
    response = await client.get(url)
    return response.json()


async def returns_response_later(client, url, wait):
    await asyncio.sleep(wait)
    return await client.get(url)


async def right_later(client, url, wait):
    await asyncio.sleep(wait)
    response = await client.get(url)
    return response.json()


def test_1_2_stub_is_not_attempted(lab):
    assert asyncio.run(nb01.check_1_2(stub_later, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_1_2_time_sleep_is_wrong_and_named(lab):
    result = asyncio.run(nb01.check_1_2(blocking_later, lab))
    assert result.outcome is Outcome.WRONG
    assert "frozen" in result.message and "asyncio.sleep" in result.message


def test_1_2_not_waiting_is_wrong(lab):
    result = asyncio.run(nb01.check_1_2(no_wait_later, lab))
    assert result.outcome is Outcome.WRONG
    assert "before" in result.message


def test_1_2_returning_the_response_is_wrong(lab):
    result = asyncio.run(nb01.check_1_2(returns_response_later, lab))
    assert result.outcome is Outcome.WRONG
    assert "JSON" in result.message


def test_1_2_right_answer_passes(lab):
    result = asyncio.run(nb01.check_1_2(right_later, lab))
    assert result.outcome is Outcome.PASSED, result.message


# --- every class of wrong answer gets a specific hint (1.1 and 1.2) -------------------------


def _more_authors(lab):
    async def author(client, pid):
        post = (await client.get(lab.url(f"/posts/{pid}?delay=0.2"))).json()
        user = (await client.get(lab.url(f"/users/{post['user_id']}?delay=0.2"))).json()
        return user["name"]

    async def append_as_they_finish(client, post_ids):
        names = []

        async def one(pid):
            names.append(await author(client, pid))

        await asyncio.gather(*(one(pid) for pid in post_ids))
        return names

    async def as_completed_order(client, post_ids):
        return [await f for f in asyncio.as_completed([author(client, p) for p in post_ids])]

    async def hard_coded(client, post_ids):
        await asyncio.gather(*(author(client, pid) for pid in post_ids))
        return ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Barbara Liskov", "Edsger Dijkstra"]

    async def ignores_post_ids(client, post_ids):
        return list(await asyncio.gather(*(author(client, pid) for pid in (7, 23, 42, 11, 35))))

    async def user_dicts(client, post_ids):
        async def user(pid):
            post = (await client.get(lab.url(f"/posts/{pid}?delay=0.2"))).json()
            return (await client.get(lab.url(f"/users/{post['user_id']}?delay=0.2"))).json()

        return list(await asyncio.gather(*(user(pid) for pid in post_ids)))

    async def alt_taskgroup(client, post_ids):
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(author(client, pid)) for pid in post_ids]
        return [t.result() for t in tasks]

    return {
        "append_as_they_finish": append_as_they_finish,
        "as_completed_order": as_completed_order,
        "hard_coded": hard_coded,
        "ignores_post_ids": ignores_post_ids,
        "user_dicts": user_dicts,
        "alt_taskgroup": alt_taskgroup,
    }


import pytest  # noqa: E402


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("append_as_they_finish", "follows the finishing order"),
        ("as_completed_order", "follows the finishing order"),
        ("hard_coded", "expected ["),
        ("ignores_post_ids", "fetch the posts in `post_ids`"),
        ("user_dicts", "whole JSON answers"),
    ],
)
def test_1_1_wrong_answer_classes(name, words, lab):
    result = asyncio.run(nb01.check_1_1(_more_authors(lab)[name], lab))
    assert result.outcome is Outcome.WRONG, result
    assert words in result.message, result.message


def test_1_1_taskgroup_answer_passes(lab):
    result = asyncio.run(nb01.check_1_1(_more_authors(lab)["alt_taskgroup"], lab))
    assert result.outcome is Outcome.PASSED, result.message


async def fixed_wait_later(client, url, wait):
    await asyncio.sleep(0.2)  # ignores `wait`
    return (await client.get(url)).json()


def _fixed_url_later(lab):
    async def fixed_url_later(client, url, wait):
        await asyncio.sleep(wait)
        return (await client.get(lab.url("/delay/0.1"))).json()  # ignores `url`

    return fixed_url_later


async def waits_twice_later(client, url, wait):
    await asyncio.sleep(wait)
    await asyncio.sleep(wait)
    await asyncio.sleep(wait)
    return (await client.get(url)).json()


async def wait_for_later(client, url, wait):  # a correct answer written another way
    task = asyncio.create_task(client.get(url))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(wait)
    return (await client.get(url)).json()


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (fixed_wait_later, "wait `wait` seconds (the parameter)"),
        (waits_twice_later, "wait `wait` seconds once"),
        (returns_response_later, "return response.json(), not the Response"),
    ],
)
def test_1_2_wrong_answer_classes(fn, words, lab):
    result = asyncio.run(nb01.check_1_2(fn, lab))
    assert result.outcome is Outcome.WRONG, result
    assert words in result.message, result.message


def test_1_2_ignoring_the_url_is_wrong(lab):
    result = asyncio.run(nb01.check_1_2(_fixed_url_later(lab), lab))
    assert result.outcome is Outcome.WRONG and "request the `url` you were given" in result.message


def test_1_1_posts_at_once_but_authors_one_by_one_is_wrong(lab):
    async def two_phases(client, post_ids):
        posts = await asyncio.gather(*(client.get(lab.url(f"/posts/{p}?delay=0.2")) for p in post_ids))
        names = []
        for post in posts:
            user = await client.get(lab.url(f"/users/{post.json()['user_id']}?delay=0.2"))
            names.append(user.json()["name"])
        return names

    result = asyncio.run(nb01.check_1_1(two_phases, lab))
    assert result.outcome is Outcome.WRONG and "one after another" in result.message, result


def test_1_1_posts_at_once_then_authors_at_once_passes(lab):
    async def two_gathers(client, post_ids):
        posts = await asyncio.gather(*(client.get(lab.url(f"/posts/{p}?delay=0.2")) for p in post_ids))
        users = await asyncio.gather(
            *(client.get(lab.url(f"/users/{p.json()['user_id']}?delay=0.2")) for p in posts)
        )
        return [u.json()["name"] for u in users]

    result = asyncio.run(nb01.check_1_1(two_gathers, lab))
    assert result.outcome is Outcome.PASSED, result.message
