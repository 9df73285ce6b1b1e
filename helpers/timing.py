"""Measure what happened: spans of work, and how late the event loop runs.

    rec = Recorder()
    async def fetch(i):
        with rec.span(f"request {i}"):
            await client.get(...)
    ...
    charts.timeline(rec.spans)

One plain ``with`` block works around an ``await``, a blocking call, or code in
a worker thread, because entering and leaving only reads the clock.  Times are
seconds since the recorder was created or last reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    """One piece of work: what it was, when it ran, and where."""

    name: str
    start: float
    end: float
    thread: str
    task: str | None  # the asyncio task it ran in, None outside the event loop thread
    group: str | None = None  # optional label, e.g. "sequential" / "concurrent"

    @property
    def duration(self) -> float:
        return self.end - self.start


def _current_task_name() -> str | None:
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running loop in this thread
        return None
    return task.get_name() if task else None


class Recorder:
    """Collects Spans from coroutines, blocking code and threads alike."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget all spans and restart the clock at 0."""
        with self._lock:
            self.t0 = time.perf_counter()
            self.spans: list[Span] = []

    def now(self) -> float:
        """Seconds since the recorder started."""
        return time.perf_counter() - self.t0

    @contextlib.contextmanager
    def span(self, name: str, group: str | None = None) -> Iterator[None]:
        """Record the time spent inside the block, even if it raises."""
        task = _current_task_name()
        start = time.perf_counter()
        try:
            yield
        finally:
            end = time.perf_counter()
            self.add(Span(name, start - self.t0, end - self.t0, threading.current_thread().name, task, group))

    def add(self, span: Span) -> None:
        with self._lock:
            self.spans.append(span)

    def group(self, group: str) -> list[Span]:
        """The spans with this group label, in the order they were recorded."""
        return [s for s in self.spans if s.group == group]

    @property
    def elapsed(self) -> float:
        """From the earliest start to the latest end (the wall time the work took)."""
        return wall_time(self.spans)


def wall_time(spans: list[Span]) -> float:
    """Earliest start to latest end of these spans; 0 for none."""
    if not spans:
        return 0.0
    return max(s.end for s in spans) - min(s.start for s in spans)


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.elapsed`` (seconds)."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self.start


@dataclass(frozen=True)
class LagSample:
    at: float  # seconds since the monitor started
    lag: float  # how much later than asked the loop woke us, in seconds


class LoopLagMonitor:
    """A heartbeat task that measures how late the event loop wakes it.

    Every ``interval`` seconds it asks to be woken; if something blocks the
    loop (time.sleep, a CPU loop, a sync client), the wake-up comes late and
    the lag shows exactly how long the loop was frozen.

        async with LoopLagMonitor() as lag:
            ...
        charts.loop_lag(lag.samples)
    """

    def __init__(self, interval: float = 0.01) -> None:
        if not 0.001 <= interval <= 1:
            raise ValueError(f"interval must be between 0.001 and 1 second, got {interval!r}")
        self.interval = interval
        self.samples: list[LagSample] = []
        self._task: asyncio.Task | None = None
        self._t0 = self._asked = 0.0

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        self._t0 = loop.time()
        while True:
            self._asked = loop.time()
            await asyncio.sleep(self.interval)
            woke = loop.time()
            self.samples.append(LagSample(at=woke - self._t0, lag=max(0.0, woke - self._asked - self.interval)))

    async def __aenter__(self) -> LoopLagMonitor:
        self.samples.clear()
        self._task = asyncio.create_task(self._beat(), name="loop-lag-monitor")
        await asyncio.sleep(0)  # let the heartbeat start before the measured work does
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        now = asyncio.get_running_loop().time()
        overdue = now - self._asked - self.interval
        if overdue > 0:  # the loop was frozen right up to the end of the block: record that last beat too
            self.samples.append(LagSample(at=now - self._t0, lag=overdue))
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    @property
    def max_lag(self) -> float:
        return max((s.lag for s in self.samples), default=0.0)
