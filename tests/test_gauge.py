"""The server-side gauge: the Gauge class itself, its middleware over HTTP, and GaugeReading."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from helpers.lab import GaugeReading
from helpers.services.gauge import Gauge, RequestSpan

TIMEOUT = httpx.Timeout(10.0)


def get(url: str) -> httpx.Response:
    with httpx.Client(timeout=TIMEOUT) as client:
        return client.get(url)


async def gather_get(urls: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        return await asyncio.gather(*(client.get(u) for u in urls))


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# --- the Gauge class ----------------------------------------------------------------------


def test_gauge_records_begin_and_finish():
    g = Gauge()
    token = g.begin("/a?x=1")
    assert g.in_flight == 1 and g.peak == 1
    assert g.spans == [RequestSpan(path="/a?x=1", start=g.spans[0].start)]
    assert g.spans[0].end is None and g.spans[0].status is None
    g.finish(token, 201)
    span = g.spans[0]
    assert span.status == 201 and span.end >= span.start >= 0
    assert g.in_flight == 0 and g.peak == 1


def test_gauge_peak_counts_overlap_not_total():
    g = Gauge()
    a, b = g.begin("/a"), g.begin("/b")
    g.finish(a, 200)
    c = g.begin("/c")
    g.finish(b, 200)
    g.finish(c, 200)
    assert g.peak == 2 and g.in_flight == 0 and len(g.spans) == 3


def test_gauge_max_spans_bounds_memory_and_counts_dropped():
    g = Gauge(max_spans=3)
    tokens = [g.begin(f"/{i}") for i in range(5)]
    assert len(g.spans) == 3
    assert g.dropped == 2
    assert g.peak == 5 and g.in_flight == 5  # dropped requests still count as in flight
    for t in tokens:
        g.finish(t, 200)
    assert g.in_flight == 0
    assert all(s.status == 200 for s in g.spans)
    snap = g.snapshot()
    assert snap["dropped"] == 2 and len(snap["spans"]) == 3 and snap["peak"] == 5


def test_gauge_reset_clears_and_restarts_the_clock():
    g = Gauge(max_spans=1)
    g.finish(g.begin("/a"), 200)
    g.begin("/b")
    time.sleep(0.05)
    assert g.now() >= 0.05
    g.reset()
    assert g.spans == [] and g.peak == 0 and g.in_flight == 0 and g.dropped == 0
    assert g.now() < 0.05
    snap = g.snapshot()
    assert snap["spans"] == [] and snap["now"] < 0.05


def test_gauge_request_across_a_reset_does_not_go_negative():
    g = Gauge()
    old = g.begin("/slow")
    g.reset()
    g.finish(old, 200)  # began before the reset: not counted after it
    assert g.in_flight == 0
    new = g.begin("/new")
    assert g.in_flight == 1 and g.peak == 1
    g.finish(new, 200)
    assert g.in_flight == 0
    assert [s.path for s in g.spans] == ["/new"]


def test_snapshot_is_json_ready():
    g = Gauge()
    g.finish(g.begin("/x"), 404)
    snap = g.snapshot()
    assert set(snap) == {"spans", "start", "next", "total", "generation", "peak", "in_flight", "dropped", "now"}
    assert (snap["start"], snap["next"], snap["total"]) == (0, None, 1)
    assert snap["spans"] == [{"path": "/x", "start": snap["spans"][0]["start"], "end": snap["spans"][0]["end"], "status": 404, "conn": None}]


# --- over HTTP -----------------------------------------------------------------------------


def test_spans_recorded_with_start_end_status(lab):
    lab.reset_gauge()
    get(lab.url("/delay/0.2"))
    get(lab.url("/status/418"))
    get(lab.url("/nope"))
    get(lab.url("/delay/abc"))
    reading = lab.gauge()
    assert isinstance(reading, GaugeReading)
    assert [s["path"] for s in reading.spans] == ["/delay/0.2", "/status/418", "/nope", "/delay/abc"]
    assert [s["status"] for s in reading.spans] == [200, 418, 404, 400]
    assert reading.count == 4
    first = reading.spans[0]
    assert first["end"] - first["start"] >= 0.19
    starts = [s["start"] for s in reading.spans]
    assert starts == sorted(starts) and starts[0] >= 0
    assert all(s["end"] >= s["start"] for s in reading.spans)
    assert reading.peak == 1 and reading.in_flight == 0


def test_query_string_is_part_of_the_path(lab):
    lab.reset_gauge()
    get(lab.url("/users?limit=2&delay=0"))
    assert lab.gauge().spans[0]["path"] == "/users?limit=2&delay=0"


@pytest.mark.parametrize("k", [5, 12])
def test_peak_equals_k_concurrent_requests(lab, k):
    lab.reset_gauge()
    responses = asyncio.run(gather_get([lab.url("/delay/0.5")] * k))
    assert all(r.status_code == 200 for r in responses)
    reading = lab.gauge()
    assert reading.peak == k
    assert reading.count == k and reading.in_flight == 0
    times, levels = reading.in_flight_series()
    assert max(levels) == k and levels[-1] == 0


def test_sequential_requests_peak_at_one(lab):
    lab.reset_gauge()
    with httpx.Client(timeout=TIMEOUT) as client:
        for _ in range(4):
            client.get(lab.url("/delay/0.05"))
    assert lab.gauge().peak == 1


def test_semaphore_caps_what_the_server_sees(lab):
    async def main() -> None:
        sem = asyncio.Semaphore(3)
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:

            async def one() -> None:
                async with sem:
                    await client.get(lab.url("/delay/0.15"))

            await asyncio.gather(*(one() for _ in range(9)))

    lab.reset_gauge()
    asyncio.run(main())
    assert lab.gauge().peak == 3


def test_reset_clears_spans_and_restarts_the_clock(lab):
    get(lab.url("/uuid"))
    time.sleep(0.3)
    lab.reset_gauge()
    assert lab.gauge().spans == [] and lab.gauge().peak == 0
    get(lab.url("/uuid"))
    span = lab.gauge().spans[0]
    assert span["start"] < 0.25  # measured from the reset, not from the first request
    with httpx.Client(timeout=TIMEOUT) as client:
        assert client.get(lab.url("/gauge")).json()["now"] < 5


def test_request_in_flight_across_a_reset(lab):
    async def main() -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            slow = asyncio.create_task(client.get(lab.url("/delay/0.6")))
            await asyncio.to_thread(wait_until, lambda: lab.gauge().in_flight == 1)
            await asyncio.to_thread(lab.reset_gauge)
            assert lab.gauge().in_flight == 0
            r = await slow
            assert r.status_code == 200

    lab.reset_gauge()
    asyncio.run(main())
    reading = lab.gauge()
    assert reading.in_flight == 0, "a request begun before the reset must not make in_flight negative"
    assert reading.spans == []
    asyncio.run(gather_get([lab.url("/delay/0.2")] * 2))
    reading = lab.gauge()
    assert reading.peak == 2 and reading.in_flight == 0


def test_gauge_endpoint_is_not_recorded(lab):
    lab.reset_gauge()
    with httpx.Client(timeout=TIMEOUT) as client:
        for _ in range(3):
            client.get(lab.url("/gauge"))
        client.get(lab.url("/uuid"))
    assert [s["path"] for s in lab.gauge().spans] == ["/uuid"]


def test_website_requests_are_recorded_too(lab):
    lab.reset_gauge()
    with httpx.Client(timeout=TIMEOUT) as client:
        client.get(lab.site + "/")
        client.get(lab.site + "/article/13")
        client.get(lab.url("/uuid"))
    reading = lab.gauge()
    assert [(s["path"], s["status"]) for s in reading.spans] == [("/", 200), ("/article/13", 404), ("/uuid", 200)]


def test_website_and_api_share_the_peak(lab):
    lab.reset_gauge()
    asyncio.run(gather_get([lab.url("/delay/0.5"), lab.url("/delay/0.5"), lab.site + "/article/9", lab.site + "/article/18"]))
    assert lab.gauge().peak == 4


def test_streaming_span_ends_after_the_last_line(lab):
    lab.reset_gauge()
    get(lab.url("/stream/3?interval=0.1"))
    span = lab.gauge().spans[0]
    assert span["end"] - span["start"] >= 0.19 and span["status"] == 200


# --- GaugeReading.in_flight_series ----------------------------------------------------------


def test_in_flight_series_from_spans():
    spans = [
        {"path": "/a", "start": 0.1, "end": 0.5, "status": 200},
        {"path": "/b", "start": 0.2, "end": 0.3, "status": 200},
        {"path": "/c", "start": 0.4, "end": None, "status": None},  # still in flight
    ]
    reading = GaugeReading(spans=spans, peak=2, in_flight=1)
    times, levels = reading.in_flight_series()
    assert times == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert levels == [0, 1, 2, 1, 2, 1]
    assert reading.count == 3


def test_in_flight_series_end_before_start_at_the_same_time():
    """A request ending exactly when another starts is not an overlap."""
    spans = [{"path": "/a", "start": 0.0, "end": 1.0, "status": 200}, {"path": "/b", "start": 1.0, "end": 2.0, "status": 200}]
    times, levels = GaugeReading(spans=spans, peak=1, in_flight=0).in_flight_series()
    assert max(levels) == 1
    assert levels[-1] == 0


def test_in_flight_series_empty():
    assert GaugeReading(spans=[], peak=0, in_flight=0).in_flight_series() == ([0.0], [0])
