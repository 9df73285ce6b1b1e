"""Server-side record of when each request started and ended.

The notebook cannot see inside the server, so the server keeps the evidence:
a request span per request.  Peak concurrency computed from these spans is
what proves that a Semaphore or a connector limit really capped the load.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from aiohttp import web


@dataclass
class RequestSpan:
    path: str
    start: float  # seconds since the gauge was last reset
    end: float | None = None
    status: int | None = None
    conn: int | None = None  # which connection carried the request (1, 2, ... in order of first use)


class ConnectionIds:
    """Number each client connection (transport) the first time a request arrives on it.

    Weak keys: a closed connection's entry disappears with its transport, so this
    stays as small as the number of open connections.
    """

    def __init__(self) -> None:
        self.ids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.counter = 0

    def of(self, transport: object) -> int | None:
        if transport is None:
            return None
        try:
            conn = self.ids.get(transport)
            if conn is None:
                self.counter += 1
                conn = self.ids[transport] = self.counter
            return conn
        except TypeError:  # a transport without weak references (e.g. another event loop): use the client port
            peer = getattr(transport, "get_extra_info", lambda _: None)("peername")
            return peer[1] if peer else None


class Gauge:
    """Collects RequestSpans; times are relative to the last reset."""

    def __init__(self, max_spans: int = 20_000) -> None:
        self.max_spans = max_spans
        self.reset()

    def reset(self) -> None:
        self.generation = getattr(self, "generation", 0) + 1  # requests begun before a reset are not counted after it
        self.t0 = time.perf_counter()
        self.spans: list[RequestSpan] = []
        self.in_flight = 0
        self.peak = 0
        self.dropped = 0

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def begin(self, path: str, conn: int | None = None) -> tuple[int, RequestSpan | None]:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if len(self.spans) >= self.max_spans:
            self.dropped += 1  # bounded memory: a runaway loop must not eat the classroom server
            return self.generation, None
        span = RequestSpan(path=path, start=self.now(), conn=conn)
        self.spans.append(span)
        return self.generation, span

    def finish(self, token: tuple[int, RequestSpan | None], status: int) -> None:
        generation, span = token
        if generation != self.generation:
            return
        self.in_flight -= 1
        if span is not None:
            span.end = self.now()
            span.status = status

    def snapshot(self) -> dict:
        return {
            "spans": [asdict(s) for s in self.spans],
            "peak": self.peak,
            "in_flight": self.in_flight,
            "dropped": self.dropped,
            "now": self.now(),
        }


def gauge_middleware(gauge: Gauge, skip_prefix: str | None = None) -> Callable:
    """Record every request's server-side start and end (and its connection) in the gauge."""
    connections = ConnectionIds()

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if skip_prefix and request.path.startswith(skip_prefix):
            return await handler(request)
        token = gauge.begin(request.path_qs, connections.of(request.transport))
        status_code = 500
        try:
            response = await handler(request)
            status_code = response.status
            return response
        except web.HTTPException as exc:
            status_code = exc.status
            raise
        finally:
            gauge.finish(token, status_code)

    return middleware
