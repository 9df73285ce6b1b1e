"""The JSON API (helpers/services/api.py), exercised over HTTP against the running lab.

Every request has a client timeout, so a server that never answers fails a test
instead of hanging the suite.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import time
import uuid

import httpx
import pytest

from helpers.services import MAX_DELAY, data
from helpers.services.api import ENDPOINTS, fraction

TIMEOUT = httpx.Timeout(5.0)


@pytest.fixture(scope="module")
def api(lab):
    with httpx.Client(base_url=lab.api, timeout=TIMEOUT) as client:
        yield client


def unique(prefix: str) -> str:
    """A key no other test (or earlier run against the same lab) has used."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def error_of(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert isinstance(body.get("error"), str) and body["error"], body
    return body["error"]


# --- index, 404, 405 -------------------------------------------------------------------


def test_index_lists_every_endpoint(api):
    r = api.get("/")
    assert r.status_code == 200
    body = r.json()
    assert body["service"] == "asyncio course JSON API"
    assert body["endpoints"] == ENDPOINTS
    listed = " ".join(body["endpoints"])
    for path in ("/delay", "/uuid", "/status", "/users", "/posts", "/comments", "/flaky", "/unreliable", "/limited", "/stream", "/anything", "/gauge"):
        assert path in listed, path


@pytest.mark.parametrize("path", ["/nope", "/uuid/", "/delay", "/users/1/comments", "/gauge/x"])
def test_unknown_path_is_a_helpful_json_404(api, path):
    r = api.get(path)
    assert r.status_code == 404
    assert f"no API endpoint at {path}" in error_of(r)
    assert "GET /" in r.json()["help"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("POST", "/uuid", "GET"), ("DELETE", "/users", "GET"), ("PUT", "/gauge", "DELETE"), ("POST", "/flaky", "DELETE"), ("PATCH", "/delay/0", "GET")],
)
def test_wrong_method_is_a_json_405_naming_the_allowed_ones(api, method, path, allowed):
    r = api.request(method, path)
    assert r.status_code == 405
    assert f"{method} is not allowed on {path}" in error_of(r)
    assert allowed in r.json()["allowed"]
    assert allowed in r.headers["Allow"]


# --- bad parameters: always a 4xx with a sentence, never a 500, never a hang ------------

BAD = [
    # (path, status, words the error must contain)
    ("/delay/-1", 400, ["seconds must be >= 0", "'-1'"]),
    ("/delay/abc", 400, ["seconds must be a number", "'abc'"]),
    ("/delay/11", 400, ["seconds must be <= 10"]),
    ("/delay/10.5", 400, ["seconds must be <= 10"]),
    ("/delay/nan", 400, ["seconds must be", "'nan'"]),
    ("/delay/inf", 400, ["seconds must be", "'inf'"]),
    ("/delay/-inf", 400, ["seconds must be", "'-inf'"]),
    ("/delay/1e999", 400, ["seconds must be"]),
    ("/delay/0.1?jitter=-1", 400, ["jitter must be >= 0"]),
    ("/delay/0.1?jitter=x", 400, ["jitter must be a number"]),
    ("/delay/0.1?jitter=nan", 400, ["jitter must be"]),
    ("/delay/9?jitter=5&key=a", 400, ["seconds + jitter must be <= 10"]),
    ("/status/99", 400, ["status code must be between 200 and 599"]),
    ("/status/600", 400, ["status code must be between 200 and 599"]),
    ("/status/abc", 400, ["status code must be a whole number"]),
    ("/status/2.5", 400, ["status code must be a whole number"]),
    ("/status/" + "9" * 5000, 400, ["status code must be between 200 and 599", "5000-character number"]),
    ("/users?limit=0", 400, ["limit must be between 1 and 100"]),
    ("/users?limit=101", 400, ["limit must be between 1 and 100"]),
    ("/users?limit=abc", 400, ["limit must be a whole number"]),
    ("/users?limit=2.5", 400, ["limit must be a whole number"]),
    ("/users?offset=-1", 400, ["offset must be between 0"]),
    ("/users?delay=-1", 400, ["delay must be >= 0"]),
    ("/users?delay=20", 400, ["delay must be <= 10"]),
    ("/users?delay=nan", 400, ["delay must be"]),
    ("/users/abc", 400, ["user id must be a whole number"]),
    ("/users/1.5", 400, ["user id must be a whole number"]),
    ("/users/" + "9" * 5000, 400, ["user id must be between", "5000-character number"]),
    ("/users/0", 404, ["no user with id 0", "ids run from 1 to 10"]),
    ("/users/-5", 404, ["no user with id -5", "ids run from 1 to 10"]),
    ("/users/11", 404, ["no user with id 11", "ids run from 1 to 10"]),
    ("/users/99/posts", 404, ["no user with id 99"]),
    ("/posts/51", 404, ["no post with id 51", "ids run from 1 to 50"]),
    ("/posts/0/comments", 404, ["no post with id 0"]),
    ("/posts/x", 400, ["post id must be a whole number"]),
    ("/comments?post_id=0", 400, ["post_id must be between 1"]),
    ("/comments?post_id=x", 400, ["post_id must be a whole number"]),
    ("/flaky/k?fail=-1", 400, ["fail must be between 0 and 100"]),
    ("/flaky/k?fail=101", 400, ["fail must be between 0 and 100"]),
    ("/flaky/k?fail=two", 400, ["fail must be a whole number"]),
    ("/unreliable/-1", 400, ["n must be between 0"]),
    ("/unreliable/x", 400, ["n must be a whole number"]),
    ("/unreliable/1?rate=2", 400, ["rate must be <= 1"]),
    ("/unreliable/1?rate=-0.1", 400, ["rate must be >= 0"]),
    ("/unreliable/1?rate=nan", 400, ["rate must be"]),
    ("/unreliable/1?rate=high", 400, ["rate must be a number"]),
    ("/limited/k?limit=0", 400, ["limit must be between 1 and 10000"]),
    ("/limited/k?limit=1.5", 400, ["limit must be a whole number"]),
    ("/limited/k?window=0", 400, ["window must be >= 0.01"]),
    ("/limited/k?window=61", 400, ["window must be <= 60"]),
    ("/limited/k?window=inf", 400, ["window must be"]),
    ("/stream/0", 400, ["lines must be between 1 and 100"]),
    ("/stream/101", 400, ["lines must be between 1 and 100"]),
    ("/stream/2.5", 400, ["lines must be a whole number"]),
    ("/stream/2?interval=2", 400, ["interval must be <= 1"]),
    ("/stream/2?interval=-1", 400, ["interval must be >= 0"]),
    ("/stream/2?interval=nan", 400, ["interval must be"]),
]


@pytest.mark.parametrize(("path", "status", "words"), BAD, ids=[b[0][:40] for b in BAD])
def test_bad_input_gets_a_4xx_that_says_what_to_send(api, path, status, words):
    started = time.perf_counter()
    r = api.get(path)
    assert time.perf_counter() - started < 2, "a bad parameter must be rejected at once, not after a wait"
    assert r.status_code == status, r.text
    message = error_of(r)
    for word in words:
        assert word in message, (word, message)


# --- /delay ------------------------------------------------------------------------------


def test_delay_waits_that_long_including_fractions(api):
    started = time.perf_counter()
    r = api.get("/delay/0.25")
    elapsed = time.perf_counter() - started
    assert r.status_code == 200
    body = r.json()
    assert body["delay"] == 0.25 and body["key"] == ""
    assert body["waited"] >= 0.24
    assert elapsed >= 0.24
    assert api.get("/delay/0").json()["delay"] == 0
    assert MAX_DELAY == 10.0  # the cap the 400 messages name ("seconds must be <= 10")


def test_delay_jitter_is_deterministic_per_key(api):
    first = {k: api.get(f"/delay/0.01?jitter=0.1&key={k}").json()["delay"] for k in "abcde"}
    second = {k: api.get(f"/delay/0.01?jitter=0.1&key={k}").json()["delay"] for k in "abcde"}
    assert first == second
    for k, d in first.items():
        assert 0.01 <= d <= 0.11
        assert d == pytest.approx(0.01 + 0.1 * fraction("jitter", k), abs=1e-6)
    assert len(set(first.values())) > 1, "different keys should get different jitter"


def test_fraction_is_the_same_in_every_process_and_version():
    """Notebooks print these values, so they must not depend on the process (hash seed) or the Python version."""
    assert [round(fraction("unreliable", 0, n), 12) for n in range(4)] == [0.053140142212, 0.220847333038, 0.503567499482, 0.383403706694]
    assert round(fraction("jitter", "a"), 12) == 0.376093655623
    assert fraction("unreliable", "0", 1) == fraction("unreliable", 0, 1)  # the seed from the query string is text


# --- /uuid, /status ----------------------------------------------------------------------


def test_uuid_is_fresh_each_time(api):
    values = [api.get("/uuid").json()["uuid"] for _ in range(3)]
    assert len(set(values)) == 3
    for v in values:
        assert uuid.UUID(v).version == 4


@pytest.mark.parametrize("code", [200, 201, 202, 299, 400, 404, 418, 429, 500, 503, 599])
def test_status_answers_with_that_code(api, code):
    r = api.get(f"/status/{code}")
    assert r.status_code == code
    assert r.json() == {"status": code}


@pytest.mark.parametrize("code", [204, 304])
def test_status_without_body(api, code):
    r = api.get(f"/status/{code}")
    assert r.status_code == code
    assert r.content == b""
    assert api.get("/uuid").status_code == 200  # the connection and the server are fine afterwards


@pytest.mark.parametrize("code", [100, 101, 102, 103, 199])
def test_status_1xx_does_not_crash_the_server(lab, code):
    port = int(lab.api.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        sock.sendall(f"GET /status/{code} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 "), head
    with httpx.Client(timeout=TIMEOUT) as client:
        assert client.get(lab.url("/uuid")).status_code == 200
    assert lab.gauge().in_flight == 0


@pytest.mark.parametrize("code", [100, 101])
def test_status_1xx_answers_promptly(lab, code):
    with httpx.Client(timeout=1.0) as client:
        r = client.get(lab.url(f"/status/{code}"))
    assert 400 <= r.status_code < 500
    assert "200" in error_of(r)


# --- /users, /posts, /comments -----------------------------------------------------------


def test_users_have_stable_ids_and_names(api):
    users = api.get("/users").json()
    assert [u["id"] for u in users] == list(range(1, 11))
    assert users[0] == {"id": 1, "name": "Ada Lovelace", "username": "ada", "email": "ada@example.test"}
    assert users == data.users()
    assert api.get("/users/3").json() == users[2]
    assert api.get("/users/3").json()["name"] == "Linus Torvalds"


def test_users_limit_and_offset(api):
    assert [u["id"] for u in api.get("/users", params={"limit": 3}).json()] == [1, 2, 3]
    assert [u["id"] for u in api.get("/users", params={"limit": 3, "offset": 8}).json()] == [9, 10]
    assert api.get("/users", params={"offset": 50}).json() == []
    assert len(api.get("/users", params={"limit": 100}).json()) == 10


def test_user_posts(api):
    posts = api.get("/users/2/posts").json()
    assert len(posts) == data.POSTS_PER_USER
    assert {p["user_id"] for p in posts} == {2}
    assert [p["id"] for p in posts] == [6, 7, 8, 9, 10]
    assert [p["id"] for p in api.get("/users/2/posts?limit=2&offset=1").json()] == [7, 8]


def test_posts_and_one_post(api):
    posts = api.get("/posts").json()
    assert [p["id"] for p in posts] == list(range(1, 51))
    assert posts == data.posts()
    assert set(posts[0]) == {"id", "user_id", "title", "body"}
    assert api.get("/posts/7").json() == posts[6]


def test_post_comments(api):
    comments = api.get("/posts/7/comments").json()
    assert len(comments) == data.COMMENTS_PER_POST
    assert {c["post_id"] for c in comments} == {7}


def test_comments_filter_and_paging(api):
    assert [c["post_id"] for c in api.get("/comments?post_id=4").json()] == [4, 4, 4]
    assert api.get("/comments?post_id=999").json() == []  # a valid id with no comments: an empty list, not an error
    first = api.get("/comments").json()
    rest = api.get("/comments?offset=100").json()
    assert len(first) == 100  # the default page is 100 items (MAX_PAGE)
    assert [c["id"] for c in first + rest] == list(range(1, 151))
    assert first + rest == data.comments()


def test_resources_honour_delay(api):
    started = time.perf_counter()
    r = api.get("/users/1?delay=0.2")
    assert r.status_code == 200
    assert time.perf_counter() - started >= 0.19


# --- /flaky ------------------------------------------------------------------------------


def test_flaky_fails_exactly_the_first_n_per_key(api):
    key = unique("flaky")
    statuses = [api.get(f"/flaky/{key}?fail=3").status_code for _ in range(5)]
    assert statuses == [503, 503, 503, 200, 200]
    other = unique("flaky")
    assert api.get(f"/flaky/{other}?fail=1").status_code == 503  # keys are counted separately
    assert api.get(f"/flaky/{other}?fail=1").status_code == 200
    body = api.get(f"/flaky/{key}?fail=3").json()
    assert body == {"key": key, "attempt": 6, "ok": True}


def test_flaky_503_body_and_default(api):
    key = unique("flaky")
    r = api.get(f"/flaky/{key}")  # default fail=2
    assert r.status_code == 503
    assert r.json() == {"error": "temporarily unavailable, try again", "key": key, "attempt": 1}
    assert api.get(f"/flaky/{key}").status_code == 503
    assert api.get(f"/flaky/{key}").status_code == 200
    assert api.get(f"/flaky/{unique('flaky')}?fail=0").status_code == 200


def test_delete_flaky_resets_the_counts(api, lab):
    key = unique("flaky")
    assert [api.get(f"/flaky/{key}?fail=1").status_code for _ in range(2)] == [503, 200]
    r = api.delete("/flaky")
    assert r.status_code == 200 and r.json() == {"reset": True}
    assert [api.get(f"/flaky/{key}?fail=1").status_code for _ in range(2)] == [503, 200]
    lab.reset_flaky()  # the Lab method does the same
    assert api.get(f"/flaky/{key}?fail=1").status_code == 503


# --- /unreliable -------------------------------------------------------------------------


def test_unreliable_is_deterministic_per_seed_and_n(api):
    first = [api.get(f"/unreliable/{n}?rate=0.5&seed=7").status_code for n in range(30)]
    second = [api.get(f"/unreliable/{n}?rate=0.5&seed=7").status_code for n in range(30)]
    assert first == second
    assert set(first) == {200, 500}
    expected = [500 if fraction("unreliable", "7", n) < 0.5 else 200 for n in range(30)]
    assert first == expected
    other_seed = [api.get(f"/unreliable/{n}?rate=0.5&seed=8").status_code for n in range(30)]
    assert other_seed != first


def test_unreliable_bodies(api):
    statuses = {n: api.get(f"/unreliable/{n}?rate=0.5").status_code for n in range(20)}
    bad = next(n for n, s in statuses.items() if s == 500)
    good = next(n for n, s in statuses.items() if s == 200)
    assert api.get(f"/unreliable/{bad}?rate=0.5").json() == {"error": "simulated server failure", "n": bad}
    assert api.get(f"/unreliable/{good}?rate=0.5").json() == {"n": good, "ok": True}


def test_unreliable_rate_extremes(api):
    assert {api.get(f"/unreliable/{n}?rate=0").status_code for n in range(40)} == {200}
    assert {api.get(f"/unreliable/{n}?rate=1").status_code for n in range(40)} == {500}


def test_unreliable_failing_fraction_is_near_the_rate(api):
    n = 400
    failures = sum(api.get(f"/unreliable/{i}?rate=0.3&seed=course").status_code == 500 for i in range(n))
    assert 0.2 < failures / n < 0.4, failures


# --- /limited ----------------------------------------------------------------------------


def test_limited_allows_limit_then_429_with_retry_headers(api):
    key = unique("lim")
    ok = [api.get(f"/limited/{key}?limit=3&window=0.6") for _ in range(3)]
    assert [r.status_code for r in ok] == [200, 200, 200]
    assert [r.json()["count"] for r in ok] == [1, 2, 3]
    r = api.get(f"/limited/{key}?limit=3&window=0.6")
    assert r.status_code == 429
    assert "rate limit: 3 requests per 0.6 s" in error_of(r)
    retry_after = r.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1  # HTTP wants whole seconds
    reset_after = float(r.headers["X-RateLimit-Reset-After"])
    assert 0 < reset_after <= 0.6
    assert r.json()["retry_after"] == pytest.approx(reset_after, abs=0.002)
    assert api.get(f"/limited/{unique('lim')}?limit=3&window=0.6").status_code == 200  # other keys are not affected
    time.sleep(reset_after + 0.05)
    again = api.get(f"/limited/{key}?limit=3&window=0.6")
    assert again.status_code == 200, again.text
    assert again.json()["count"] == 1  # a fresh window


def test_limited_long_window_retry_after_rounds_up(api):
    key = unique("lim")
    assert api.get(f"/limited/{key}?limit=1&window=2.5").status_code == 200
    r = api.get(f"/limited/{key}?limit=1&window=2.5")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) == math.ceil(float(r.headers["X-RateLimit-Reset-After"]))
    assert int(r.headers["Retry-After"]) in (2, 3)


# --- /stream -----------------------------------------------------------------------------


def test_stream_lines_arrive_spaced_by_interval(lab):
    arrivals, lines = [], []
    with httpx.Client(timeout=TIMEOUT) as client:
        started = time.perf_counter()
        with client.stream("GET", lab.url("/stream/5?interval=0.2")) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("application/x-ndjson")
            for line in r.iter_lines():
                if line:
                    arrivals.append(time.perf_counter() - started)
                    lines.append(json.loads(line))
    assert lines == [{"line": i, "of": 5} for i in range(5)]
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
    assert all(g >= 0.12 for g in gaps), gaps  # each line waits for its interval...
    assert arrivals[-1] >= 0.75
    assert arrivals[0] < arrivals[-1] - 0.5, arrivals  # ...and the first arrives long before the last: it streams


def test_stream_without_interval(api):
    r = api.get("/stream/3?interval=0")
    assert r.status_code == 200
    assert [json.loads(x) for x in r.text.splitlines()] == [{"line": i, "of": 3} for i in range(3)]


# --- /anything ---------------------------------------------------------------------------


def test_anything_echoes_the_request(api):
    r = api.post("/anything?x=1&y=two", json={"a": [1, 2]})
    assert r.status_code == 200
    body = r.json()
    assert body["method"] == "POST"
    assert body["path"] == "/anything"
    assert body["args"] == {"x": "1", "y": "two"}
    assert body["json"] == {"a": [1, 2]}
    assert json.loads(body["data"]) == {"a": [1, 2]}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_anything_accepts_any_method_and_sub_path(api, method):
    r = api.request(method, "/anything/deep/path")
    assert r.status_code == 200
    assert r.json()["method"] == method
    assert r.json()["path"] == "/anything/deep/path"
    assert r.json()["json"] is None


def test_anything_with_a_non_json_body(api):
    r = api.post("/anything", content=b"not json {")
    assert r.status_code == 200
    assert r.json()["json"] is None
    assert r.json()["data"] == "not json {"


# --- concurrency: the API serves many at once --------------------------------------------


def test_many_slow_requests_overlap(lab):
    async def main() -> float:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            started = time.perf_counter()
            responses = await asyncio.gather(*(client.get(lab.url("/delay/0.3")) for _ in range(20)))
            assert all(r.status_code == 200 for r in responses)
            return time.perf_counter() - started

    assert asyncio.run(main()) < 3.0  # 20 x 0.3 s one after another would be 6 s
