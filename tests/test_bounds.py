"""Per-key state and the gauge's answer are bounded: a runaway learner loop cannot eat the server.

Before: 20,000 distinct 4,000-character keys on /flaky and /limited grew the service from 37 MB
to 279 MB, and one /gauge read built an 82 MB JSON answer (373 MB resident afterwards).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer

from helpers.services import gauge as gauge_module
from helpers.services import api
from helpers.services.api import build_api_app
from helpers.services.gauge import MAX_PAGE_SPANS, Gauge
from helpers.services.keyed import MAX_KEY_LENGTH, MAX_KEYS, BoundedState

REPO = Path(__file__).resolve().parent.parent


def test_bounded_state_forgets_the_least_recently_used_key():
    state: BoundedState[int] = BoundedState(max_keys=3)
    for key in "abc":
        state[key] = 1
    state["a"] = 2  # a is used again: b is now the oldest
    state["d"] = 1
    assert len(state) == 3 and "b" not in state and {"a", "c", "d"} <= {k for k in "abcd" if k in state}
    assert state.get("a", 0) == 2 and state.get("b", 0) == 0
    assert state.evicted == 1
    assert state.clear() == 3 and len(state) == 0


def test_bounds_are_classroom_sized():
    assert MAX_KEYS >= 1_000, "a lesson may use hundreds of keys at once; they must all be remembered"
    assert MAX_KEY_LENGTH >= 64


async def _with_api(max_keys: int, body) -> None:
    app = build_api_app(Gauge())
    app[api.FLAKY_ATTEMPTS].max_keys = max_keys
    app[api.RATE_WINDOWS].max_keys = max_keys
    async with TestClient(TestServer(app)) as client:
        await body(client, app)


def test_flaky_keys_beyond_the_ceiling_evict_the_oldest():
    async def body(client, app):
        for i in range(10):
            assert (await client.get(f"/flaky/k{i}?fail=1")).status == 503
        assert len(app[api.FLAKY_ATTEMPTS]) == 4
        assert (await client.get("/flaky/k9?fail=1")).status == 200  # recent keys are remembered
        assert (await client.get("/flaky/k0?fail=1")).status == 503  # k0 was forgotten: a fresh first try

    asyncio.run(_with_api(4, body))


def test_limited_keys_beyond_the_ceiling_evict_the_oldest_and_delete_resets():
    async def body(client, app):
        for i in range(10):
            assert (await client.get(f"/limited/k{i}?limit=1&window=60")).status == 200
        assert len(app[api.RATE_WINDOWS]) == 4
        assert (await client.get("/limited/k9?limit=1&window=60")).status == 429
        reset = await client.delete("/limited")
        assert reset.status == 200 and await reset.json() == {"reset": True}
        assert len(app[api.RATE_WINDOWS]) == 0
        assert (await client.get("/limited/k9?limit=1&window=60")).status == 200

    asyncio.run(_with_api(4, body))


def test_gauge_answer_is_paged():
    g = Gauge()
    for i in range(MAX_PAGE_SPANS + 7):
        g.finish(g.begin(f"/p/{i}"), 200)
    first = g.snapshot()
    assert len(first["spans"]) == MAX_PAGE_SPANS and first["next"] == MAX_PAGE_SPANS
    assert first["total"] == MAX_PAGE_SPANS + 7
    second = g.snapshot(first["next"])
    assert [s["path"] for s in second["spans"]] == [f"/p/{MAX_PAGE_SPANS + i}" for i in range(7)]
    assert second["next"] is None
    assert len(g.snapshot(0, 10**9)["spans"]) == MAX_PAGE_SPANS, "a reader cannot ask for more than a page"


def test_gauge_cuts_long_paths():
    g = Gauge()
    g.finish(g.begin("/flaky/" + "k" * 5000), 200)
    path = g.snapshot()["spans"][0]["path"]
    assert len(path) < gauge_module.MAX_PATH + 40 and path.endswith("characters)")


def test_lab_gauge_reads_every_page_and_stays_compatible(lab):
    lab.reset_gauge()
    n = MAX_PAGE_SPANS + 300

    async def many() -> None:  # aiohttp: several times faster than httpx for thousands of requests
        connector = aiohttp.TCPConnector(limit=20)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

            async def get(i: int) -> None:
                async with session.get(lab.url(f"/uuid?i={i}")) as response:
                    await response.read()

            await asyncio.gather(*(get(i) for i in range(n)))

    asyncio.run(many())
    reading = lab.gauge()
    assert reading.count == n and reading.dropped == 0
    assert sorted(int(s["path"].split("=")[1]) for s in reading.spans) == list(range(n))
    assert 1 <= reading.peak <= 20 and reading.in_flight == 0
    times, levels = reading.in_flight_series()
    assert levels[-1] == 0 and max(levels) == reading.peak
    raw = httpx.get(lab.url("/gauge"), timeout=30)
    assert len(raw.json()["spans"]) == MAX_PAGE_SPANS and raw.json()["next"] == MAX_PAGE_SPANS
    assert len(raw.content) < 2_000_000
    lab.reset_gauge()


def test_lab_reset_limited(lab):
    with httpx.Client(timeout=10) as client:
        url = lab.url("/limited/reset-me?limit=1&window=60")
        assert client.get(url).status_code == 200
        assert client.get(url).status_code == 429
        lab.reset_limited()
        assert client.get(url).status_code == 200


def test_endpoint_index_mentions_the_resets(lab):
    endpoints = json.dumps(httpx.get(lab.api + "/", timeout=10).json()["endpoints"])
    assert "DELETE /limited resets" in endpoints and "DELETE /flaky resets" in endpoints
    assert "?start=" in endpoints


@pytest.mark.parametrize("path", ["/flaky/", "/limited/"])
def test_too_long_a_key_is_refused_not_stored(lab, path):
    r = httpx.get(lab.url(path + "k" * (MAX_KEY_LENGTH + 1)), timeout=10)
    assert r.status_code == 400 and f"at most {MAX_KEY_LENGTH} characters" in r.json()["error"]
    assert httpx.get(lab.url(path + "k" * MAX_KEY_LENGTH), timeout=10).status_code in (200, 503)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the services' memory from /proc (Linux)")
def test_runaway_loop_of_20000_keys_keeps_the_services_small(tmp_path):
    """The load that grew the services to 279 MB (373 MB after one /gauge read) before the bounds."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.services", "--api-port", "0", "--site-port", "0"],
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        api = proc.stdout.readline().split()[2].rstrip("/")
        before = rss_mb(proc.pid)

        async def load() -> None:  # aiohttp: httpx takes minutes for 40,000 requests here
            limit = asyncio.Semaphore(50)

            async def get(session: aiohttp.ClientSession, url: str) -> None:
                async with limit, session.get(url) as response:
                    await response.read()

            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
                for endpoint in ("flaky", "limited"):
                    for batch in range(0, 20_000, 2_000):
                        urls = [f"{api}/{endpoint}/{str(i).zfill(4000)}?fail=1" for i in range(batch, batch + 2_000)]
                        await asyncio.gather(*(get(session, u) for u in urls))

        asyncio.run(load())
        gauge_answer = httpx.get(api + "/gauge", timeout=60).content
        after = rss_mb(proc.pid)
        print(f"\nservices: {before:.0f} MB before, {after:.0f} MB after 40,000 requests with 4,000-character keys "
              f"and a /gauge read ({len(gauge_answer) / 1e6:.1f} MB)")
        assert len(gauge_answer) < 2_000_000
        assert after - before < 100, f"the services grew from {before:.0f} MB to {after:.0f} MB"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS line")
