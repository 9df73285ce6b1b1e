"""``python -m helpers.bench``: measure the course's plumbing on this machine.

Four figures, each with the target the course is built to: how many requests
per second the local API serves, how close a 10-request concurrent demo gets
to its ideal time with httpx and aiohttp, what a recorder span costs, and how
long notebook 00 takes to execute. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import aiohttp
import httpx

from helpers import lab as lab_module
from helpers.timing import Recorder

ROOT = Path(__file__).resolve().parent.parent
DEMO_REQUESTS, DEMO_DELAY, DEMO_ROUNDS = 10, 0.2, 5


async def api_throughput(api: str, total: int, concurrency: int) -> float:
    """Requests per second for `total` GETs of /uuid from `concurrency` aiohttp workers."""
    url = f"{api}/uuid"
    remaining = iter(range(total))

    async def worker(session: aiohttp.ClientSession) -> None:
        for _ in remaining:
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"/uuid answered {response.status}")

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(session.get(url) for _ in range(concurrency)))  # open the connections
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return total / (time.perf_counter() - start)


async def demo_efficiency_httpx(api: str) -> float:
    url = f"{api}/delay/{DEMO_DELAY}"
    async with httpx.AsyncClient() as client:
        await asyncio.gather(*(client.get(url) for _ in range(DEMO_REQUESTS)))  # warm: one connection per request
        times = []
        for _ in range(DEMO_ROUNDS):
            start = time.perf_counter()
            await asyncio.gather(*(client.get(url) for _ in range(DEMO_REQUESTS)))
            times.append(time.perf_counter() - start)
    return DEMO_DELAY / statistics.median(times)


async def demo_efficiency_aiohttp(api: str) -> float:
    url = f"{api}/delay/{DEMO_DELAY}"

    async def get(session: aiohttp.ClientSession) -> None:
        async with session.get(url) as response:
            await response.read()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(get(session) for _ in range(DEMO_REQUESTS)))
        times = []
        for _ in range(DEMO_ROUNDS):
            start = time.perf_counter()
            await asyncio.gather(*(get(session) for _ in range(DEMO_REQUESTS)))
            times.append(time.perf_counter() - start)
    return DEMO_DELAY / statistics.median(times)


def recorder_overhead_us(spans: int = 100_000) -> float:
    """Microseconds per `with rec.span(...)` block around no work at all."""
    rec = Recorder()
    start = time.perf_counter()
    for i in range(spans):
        with rec.span("x"):
            pass
    return (time.perf_counter() - start) / spans * 1e6


def notebook_seconds(path: Path) -> float:
    """Wall time to execute a notebook in a fresh kernel (as nbval does)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


async def measure(requests: int, concurrency: int) -> dict:
    lab = await lab_module.start()
    results = {
        "api_throughput_req_per_s": await api_throughput(lab.api, requests, concurrency),
        "demo_efficiency_httpx": await demo_efficiency_httpx(lab.api),
        "demo_efficiency_aiohttp": await demo_efficiency_aiohttp(lab.api),
        "recorder_overhead_us_per_span": recorder_overhead_us(),
        "service_memory_mb": lab.memory_mb(),
    }
    return results


TARGETS = {
    "api_throughput_req_per_s": (">=", 5000),
    "demo_efficiency_httpx": (">=", 0.93),
    "demo_efficiency_aiohttp": (">=", 0.97),
    "recorder_overhead_us_per_span": ("<", 20),
    "notebook_00_seconds": ("<", 15),
}


def meets(value: float | None, op: str, target: float) -> bool:
    return value is not None and (value >= target if op == ">=" else value < target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests for the throughput test (>= 3000)")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path("bench-results.json"), help="where to write the JSON")
    parser.add_argument("--skip-notebook", action="store_true", help="do not time notebook 00")
    args = parser.parse_args(argv)
    if args.requests < 3000:
        parser.error("--requests must be at least 3000 for a stable figure")
    was_running = lab_module.current() is not None
    results = asyncio.run(measure(args.requests, args.concurrency))
    if not was_running:  # leave services we did not start alone (e.g. a test session's)
        lab_module.stop()
    notebook = ROOT / "notebooks" / "00_start_here.ipynb"
    results["notebook_00_seconds"] = None if args.skip_notebook else notebook_seconds(notebook)
    print(f"{'measure':34} {'value':>10}   target   ok")
    for key, value in results.items():
        op, target = TARGETS.get(key, ("", None))
        shown = "skipped" if value is None else f"{value:10.2f}"
        verdict = "" if target is None or value is None else ("yes" if meets(value, op, target) else "NO")
        print(f"{key:34} {shown:>10}   {op}{target if target is not None else '':<6} {verdict}")
    payload = {"python": sys.version.split()[0], "platform": platform.platform(), "results": results, "targets": {k: f"{op} {t}" for k, (op, t) in TARGETS.items()}}
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0 if all(meets(results.get(k), op, t) for k, (op, t) in TARGETS.items() if results.get(k) is not None) else 1


if __name__ == "__main__":
    sys.exit(main())
