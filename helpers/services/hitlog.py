"""The website's own log of every request: path, host, User-Agent, status, start and end.

A crawler's politeness is a claim about what the *server* saw: no page twice, nothing
robots.txt forbids, requests spaced by the crawl delay, no more than N at once.  The site
keeps that evidence here and serves it as JSON at HITS_PATH, a path no page links to and
robots.txt disallows, so a crawler never finds it.  Bounded: past MAX_HITS the log counts
what it dropped instead of growing.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

HITS_PATH = "/_hits"
MAX_HITS = 5_000


class HitLog:
    """Requests the website answered, times in seconds since the last reset."""

    def __init__(self, max_hits: int = MAX_HITS) -> None:
        self.max_hits = max_hits
        self.reset()

    def reset(self) -> None:
        self.generation = getattr(self, "generation", 0) + 1  # requests begun before a reset are not logged
        self.t0 = time.perf_counter()
        self.hits: list[dict] = []
        self.dropped = 0

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def begin(self, request: web.Request) -> tuple[int, dict | None]:
        if len(self.hits) >= self.max_hits:
            self.dropped += 1
            return self.generation, None
        hit = {
            "path": request.path_qs,
            "host": request.host,
            "user_agent": request.headers.get("User-Agent", ""),
            "start": self.now(),
            "end": None,
            "status": None,
        }
        self.hits.append(hit)
        return self.generation, hit

    def finish(self, token: tuple[int, dict | None], status: int) -> None:
        generation, hit = token
        if generation == self.generation and hit is not None:
            hit["end"] = self.now()
            hit["status"] = status

    def snapshot(self) -> dict:
        return {"hits": [dict(h) for h in self.hits], "dropped": self.dropped, "now": self.now(), "max_hits": self.max_hits}


def hit_log_middleware(log: HitLog) -> Callable:
    """Log every request except those to the log itself."""

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        if request.path.startswith(HITS_PATH):
            return await handler(request)
        token = log.begin(request)
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            log.finish(token, status)

    return middleware


def hit_log_routes(log: HitLog) -> list[web.RouteDef]:
    """GET HITS_PATH: the log as JSON; DELETE HITS_PATH: forget it and restart the clock."""

    async def read(request: web.Request) -> web.Response:
        return web.json_response(log.snapshot())

    async def reset(request: web.Request) -> web.Response:
        log.reset()
        return web.json_response({"reset": True})

    return [web.get(HITS_PATH, read), web.delete(HITS_PATH, reset)]
