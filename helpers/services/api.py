"""The JSON API: an offline stand-in for httpbin plus a few JSON resources.

Every endpoint answers quickly and deterministically unless asked to be slow or
to fail, and every bad parameter gets a 400 with a sentence saying what to
send instead, so a learner's typo never looks like a hang or a server crash.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from helpers.services import data, faults, items
from helpers.services.gauge import Gauge, gauge_middleware

MAX_DELAY = 10.0  # seconds; longer waits teach nothing and tie up a shared server
MAX_STREAM_LINES = 100
MAX_FAILURES = 100
MAX_PAGE = 100

ENDPOINTS = {
    "GET /delay/{seconds}": "wait, then answer (0 <= seconds <= 10); ?jitter=S&key=K adds a deterministic 0..S extra",
    "GET /uuid": "a fresh random UUID",
    "GET /status/{code}": "answer with that HTTP status (200-599)",
    "GET /users, /users/{id}, /users/{id}/posts": "10 users with stable ids; ?delay=S, ?limit=N&offset=M",
    "GET /posts, /posts/{id}, /posts/{id}/comments": "50 posts, 150 comments; ?delay=S, ?limit=N&offset=M",
    "GET /comments": "150 comments, 100 per page (?limit=N&offset=M); ?post_id=N to filter",
    "GET /flaky/{key}?fail=N": "503 for the first N requests with this key, then 200 (DELETE /flaky resets)",
    "GET /unreliable/{n}?rate=R&seed=S": "500 for a fixed, seeded fraction R of the ids n",
    "GET /limited/{key}?limit=N&window=S": "at most N requests per S seconds per key, else 429 + Retry-After",
    "GET /stream/{lines}?interval=S": "newline-delimited JSON, one line every S seconds",
    "ANY /anything": "echo the request back (method, path, query, JSON body)",
    "GET /gauge, DELETE /gauge": "server-side request spans and peak concurrency; DELETE resets them",
}

ENDPOINTS.update(items.ENDPOINTS)  # notebook 09's endpoints: pagination, big bodies, a CPU clock
ENDPOINTS.update(faults.ENDPOINTS)  # notebook 09's failures on demand

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadParameter(web.HTTPBadRequest):
    """A 400 whose JSON body tells the learner what to send instead."""

    def __init__(self, message: str) -> None:
        super().__init__(text=json.dumps({"error": message}), content_type="application/json")


def number(raw: str, name: str, *, low: float, high: float) -> float:
    """Parse a float parameter within [low, high] or explain the problem."""
    try:
        value = float(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < low:
        raise BadParameter(f"{name} must be >= {low:g}, got {raw!r}")
    if value > high:
        raise BadParameter(f"{name} must be <= {high:g} (the course keeps waits short), got {raw!r}")
    return value


def integer(raw: str, name: str, *, low: int, high: int) -> int:
    """Parse an int parameter within [low, high] or explain the problem."""
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}, got {raw!r}")
    return value


def query(request: web.Request, name: str, default: str) -> str:
    return request.query.get(name, default)


async def optional_delay(request: web.Request) -> None:
    await asyncio.sleep(number(query(request, "delay", "0"), "delay", low=0, high=MAX_DELAY))


def fraction(*parts: object) -> float:
    """A deterministic number in [0, 1) for the given parts (same on every run)."""
    return random.Random(":".join(map(str, parts))).random()


def page(request: web.Request, items: list[dict]) -> list[dict]:
    limit = integer(query(request, "limit", str(MAX_PAGE)), "limit", low=1, high=MAX_PAGE)
    offset = integer(query(request, "offset", "0"), "offset", low=0, high=10**6)
    return items[offset : offset + limit]


def one(items: list[dict], raw_id: str, kind: str) -> dict:
    item_id = integer(raw_id, f"{kind} id", low=-(10**9), high=10**9)
    for item in items:
        if item["id"] == item_id:
            return item
    raise web.HTTPNotFound(
        text=json.dumps({"error": f"no {kind} with id {item_id}; ids run from 1 to {len(items)}"}),
        content_type="application/json",
    )


# --- handlers -------------------------------------------------------------------------


async def index(request: web.Request) -> web.Response:
    return web.json_response({"service": "asyncio course JSON API", "endpoints": ENDPOINTS})


async def delay(request: web.Request) -> web.Response:
    seconds = number(request.match_info["seconds"], "seconds", low=0, high=MAX_DELAY)
    jitter = number(query(request, "jitter", "0"), "jitter", low=0, high=MAX_DELAY)
    key = query(request, "key", "")
    extra = jitter * fraction("jitter", key) if jitter else 0.0
    if seconds + extra > MAX_DELAY:
        raise BadParameter(f"seconds + jitter must be <= {MAX_DELAY:g}")
    started = time.perf_counter()
    await asyncio.sleep(seconds + extra)
    waited = time.perf_counter() - started
    return web.json_response({"delay": round(seconds + extra, 6), "key": key, "waited": round(waited, 6)})


async def new_uuid(request: web.Request) -> web.Response:
    return web.json_response({"uuid": str(uuid.uuid4())})


async def status(request: web.Request) -> web.Response:
    # 1xx are interim answers: a handler cannot end a request with one, the client would wait forever
    code = integer(request.match_info["code"], "status code", low=200, high=599)
    if code in (204, 304):
        return web.Response(status=code)  # these statuses may not carry a body
    return web.json_response({"status": code}, status=code)


async def list_users(request: web.Request) -> web.Response:
    await optional_delay(request)
    return web.json_response(page(request, data.users()))


async def get_user(request: web.Request) -> web.Response:
    await optional_delay(request)
    return web.json_response(one(data.users(), request.match_info["id"], "user"))


async def user_posts(request: web.Request) -> web.Response:
    await optional_delay(request)
    user = one(data.users(), request.match_info["id"], "user")
    return web.json_response(page(request, [p for p in data.posts() if p["user_id"] == user["id"]]))


async def list_posts(request: web.Request) -> web.Response:
    await optional_delay(request)
    return web.json_response(page(request, data.posts()))


async def get_post(request: web.Request) -> web.Response:
    await optional_delay(request)
    return web.json_response(one(data.posts(), request.match_info["id"], "post"))


async def post_comments(request: web.Request) -> web.Response:
    await optional_delay(request)
    post = one(data.posts(), request.match_info["id"], "post")
    return web.json_response(page(request, [c for c in data.comments() if c["post_id"] == post["id"]]))


async def list_comments(request: web.Request) -> web.Response:
    await optional_delay(request)
    items = data.comments()
    if "post_id" in request.query:
        post_id = integer(request.query["post_id"], "post_id", low=1, high=10**9)
        items = [c for c in items if c["post_id"] == post_id]
    return web.json_response(page(request, items))


async def flaky(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    fail = integer(query(request, "fail", "2"), "fail", low=0, high=MAX_FAILURES)
    await optional_delay(request)
    attempts: dict[str, int] = request.app["flaky_attempts"]
    attempts[key] = attempt = attempts.get(key, 0) + 1
    if attempt <= fail:
        return web.json_response({"error": "temporarily unavailable, try again", "key": key, "attempt": attempt}, status=503)
    return web.json_response({"key": key, "attempt": attempt, "ok": True})


async def reset_flaky(request: web.Request) -> web.Response:
    request.app["flaky_attempts"].clear()
    return web.json_response({"reset": True})


async def unreliable(request: web.Request) -> web.Response:
    n = integer(request.match_info["n"], "n", low=0, high=10**9)
    rate = number(query(request, "rate", "0.2"), "rate", low=0, high=1)
    seed = query(request, "seed", "0")
    await optional_delay(request)
    if fraction("unreliable", seed, n) < rate:
        return web.json_response({"error": "simulated server failure", "n": n}, status=500)
    return web.json_response({"n": n, "ok": True})


async def limited(request: web.Request) -> web.Response:
    key = request.match_info["key"]
    limit = integer(query(request, "limit", "5"), "limit", low=1, high=10_000)
    window = number(query(request, "window", "1"), "window", low=0.01, high=60)
    windows: dict[str, tuple[float, int]] = request.app["rate_windows"]
    now = time.monotonic()
    start, count = windows.get(key, (now, 0))
    if now - start >= window:
        start, count = now, 0
    if count >= limit:
        wait = start + window - now
        return web.json_response(
            {"error": f"rate limit: {limit} requests per {window:g} s", "retry_after": round(wait, 3)},
            status=429,
            headers={"Retry-After": str(max(1, math.ceil(wait))), "X-RateLimit-Reset-After": f"{wait:.3f}"},
        )
    windows[key] = (start, count + 1)
    return web.json_response({"key": key, "count": count + 1, "limit": limit})


async def stream(request: web.Request) -> web.StreamResponse:
    lines = integer(request.match_info["lines"], "lines", low=1, high=MAX_STREAM_LINES)
    interval = number(query(request, "interval", "0.1"), "interval", low=0, high=1)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    for i in range(lines):
        if i:
            await asyncio.sleep(interval)
        await response.write(json.dumps({"line": i, "of": lines}).encode() + b"\n")
    await response.write_eof()
    return response


async def anything(request: web.Request) -> web.Response:
    body = await request.text()
    try:
        parsed = json.loads(body) if body else None
    except json.JSONDecodeError:
        parsed = None
    return web.json_response(
        {"method": request.method, "path": request.path, "args": dict(request.query), "json": parsed, "data": body}
    )


async def read_gauge(request: web.Request) -> web.Response:
    return web.json_response(request.app["gauge"].snapshot())


async def reset_gauge(request: web.Request) -> web.Response:
    request.app["gauge"].reset()
    return web.json_response({"reset": True})


# --- middleware -----------------------------------------------------------------------


def json_errors(service: str, help_text: str) -> Callable:
    """Turn aiohttp's plain-text 404/405 and any crash into JSON that explains itself."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound as exc:
            if exc.content_type == "application/json":
                raise
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"no {service} endpoint at {request.path}", "help": help_text}),
                content_type="application/json",
            ) from None
        except web.HTTPMethodNotAllowed as exc:
            raise web.HTTPMethodNotAllowed(
                request.method,
                exc.allowed_methods,
                text=json.dumps({"error": f"{request.method} is not allowed on {request.path}", "allowed": sorted(exc.allowed_methods)}),
                content_type="application/json",
            ) from None

    return middleware


def build_api_app(gauge: Gauge) -> web.Application:
    """The JSON API as an aiohttp Application sharing `gauge` with the site."""
    app = web.Application(middlewares=[gauge_middleware(gauge, skip_prefix="/gauge"), json_errors("API", "GET / lists the endpoints")])
    app["gauge"] = gauge
    app["flaky_attempts"] = {}
    app["rate_windows"] = {}
    app.add_routes(
        [
            web.get("/", index),
            web.get("/delay/{seconds}", delay),
            web.get("/uuid", new_uuid),
            web.get("/status/{code}", status),
            web.get("/users", list_users),
            web.get("/users/{id}", get_user),
            web.get("/users/{id}/posts", user_posts),
            web.get("/posts", list_posts),
            web.get("/posts/{id}", get_post),
            web.get("/posts/{id}/comments", post_comments),
            web.get("/comments", list_comments),
            web.get("/flaky/{key}", flaky),
            web.delete("/flaky", reset_flaky),
            web.get("/unreliable/{n}", unreliable),
            web.get("/limited/{key}", limited),
            web.get("/stream/{lines}", stream),
            web.route("*", "/anything", anything),
            web.route("*", "/anything/{tail:.*}", anything),
            web.get("/gauge", read_gauge),
            web.delete("/gauge", reset_gauge),
        ]
    )
    items.install(app)
    faults.install(app)
    return app
