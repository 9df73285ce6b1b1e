"""Notebook 00's checker against the real services: stub, wrong answers of every class, right answers."""

from __future__ import annotations

import asyncio

import pytest

from helpers.checks import Outcome
from helpers.exercises import nb00


async def stub(client, urls):
    ...  # your code here


async def right(client, urls):
    responses = await asyncio.gather(*(client.get(url) for url in urls))
    return [response.json()["name"] for response in responses]


async def right_taskgroup(client, urls):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(client.get(url)) for url in urls]
    return [task.result().json()["name"] for task in tasks]


async def right_helper_coroutine(client, urls):
    async def name(url):
        response = await client.get(url)
        response.raise_for_status()
        return response.json()["name"]

    return list(await asyncio.gather(*map(name, urls)))


async def as_completed_order(client, urls):
    return [(await f).json()["name"] for f in asyncio.as_completed([client.get(u) for u in urls])]


async def append_as_they_finish(client, urls):
    names = []

    async def fetch(url):
        names.append((await client.get(url)).json()["name"])

    await asyncio.gather(*(fetch(u) for u in urls))
    return names


async def one_after_another(client, urls):
    return [(await client.get(url)).json()["name"] for url in urls]


async def whole_dicts(client, urls):
    return [r.json() for r in await asyncio.gather(*(client.get(u) for u in urls))]


async def responses(client, urls):
    return list(await asyncio.gather(*(client.get(u) for u in urls)))


async def hard_coded(client, urls):
    await asyncio.gather(*(client.get(u) for u in urls))
    return ["Grace Hopper", "Ada Lovelace", "Alan Turing", "Barbara Liskov"]


async def ignores_urls(client, urls):
    base = str(urls[0]).split("/users/")[0]
    fixed = [f"{base}/users/{i}?delay=0.3" for i in (3, 1, 2, 5)]
    responses = await asyncio.gather(*(client.get(u) for u in fixed))
    return [r.json()["name"] for r in responses]


async def forgot_await(client, urls):
    return asyncio.gather(*(client.get(u) for u in urls))


def run(fn, lab):
    return asyncio.run(nb00.check_0_1(fn, lab))


def test_stub_is_not_attempted(lab):
    assert run(stub, lab).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize("fn", [right, right_taskgroup, right_helper_coroutine])
def test_right_answers_pass(fn, lab):
    result = run(fn, lab)
    assert result.outcome is Outcome.PASSED, result.message


@pytest.mark.parametrize(
    ("fn", "words"),
    [
        (as_completed_order, "in the wrong order"),
        (append_as_they_finish, "follows the finishing order"),
        (one_after_another, "one after another"),
        (whole_dicts, "just the 'name' field"),
        (responses, "Response objects"),
        (hard_coded, "expected ["),
        (ignores_urls, "the server never saw a request"),
        (forgot_await, "`await` it"),
    ],
)
def test_wrong_answers_get_a_specific_hint(fn, words, lab):
    result = run(fn, lab)
    assert result.outcome is Outcome.WRONG, result
    assert words in result.message, result.message


def test_an_unawaited_gather_leaves_no_noise_on_stderr(lab, capfd):
    import gc

    result = run(forgot_await, lab)
    gc.collect()
    assert result.outcome is Outcome.WRONG
    assert "never retrieved" not in capfd.readouterr().err
