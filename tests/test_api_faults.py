"""Notebook 09's endpoints on the real service: normal use, and a 400 with a JSON hint for each bad input."""

from __future__ import annotations

import asyncio
import email.utils
import time
import uuid

import aiohttp
import httpx
import pytest

from helpers.services import faults, items
from helpers.services.keyed import MAX_KEY_LENGTH, BoundedState


def key() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


def get(lab, path: str, **kwargs) -> httpx.Response:
    return httpx.get(lab.url(path), timeout=10, **kwargs)


# --- /items -----------------------------------------------------------------------------


def test_items_pages_follow_next_to_the_end(lab):
    url, seen, pages = lab.url("/items?total=250&limit=100&seed=5"), [], 0
    while url:
        page = httpx.get(url, timeout=10).json()
        seen += page["items"]
        url = page["next"]
        pages += 1
        assert page["total"] == 250
    assert pages == 3
    assert [i["id"] for i in seen] == list(range(1, 251))
    assert seen == [items.make_item(i, 5) for i in range(1, 251)]


def test_items_seed_changes_values_not_ids(lab):
    a = get(lab, "/items?total=5&seed=1").json()["items"]
    b = get(lab, "/items?total=5&seed=2").json()["items"]
    assert [i["id"] for i in a] == [i["id"] for i in b] and a != b


def test_items_next_is_absolute_and_none_on_the_last_page(lab):
    page = get(lab, "/items?total=3&limit=2").json()
    assert page["next"].startswith(lab.api + "/items?")
    assert httpx.get(page["next"], timeout=10).json()["next"] is None
    assert get(lab, "/items?total=0").json() == {"items": [], "next": None, "total": 0}


def test_items_ten_thousand_in_ten_requests(lab):
    url, count, requests = lab.url("/items?total=10000&limit=1000"), 0, 0
    started = time.perf_counter()
    with httpx.Client(timeout=10) as client:
        while url:
            page = client.get(url).json()
            count += len(page["items"])
            url = page["next"]
            requests += 1
    assert (count, requests) == (10_000, 10)
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(
    "query, words",
    [
        ("total=abc", "total must be a whole number"),
        ("total=100001", "total must be between 0 and 100000"),
        ("limit=0", "limit must be between 1 and 1000"),
        ("limit=5000", "limit must be between 1 and 1000"),
        ("seed=-1", "seed must be between"),
        ("cursor=zzz", "copied from a previous page"),
        ("cursor=!!", "copied from a previous page"),
    ],
)
def test_items_bad_parameters_get_a_400_that_says_what_to_send(lab, query, words):
    response = get(lab, f"/items?{query}")
    assert response.status_code == 400
    assert words in response.json()["error"]


def test_items_cursor_of_another_collection_is_refused(lab):
    next_url = get(lab, "/items?total=50&limit=10&seed=1").json()["next"]
    cursor = next_url.split("cursor=")[1]
    response = get(lab, f"/items?total=50&limit=10&seed=2&cursor={cursor}")
    assert response.status_code == 400 and "another collection" in response.json()["error"]
    response = get(lab, f"/items?total=5&limit=10&seed=1&cursor={cursor}")  # offset 10 beyond total 5
    assert response.status_code == 400


# --- /big and /cpu ----------------------------------------------------------------------


def test_big_chunks_are_whole_lines_made_lazily():
    chunks = items.big_chunks(1)
    first = next(chunks)
    assert first.endswith(b"\n") and 60_000 < len(first) < 70_000
    assert sum(map(len, chunks)) + len(first) >= 1_000_000


def test_big_sends_about_that_many_megabytes_of_ndjson_lines(lab):
    response = get(lab, "/big/2")
    assert response.status_code == 200
    assert 2_000_000 <= len(response.content) < 2_100_000
    assert response.headers["Transfer-Encoding"] == "chunked"
    lines = response.content.splitlines()
    assert lines[0].startswith(b'{"line": 0,') and lines[-1].endswith(b"}")


@pytest.mark.parametrize("raw", ["0", "51", "x", "1.5"])
def test_big_bad_size_is_a_400(lab, raw):
    response = get(lab, f"/big/{raw}")
    assert response.status_code == 400 and "megabytes" in response.json()["error"]


def test_cpu_grows_with_work(lab):
    before = get(lab, "/cpu").json()["cpu_seconds"]
    for _ in range(3):
        get(lab, "/big/5")
    assert get(lab, "/cpu").json()["cpu_seconds"] > before


# --- failures on demand -----------------------------------------------------------------


def test_drop_cuts_the_body_for_both_clients(lab):
    with pytest.raises(httpx.RemoteProtocolError):
        get(lab, "/drop")

    async def with_aiohttp() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(lab.url("/drop?after=10")) as response:
                await response.read()

    with pytest.raises(aiohttp.ClientPayloadError):
        asyncio.run(with_aiohttp())
    assert get(lab, "/uuid").status_code == 200, "the server must survive cut connections"


def test_redirect_chain(lab):
    response = get(lab, "/redirect/2")
    assert response.status_code == 302 and response.headers["Location"] == "/redirect/1"
    final = get(lab, "/redirect/3", follow_redirects=True)
    assert final.status_code == 200 and len(final.history) == 3


@pytest.mark.parametrize("path", ["/redirect/11", "/redirect/-1", "/redirect/x", "/drop?after=0", "/drop?after=x"])
def test_redirect_and_drop_bad_input(lab, path):
    response = get(lab, path)
    assert response.status_code == 400 and "error" in response.json()


def test_script_follows_its_steps_and_records_attempts(lab):
    k = key()
    codes = [get(lab, f"/script/{k}?steps=503,404,200").status_code for _ in range(4)]
    assert codes == [503, 404, 200, 200]
    log = get(lab, f"/attempts/{k}").json()
    assert log["attempts"] == 4 and log["statuses"] == [503, 404, 200, 200] and log["early"] == 0
    assert log["arrivals"] == sorted(log["arrivals"]) and log["arrivals"][0] == 0


def test_script_retry_after_seconds_counts_early_retries(lab):
    k = key()
    first = get(lab, f"/script/{k}?steps=429,200&retry_after=1")
    assert first.status_code == 429 and first.headers["Retry-After"] == "1"
    early = get(lab, f"/script/{k}?steps=429,200&retry_after=1")
    assert early.status_code == 429 and "too early" in early.json()["error"]
    time.sleep(1.05)
    assert get(lab, f"/script/{k}?steps=429,200&retry_after=1").status_code == 200
    assert get(lab, f"/attempts/{k}").json()["early"] == 1


def test_script_retry_after_as_http_date(lab):
    k = key()
    response = get(lab, f"/script/{k}?steps=503,200&retry_after=1&form=date")
    when = email.utils.parsedate_to_datetime(response.headers["Retry-After"]).timestamp()
    assert response.status_code == 503 and 0 < when - time.time() <= 2.05
    time.sleep(max(0.0, when - time.time()) + 0.02)
    assert get(lab, f"/script/{k}?steps=503,200&retry_after=1&form=date").status_code == 200
    assert get(lab, f"/attempts/{k}").json()["early"] == 0


def test_script_drop_step(lab):
    k = key()
    with pytest.raises(httpx.RemoteProtocolError):
        get(lab, f"/script/{k}?steps=drop,200")
    assert get(lab, f"/script/{k}?steps=drop,200").status_code == 200
    assert get(lab, f"/attempts/{k}").json()["statuses"] == ["drop", 200]


def test_script_slow_step_times_out_a_short_client_timeout(lab):
    k = key()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(lab.url(f"/script/{k}?steps=slow,200"), timeout=0.5)
    assert get(lab, f"/script/{k}?steps=slow,200").status_code == 200
    started = time.perf_counter()
    answer = get(lab, f"/script/{key()}?steps=slow")  # the slow answer itself is a 200, 3 s late
    assert answer.status_code == 200 and answer.json()["slow"] == 3.0
    assert 2.9 <= time.perf_counter() - started < 10
    assert get(lab, f"/attempts/{k}").json()["statuses"] == ["slow", 200]


def test_script_rejects_an_unknown_step_word(lab):
    response = get(lab, f"/script/{key()}?steps=slo,200")
    assert response.status_code == 400 and "'drop' or 'slow'" in response.text


@pytest.mark.parametrize(
    "query, words",
    [
        ("steps=700", "steps must be"),
        ("steps=abc", "steps must be"),
        ("steps=" + ",".join(["200"] * 21), "1 to 20"),
        ("steps=503&retry_after=11", "retry_after must be between 0 and 10"),
        ("steps=503&retry_after=x", "retry_after must be a whole number"),
        ("steps=503&form=weeks", "form must be one of seconds, date"),
    ],
)
def test_script_bad_input(lab, query, words):
    response = get(lab, f"/script/{key()}?{query}")
    assert response.status_code == 400 and words in response.json()["error"]


def test_overlong_key_is_a_400(lab):
    for path in ("/script/", "/chaos/", "/warmup/", "/attempts/"):
        response = get(lab, path + "k" * (MAX_KEY_LENGTH + 1))
        assert response.status_code == 400 and f"at most {MAX_KEY_LENGTH}" in response.json()["error"]


def test_chaos_is_seeded_per_key_and_attempt(lab):
    def run() -> list[int | str]:
        outcomes = []
        for i in range(40):
            try:
                outcomes.append(get(lab, f"/chaos/c{i}?rate=0.5&seed=3").status_code)
            except httpx.RemoteProtocolError:
                outcomes.append("drop")
        return outcomes

    httpx.delete(lab.url("/attempts"), timeout=10)
    first = run()
    httpx.delete(lab.url("/attempts"), timeout=10)
    assert run() == first, "the same seed, keys and attempts must give the same outcomes"
    failures = sum(1 for o in first if o != 200)
    assert 8 <= failures <= 32, first
    assert {o for o in first if o != 200} <= {502, 503, 504, "drop"}


@pytest.mark.parametrize("query", ["rate=2", "rate=x", "seed=-3"])
def test_chaos_bad_input(lab, query):
    assert get(lab, f"/chaos/{key()}?{query}").status_code == 400


def test_warmup_fails_for_its_seconds_then_passes(lab):
    k = key()
    assert get(lab, f"/warmup/{k}?seconds=0.3").status_code == 503
    assert get(lab, f"/warmup/{k}?seconds=0.3").status_code == 503
    time.sleep(0.35)
    assert get(lab, f"/warmup/{k}?seconds=0.3").status_code == 200
    assert get(lab, f"/warmup/{k}?seconds=x").status_code == 400
    assert get(lab, f"/warmup/{k}?seconds=11").status_code == 400


def test_attempts_of_an_unknown_key_is_empty(lab):
    assert get(lab, f"/attempts/{key()}").json()["attempts"] == 0


def test_index_lists_the_new_endpoints(lab):
    listed = " ".join(get(lab, "/").json()["endpoints"])
    for path in ("/items", "/big/", "/cpu", "/drop", "/redirect/", "/script/", "/chaos/", "/warmup/", "/attempts/"):
        assert path in listed, path


# --- bounded state ----------------------------------------------------------------------


def test_bounded_state_forgets_the_oldest_keys():
    d: BoundedState[int] = BoundedState(max_keys=3)
    for i in range(5):
        d[f"k{i}"] = i
    assert [k for k in ("k0", "k1", "k2", "k3", "k4") if k in d] == ["k2", "k3", "k4"]


def test_key_log_keeps_a_bounded_number_of_arrivals():
    log = faults.KeyLog()
    for _ in range(faults.MAX_ARRIVALS + 50):
        log.arrive()
        log.answered(200)
    assert log.attempts == faults.MAX_ARRIVALS + 50
    assert len(log.arrivals) == len(log.statuses) == faults.MAX_ARRIVALS


def test_the_api_keeps_fault_logs_in_a_bounded_dict():
    from helpers.services.api import build_api_app
    from helpers.services.gauge import Gauge
    from helpers.services.keyed import MAX_KEYS

    logs = build_api_app(Gauge())[faults.FAULT_LOGS]
    assert isinstance(logs, BoundedState) and logs.max_keys == MAX_KEYS
