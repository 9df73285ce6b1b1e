"""Malformed requests get a helpful 4xx from the JSON API: never a 500, never a hang.

Raw sockets, because a client library would refuse to send most of these (or fix them up first).
Each case here answered 500 or hung before helpers/services/body.py existed.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from helpers.services.body import BODY_TIMEOUT

SLACK = 3.0  # a loaded 2-core classroom machine


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def send(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, dict, bytes, float]:
    """Send raw bytes; return (status, headers, body, seconds). Fails the test on a hang."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            pytest.fail(f"no answer within {timeout:g} s (the server hangs); got {data[:200]!r}")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body, time.monotonic() - started


def _length(data: bytes) -> int:
    head = data.partition(b"\r\n\r\n")[0].lower()
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 10**9  # unknown: read until the server closes


def post(body: bytes, content_type: str = "application/json", extra: str = "", length: int | None = None) -> bytes:
    length = len(body) if length is None else length
    head = (
        f"POST /anything HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n{extra}\r\n"
    )
    return head.encode() + body


def error_of(status: int, headers: dict, body: bytes) -> str:
    assert headers.get("content-type", "").startswith("application/json"), (status, headers, body[:200])
    return json.loads(body)["error"]


BODIES = [
    # (id, raw request, status, words the error must contain)
    ("invalid UTF-8", post(b'{"a": "\xff\xfe"}'), 400, ["not valid utf-8", "position 7"]),
    ("unknown charset", post(b"{}", "application/json; charset=klingon"), 415, ["unknown charset 'klingon'", "UTF-8"]),
    ("rot13 charset", post(b"abc", "text/plain; charset=rot13"), 415, ["unknown charset 'rot13'"]),
    ("zlib charset", post(b"abc", "text/plain; charset=zlib"), 415, ["unknown charset 'zlib'"]),
    ("base64 charset", post(b"abc", "text/plain; charset=base64_codec"), 415, ["unknown charset 'base64_codec'"]),
    ("odd-length UTF-16", post(b'{"a":1}', "text/plain; charset=utf-16"), 400, ["not valid utf-16"]),
    ("gzip header, plain body", post(b'{"a": 1}', extra="Content-Encoding: gzip\r\n"), 400, ["Content-Encoding: gzip", "without a Content-Encoding"]),
    ("JSON nested 100,000 deep", post(b"[" * 100_000 + b"]" * 100_000), 400, ["nested too deeply"]),
    ("JSON number of 5,000 digits", post(b'{"a": ' + b"9" * 5000 + b"}"), 400, ["number", "shorter numbers"]),
    ("NaN in JSON", post(b'{"a": NaN}'), 400, ["NaN is not JSON", "null"]),
    ("Infinity in JSON", post(b"[-Infinity]"), 400, ["-Infinity is not JSON"]),
    ("body over 1 MiB", post(b"x" * (1024**2 + 1), "text/plain"), 413, ["larger than 1048576 bytes"]),
]


@pytest.mark.parametrize(("request_bytes", "status", "words"), [b[1:] for b in BODIES], ids=[b[0] for b in BODIES])
def test_malformed_body_gets_a_json_4xx_that_says_what_to_send(lab, request_bytes, status, words):
    got, headers, body, took = send(port_of(lab.api), request_bytes)
    assert got == status, body[:300]
    message = error_of(got, headers, body)
    for word in words:
        assert word in message, (word, message)
    assert took < 2 * SLACK


@pytest.mark.parametrize(
    "request_bytes",
    [
        post(b'{"a": ', length=100),
        b"POST /anything HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
    ],
    ids=["shorter than Content-Length", "chunked, never finished"],
)
def test_body_that_stops_arriving_gets_a_408_not_a_hang(lab, request_bytes):
    got, headers, body, took = send(port_of(lab.api), request_bytes, timeout=BODY_TIMEOUT * SLACK + 5)
    assert got == 408, body[:300]
    assert "Send the whole body you announced" in error_of(got, headers, body)
    assert headers.get("connection", "").lower() == "close"
    assert BODY_TIMEOUT - 0.5 <= took <= BODY_TIMEOUT * SLACK


def test_well_formed_bodies_still_echo(lab):
    port = port_of(lab.api)
    for request_bytes, expected_json, expected_data in [
        (post('{"å": "ü"}'.encode()), {"å": "ü"}, '{"å": "ü"}'),
        (post('{"a": 1}'.encode("utf-16"), "application/json; charset=utf-16"), {"a": 1}, '{"a": 1}'),
        (post('"é"'.encode("latin-1"), "application/json; charset=latin-1"), "é", '"é"'),
        (post(b"not json {", "text/plain"), None, "not json {"),
        (post(b"[" * 50 + b"]" * 50), [[[]]] and json.loads("[" * 50 + "]" * 50), "[" * 50 + "]" * 50),
    ]:
        got, _, body, _ = send(port, request_bytes)
        assert got == 200, body[:300]
        echoed = json.loads(body)
        assert echoed["json"] == expected_json and echoed["data"] == expected_data


def test_the_service_is_fine_after_all_that(lab):
    got, _, body, _ = send(port_of(lab.api), b"GET /uuid HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert got == 200 and "uuid" in json.loads(body)


# --- parameters: fuzz every endpoint with values a struggling learner (or a typo) would send ---

ENDPOINT_TEMPLATES = [
    "/delay/{v}", "/delay/0?jitter={v}", "/status/{v}", "/users?limit={v}", "/users?offset={v}", "/users?delay={v}",
    "/users/{v}", "/users/{v}/posts", "/posts/{v}", "/posts/{v}/comments", "/comments?post_id={v}",
    "/flaky/{v}", "/flaky/k?fail={v}", "/unreliable/{v}", "/unreliable/1?rate={v}", "/unreliable/1?seed={v}",
    "/limited/{v}", "/limited/k?limit={v}", "/limited/k?window={v}", "/stream/{v}", "/stream/1?interval={v}",
    "/anything?{v}={v}", "/gauge?start={v}", "/gauge?limit={v}",
]
MALFORMED_VALUES = [
    "", "%20", "-0", "1e999", "-1e999", "nan", "NaN", "inf", "-inf", "%ff%fe", "%00", "9" * 5000, "%D9%A1",
    "1_0", "0x10", "+1", "1.", ".5e-400", "%C2%A0", "%2e%2e%2f", "k" * 4000, "1;2", "%25", "0b1", "１",
]


def fuzz_paths() -> list[str]:
    return [t.replace("{v}", v) for t in ENDPOINT_TEMPLATES for v in MALFORMED_VALUES]


def test_fuzzed_parameters_never_get_a_5xx_or_a_hang(lab):
    port = port_of(lab.api)
    lab.reset_flaky()
    lab.reset_limited()
    failures = []
    for path in fuzz_paths():
        try:
            got, headers, body, took = send(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(), 15)
        except OSError as exc:
            failures.append(f"{path[:60]}: {exc}")
            continue
        if got >= 500 and not path.startswith(("/status/", "/unreliable/", "/flaky/")):
            failures.append(f"{path[:60]}: {got} {body[:120]!r}")
        elif 400 <= got < 500 and got != 404 or got == 400:
            if not headers.get("content-type", "").startswith("application/json"):
                # aiohttp's HTTP parser rejects some requests before any handler runs, in plain text
                if got != 400 or not body.startswith((b"Invalid", b"Got more than", b"Bad status")):
                    failures.append(f"{path[:60]}: {got} not JSON: {body[:120]!r}")
        if took > 10 * SLACK:
            failures.append(f"{path[:60]}: took {took:.1f} s")
    assert not failures, "\n".join(failures[:30])


def test_5xx_endpoints_only_fail_on_purpose(lab):
    """/status, /unreliable and /flaky answer 5xx when asked to; with malformed values they say 400."""
    port = port_of(lab.api)
    for path in ["/status/" + "9" * 5000, "/status/%D9%A1", "/unreliable/nan", "/flaky/k?fail=inf", "/flaky/" + "k" * 4000]:
        got, headers, body, _ = send(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        assert got == 400, (path[:40], got, body[:200])
        assert error_of(got, headers, body)


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/delay/inf", ["seconds must be a finite number", "'inf'"]),
        ("/delay/nan", ["seconds must be a finite number", "'nan'"]),
        ("/delay/1e999", ["seconds must be a finite number", "'1e999'"]),
        ("/delay/0?jitter=-inf", ["jitter must be a finite number"]),
        ("/limited/k?window=inf", ["window must be a finite number"]),
        ("/unreliable/1?rate=nan", ["rate must be a finite number"]),
        ("/users?limit=%D9%A1", ["limit must be a whole number"]),  # int() would take Arabic-Indic digits
        ("/users?limit=1_0", ["limit must be a whole number"]),
        ("/delay/1_0", ["seconds must be a number"]),  # float() would read 10 and wait 10 s
        ("/users?delay=%D9%A1", ["delay must be a number"]),  # float() would read 1
        ("/users/" + "9" * 5000, ["user id must be between", "5000-character number"]),
        ("/delay/" + "x" * 5000, ["seconds must be a number", "(5000 characters)"]),
        ("/flaky/" + "k" * 201, ["key must be at most 200 characters", "got 201"]),
        ("/limited/" + "k" * 201, ["key must be at most 200 characters"]),
        ("/gauge?start=-1", ["start must be between 0"]),
        ("/gauge?limit=0", ["limit must be between 1 and 5000"]),
    ],
)
def test_messages_are_precise(lab, path, words):
    got, headers, body, _ = send(port_of(lab.api), f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    assert got == 400, body[:300]
    message = error_of(got, headers, body)
    assert len(message) < 300, "an error message need not repeat a 5,000-character value"
    for word in words:
        assert word in message, (word, message)
