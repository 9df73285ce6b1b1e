"""Checkers of notebook 09 against the real services: stub, right answers, and the wrong answers
a struggling learner writes, each of which must get a specific ❌ (the attacks run with
/work/shared/tools/checker-attack, kept here as regression tests)."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import math
import random
import time

import httpx
import pytest
import tenacity

from helpers.checks import Outcome
from helpers.exercises import nb09

RETRY = {429, 502, 503, 504}


def run(coro):
    return asyncio.run(coro)


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    if value.isdigit():
        return float(value)
    when = email.utils.parsedate_to_datetime(value)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


def jitter(attempt: int) -> float:
    return random.uniform(0, 0.05 * 2**attempt)


# --- 9.1 -------------------------------------------------------------------------------


async def fetch_stub(client, url):
    ...


async def fetch_right(client, url):
    for attempt in range(6):
        try:
            response = await client.get(url)
        except httpx.TransportError:
            if attempt == 5:
                raise
            wait = jitter(attempt)
        else:
            if response.status_code not in RETRY or attempt == 5:
                response.raise_for_status()
                return response.json()
            wait = retry_after(response)
            if wait is None:
                wait = jitter(attempt)
        await asyncio.sleep(wait)


def _retryable(exc):
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in RETRY
    return isinstance(exc, httpx.TransportError)


def _wait(state):
    exc = state.outcome.exception()
    if isinstance(exc, httpx.HTTPStatusError) and retry_after(exc.response) is not None:
        return retry_after(exc.response)
    return tenacity.wait_random_exponential(multiplier=0.05, max=2)(state)


async def fetch_right_tenacity(client, url):
    retrying = tenacity.AsyncRetrying(retry=tenacity.retry_if_exception(_retryable), wait=_wait, stop=tenacity.stop_after_attempt(6), reraise=True)
    async for attempt in retrying:
        with attempt:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()


def make_fetch(*, retry_statuses=RETRY, transport=True, honour=True, sleep="async", wait="jitter", attempts=6, give=lambda r: r.json(), last="raise"):
    """A retrying fetch with one deliberate mistake, chosen by the arguments."""

    async def fetch(client, url):
        response = None
        for attempt in range(attempts):
            final = attempt == attempts - 1
            try:
                response = await client.get(url)
            except httpx.TransportError:
                if final or not transport:
                    raise
                pause = None
            else:
                if retry_statuses == "all":
                    retry_this = response.status_code >= 400
                else:
                    retry_this = response.status_code in retry_statuses
                if not retry_this or (final and last == "raise"):
                    response.raise_for_status()
                    return give(response)
                if final:
                    return response.json()
                pause = retry_after(response) if honour else None
            if pause is None:
                pause = {"jitter": jitter(attempt), "fixed": 0.05 * 2**attempt, "none": 0.0}[wait]
            if sleep == "async":
                await asyncio.sleep(pause)
            else:
                time.sleep(pause)

    return fetch


def test_9_1_stub_is_not_attempted(lab):
    assert run(nb09.check_9_1(fetch_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize("answer", [fetch_right, fetch_right_tenacity], ids=["by hand", "tenacity"])
def test_9_1_right_answers_pass(lab, answer):
    result = run(nb09.check_9_1(answer, lab))
    assert result.outcome is Outcome.PASSED, result.message


@pytest.mark.parametrize(
    "answer, hint",
    [
        (make_fetch(retry_statuses=set()), "may pass, retry them"),
        (make_fetch(retry_statuses="all"), "never retry a 4xx other than 429"),
        (make_fetch(honour=False), "before the Retry-After the server sent"),
        (make_fetch(sleep="blocking"), "frozen"),
        (make_fetch(wait="none", honour=True), "wait between attempts"),
        (make_fetch(wait="fixed"), "add full jitter"),
        (make_fetch(give=lambda r: r), "return response.json(), not the Response"),
        (make_fetch(last="return"), "instead of raising the last error"),
        (make_fetch(attempts=3), "make up to 6 attempts"),
        (make_fetch(transport=False), "a dropped connection were not retried"),
    ],
    ids=["no retry", "retries 4xx", "ignores Retry-After", "time.sleep", "no wait", "no jitter", "Response", "returns last body", "3 attempts", "no transport retry"],
)
def test_9_1_wrong_answers_get_a_specific_hint(lab, answer, hint):
    result = run(nb09.check_9_1(answer, lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message


@pytest.mark.parametrize("forgotten", [502, 503, 504])
def test_9_1_forgetting_one_transient_status_is_wrong_every_time(lab, forgotten):
    """Each run's "transient" script meets all three of 502/503/504 (it used to meet two)."""
    answer = make_fetch(retry_statuses=RETRY - {forgotten})
    for _ in range(2):
        result = run(nb09.check_9_1(answer, lab))
        assert result.outcome is Outcome.WRONG, result.message
        assert f"{forgotten}" in result.message or "was not retried" in result.message, result.message


def fetch_catching(errors: tuple[type[BaseException], ...]):
    """fetch_right, but retrying only `errors` (a learner who listed some transport errors)."""

    async def fetch(client, url):
        for attempt in range(6):
            try:
                response = await client.get(url)
            except errors:
                if attempt == 5:
                    raise
                wait = jitter(attempt)
            else:
                if response.status_code not in RETRY or attempt == 5:
                    response.raise_for_status()
                    return response.json()
                wait = retry_after(response)
                if wait is None:
                    wait = jitter(attempt)
            await asyncio.sleep(wait)

    return fetch


@pytest.mark.parametrize(
    "errors",
    [(httpx.ConnectError, httpx.RemoteProtocolError), (httpx.NetworkError, httpx.RemoteProtocolError)],
    ids=["connect+protocol", "network+protocol"],
)
def test_9_1_timeouts_not_retried_is_wrong(lab, errors):
    """Every run has a URL whose first answer comes after the client's timeout (a "slow" step)."""
    result = run(nb09.check_9_1(fetch_catching(errors), lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert "timed out was not retried" in result.message, result.message


def test_9_1_dropped_connections_not_retried_is_wrong(lab):
    result = run(nb09.check_9_1(fetch_catching((httpx.TimeoutException, httpx.ConnectError)), lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert "dropped connection was not retried" in result.message, result.message


async def fetch_seconds_only(client, url):
    for attempt in range(6):
        try:
            response = await client.get(url)
        except httpx.TransportError:
            await asyncio.sleep(jitter(attempt))
            continue
        if response.status_code not in RETRY or attempt == 5:
            response.raise_for_status()
            return response.json()
        try:
            pause = float(response.headers.get("Retry-After", "x"))
        except ValueError:  # an HTTP date: ignored
            pause = jitter(attempt)
        await asyncio.sleep(pause)


def test_9_1_retry_after_date_ignored_is_wrong(lab):
    result = run(nb09.check_9_1(fetch_seconds_only, lab))
    assert result.outcome is Outcome.WRONG and "an HTTP date" in result.message, result.message


async def fetch_forever_swallowing(client, url):
    for _ in range(40):  # "retry until it works", swallowing everything; ends after ~12 s so asyncio.run can exit
        try:
            response = await client.get(url)
            if response.status_code < 400:
                return response.json()
            if response.status_code < 500 and response.status_code != 429:
                response.raise_for_status()
            await asyncio.sleep(retry_after(response) or 0.3)
        except httpx.HTTPStatusError:
            raise
        except BaseException:  # swallows CancelledError too
            await asyncio.sleep(0.3)


def test_9_1_endless_retry_that_swallows_cancellation_does_not_hang(lab):
    started = time.perf_counter()
    result = run(nb09.check_9_1(fetch_forever_swallowing, lab))
    assert result.outcome is Outcome.WRONG and "still running after 10 s" in result.message, result.message
    assert time.perf_counter() - started < 20


def test_9_1_sync_function_is_wrong(lab):
    def not_async(client, url):
        return {}

    result = run(nb09.check_9_1(not_async, lab))
    assert result.outcome is Outcome.WRONG and "async def" in result.message


@pytest.mark.parametrize("code", nb09.PERMANENT_CODES)
def test_9_1_retrying_any_one_4xx_is_wrong_every_run(lab, code):
    """Each run meets all six 4xx codes (it used to draw one): retrying only this one is caught."""
    result = run(nb09.check_9_1(make_fetch(retry_statuses=RETRY | {code}), lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert f"a {code} was tried more than once" in result.message, result.message


def test_9_1_retrying_several_4xx_names_them_all(lab):
    result = run(nb09.check_9_1(make_fetch(retry_statuses=RETRY | {408, 409, 422}), lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert "the 4xx answers 409, 422 were tried more than once" in result.message, result.message


@pytest.mark.parametrize("retry_statuses", [RETRY | {500}, RETRY | {500, 501}], ids=["500", "500 and 501"])
def test_9_1_retrying_a_500_or_501_is_wrong(lab, retry_statuses):
    """The exercise retries 429/502/503/504 only; every run meets a 500 and a 501."""
    result = run(nb09.check_9_1(make_fetch(retry_statuses=retry_statuses), lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert "retry only 429, 502, 503 and 504" in result.message and "500" in result.message, result.message


def raise_only_for(codes):
    """Retries right, but raises only for some 4xx and returns the error body for the others."""

    async def fetch(client, url):
        for attempt in range(6):
            response = await client.get(url)
            if response.status_code in RETRY and attempt < 5:
                await asyncio.sleep(retry_after(response) or jitter(attempt))
                continue
            if response.status_code in codes or response.status_code >= 500:
                response.raise_for_status()
            return response.json()

    return fetch


@pytest.mark.parametrize("codes", [{400, 404}, {401, 403, 409, 422}], ids=["400/404 only", "not 400/404"])
def test_9_1_raising_for_only_some_4xx_is_wrong_every_run(lab, codes):
    result = run(nb09.check_9_1(raise_only_for(codes), lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert "should raise httpx.HTTPStatusError" in result.message, result.message


# --- 9.2 -------------------------------------------------------------------------------


async def items_stub(client, url):
    ...


async def items_right(client, url):
    while url:
        response = await client.get(url)
        response.raise_for_status()
        page = response.json()
        for item in page["items"]:
            yield item
        url = page["next"]


async def items_right_popping(client, url):
    while True:
        data = (await client.get(url)).json()
        batch = list(data["items"])
        while batch:
            yield batch.pop(0)
        if not data["next"]:
            return
        url = data["next"]


async def items_returns_list(client, url):
    out = []
    while url:
        page = (await client.get(url)).json()
        out += page["items"]
        url = page["next"]
    return out


async def items_first_page(client, url):
    for item in (await client.get(url)).json()["items"]:
        yield item


async def items_pages(client, url):
    while url:
        page = (await client.get(url)).json()
        yield page["items"]
        url = page["next"]


async def items_eager(client, url):
    collected = []
    while url:
        page = (await client.get(url)).json()
        collected += page["items"]
        url = page["next"]
    for item in collected:
        yield item


async def items_twice(client, url):
    while url:
        await client.get(url)
        page = (await client.get(url)).json()
        for item in page["items"]:
            yield item
        url = page["next"]


async def items_sync_client(client, url):
    while url:
        page = httpx.get(url).json()
        for item in page["items"]:
            yield item
        url = page["next"]


async def items_responses(client, url):
    while url:
        response = await client.get(url)
        yield response
        url = response.json()["next"]


async def items_right_counting(client, url):
    """Right too: counts the pages from the first page's total and size, still following `next`."""
    page = (await client.get(url)).json()
    pages = math.ceil(page["total"] / len(page["items"]))
    for number in range(pages):
        for item in page["items"]:
            yield item
        if number < pages - 1:
            page = (await client.get(page["next"])).json()


async def items_stop_at_short_page(client, url):
    size = None
    while True:
        page = (await client.get(url)).json()
        size = size or len(page["items"])
        for item in page["items"]:
            yield item
        if len(page["items"]) < size:
            return
        url = page["next"]


async def items_stop_at_empty_page(client, url):
    while True:
        page = (await client.get(url)).json()
        if not page["items"]:
            return
        for item in page["items"]:
            yield item
        url = page["next"]


def items_counting(extra):
    """Counts pages as total // size (+ extra), following `next`: off by one on the last page."""

    async def iter_items(client, url):
        page = (await client.get(url)).json()
        for number in range(page["total"] // len(page["items"]) + extra):
            if number:
                page = (await client.get(page["next"])).json()
            for item in page["items"]:
                yield item

    return iter_items


async def items_short_page_guarded_wrongly(client, url):
    """Stops at a short page; on a full page it re-requests the current URL when `next` is null."""
    size = None
    while True:
        page = (await client.get(url)).json()
        size = size or len(page["items"])
        for item in page["items"]:
            yield item
        if len(page["items"]) < size:
            return
        url = page["next"] or url


def test_9_2_stub_is_not_attempted(lab):
    assert run(nb09.check_9_2(items_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize("answer", [items_right, items_right_popping, items_right_counting])
def test_9_2_right_answers_pass(lab, answer):
    result = run(nb09.check_9_2(answer, lab))
    assert result.outcome is Outcome.PASSED, result.message


@pytest.mark.parametrize(
    "answer, hint",
    [
        (items_returns_list, "not an async generator"),
        (items_first_page, "follow each page's `next` URL"),
        (items_pages, "not whole pages"),
        (items_eager, "fetch a page only when its items are needed"),
        (items_twice, "requested twice"),
        (items_sync_client, "different connections"),
        (items_responses, "return response.json(), not the Response"),
        (items_stop_at_short_page, "a short page is not the end signal"),
        (items_stop_at_empty_page, "stop when `next` is null"),
        (items_counting(0), "follow each page's `next` URL until it is null"),
        (items_counting(1), "stop when `next` is null"),
    ],
)
def test_9_2_wrong_answers_get_a_specific_hint(lab, answer, hint):
    result = run(nb09.check_9_2(answer, lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message


# --- 9.3 -------------------------------------------------------------------------------


async def sort_stub(client, urls):
    ...


def sorter(*, retry=lambda status: status in RETRY, catch=(httpx.RequestError,), timeout_kind="retryable", ok_value=lambda r: r.json(), error_value=lambda url, exc: url, tries=1, how="gather"):
    """fetch_all_sorted with one deliberate mistake, chosen by the arguments."""

    async def one(client, url):
        for _ in range(tries):
            try:
                response = await client.get(url)
            except httpx.TimeoutException as exc:
                if httpx.TimeoutException not in catch and httpx.RequestError not in catch:
                    raise
                kind, value = timeout_kind, error_value(url, exc)
                continue
            except catch as exc:
                kind, value = "retryable", error_value(url, exc)
                continue
            if response.is_success:
                return "ok", ok_value(response)
            kind, value = ("retryable" if retry(response.status_code) else "permanent"), url
            if kind == "permanent":
                break
        return kind, value

    async def fetch_all_sorted(client, urls):
        out = {"ok": [], "retryable": [], "permanent": []}
        if how == "gather":
            pairs = await asyncio.gather(*(one(client, u) for u in urls))
        elif how == "sequential":
            pairs = [await one(client, u) for u in urls]
        else:
            pairs = [await f for f in asyncio.as_completed([one(client, u) for u in urls])]
        for kind, value in pairs:
            out[kind].append(value)
        return out

    return fetch_all_sorted


def test_9_3_stub_is_not_attempted(lab):
    assert run(nb09.check_9_3(sort_stub, lab)).outcome is Outcome.NOT_ATTEMPTED


def test_9_3_right_answer_passes(lab):
    result = run(nb09.check_9_3(sorter(), lab))
    assert result.outcome is Outcome.PASSED, result.message


@pytest.mark.parametrize(
    "answer, hint",
    [
        (sorter(how="sequential"), "start them all together"),
        (sorter(retry=lambda s: s >= 500 or s == 429), "is in 'retryable'"),
        (sorter(catch=()), "catch httpx.RequestError"),
        (sorter(timeout_kind="permanent", catch=(httpx.TimeoutException, httpx.ConnectError, httpx.RemoteProtocolError)), "timed-out URL is in 'permanent'"),
        (sorter(how="as_completed"), "not in the order of `urls`"),
        (sorter(ok_value=lambda r: r), "return response.json(), not the Response"),
        (sorter(tries=2), "requested more than once"),
        (sorter(error_value=lambda url, exc: exc), "should hold the URLs as strings"),
    ],
    ids=["sequential", "500 retryable", "no except", "timeout permanent", "completion order", "Response", "retries", "exceptions"],
)
def test_9_3_wrong_answers_get_a_specific_hint(lab, answer, hint):
    result = run(nb09.check_9_3(answer, lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert hint in result.message, result.message


def test_9_2_short_page_stop_is_wrong_every_run(lab):
    """The exact-multiple collection is in every run (it was in 1 run in 27)."""
    for _ in range(3):
        result = run(nb09.check_9_2(items_stop_at_short_page, lab))
        assert result.outcome is Outcome.WRONG, result.message
        assert "a short page is not the end signal" in result.message, result.message


def test_9_2_short_page_stop_that_rereads_the_last_page_is_wrong(lab):
    result = run(nb09.check_9_2(items_short_page_guarded_wrongly, lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert "FULL pages" in result.message, result.message


@pytest.mark.parametrize("status", sorted(RETRY))
def test_9_3_filing_one_retry_status_as_permanent_is_wrong_every_run(lab, status):
    """Every run holds 429, 502, 503 and 504 (it sampled 3 of them)."""
    result = run(nb09.check_9_3(sorter(retry=lambda s: s in RETRY - {status}), lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert f"a {status} URL is in 'permanent'" in result.message, result.message


@pytest.mark.parametrize("status", [int(s) for s in nb09.PERMANENT_STATUSES_9_3])
def test_9_3_filing_one_permanent_status_as_retryable_is_wrong_every_run(lab, status):
    """Every run holds 500, 501 and six 4xx (it drew one of 500/501 and two 4xx)."""
    result = run(nb09.check_9_3(sorter(retry=lambda s: s in RETRY | {status}), lab))
    assert result.outcome is Outcome.WRONG, result.message
    assert f"a {status} is in 'retryable'" in result.message, result.message
