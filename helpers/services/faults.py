"""Failures on demand for notebook 09: every way an HTTP call goes wrong, for real.

/drop cuts the connection in the middle of a body, /redirect/{n} redirects,
/script/{key} answers a scripted sequence of statuses (with Retry-After in
seconds or as an HTTP date), /chaos/{key} fails a seeded fraction of
attempts, /warmup/{key} fails for the first seconds after its first hit (a
thundering herd's target).  Each keyed endpoint remembers what it saw per key
(attempts, arrival times, requests that came back before Retry-After allowed)
so checkers can judge a learner's retry loop by the server's evidence:
GET /attempts/{key}.  State is bounded: at most MAX_KEYS keys, MAX_ARRIVALS
arrivals per key.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass, field
from email.utils import formatdate

from aiohttp import web

from helpers.services.keyed import BoundedState
from helpers.services.validate import BadParameter, choice, key_of, query_integer, query_number


MAX_STEPS = 20
MAX_ARRIVALS = 200
MAX_REDIRECTS = 10
MAX_RETRY_AFTER = 10  # seconds
EARLY_TOLERANCE = 0.05  # seconds: timer granularity, not impatience
STEP_WORDS = ("drop", "slow")
SLOW_STEP = 3.0  # seconds a "slow" step waits before answering 200: past a client timeout of 2 s
FAULT_LOGS: web.AppKey[BoundedState] = web.AppKey("fault_logs", BoundedState)  # per-key logs, bounded

ENDPOINTS = {
    "GET /drop?after=B": "promise 10000 bytes, send B (default 100), then cut the connection",
    "GET /redirect/{n}": "302 to /redirect/{n-1}; /redirect/0 answers 200 (n <= 10)",
    "GET /script/{key}?steps=503,429,drop,slow,200&retry_after=S&form=seconds|date": "answer attempt k of this key with steps[k] (the last repeats); drop cuts the connection, slow answers 200 after 3 s; 429/503 carry Retry-After S if given",
    "GET /chaos/{key}?rate=R&seed=S": "each attempt fails (502/503/504 or a cut connection) with seeded probability R",
    "GET /warmup/{key}?seconds=S": "503 for the first S seconds after this key's first request, then 200",
    "GET /attempts/{key}": "what the keyed fault endpoints saw for this key: attempts, arrival times, statuses, early retries",
    "DELETE /attempts": "forget every key of the fault endpoints (a fresh start for /script, /chaos, /warmup)",
}


@dataclass
class KeyLog:
    """What the server saw for one key."""

    first: float = field(default_factory=time.monotonic)
    attempts: int = 0
    arrivals: list[float] = field(default_factory=list)  # seconds since the first request
    statuses: list[int | str] = field(default_factory=list)
    early: int = 0  # requests that arrived before the Retry-After the server had sent
    not_before: float = 0.0  # time.time() before which a retry is early

    def arrive(self) -> int:
        """Count one attempt; return its number (1-based)."""
        self.attempts += 1
        if len(self.arrivals) < MAX_ARRIVALS:
            self.arrivals.append(round(time.monotonic() - self.first, 4))
        return self.attempts

    def answered(self, outcome: int | str) -> None:
        if len(self.statuses) < MAX_ARRIVALS:
            self.statuses.append(outcome)

    def as_dict(self, name: str) -> dict:
        return {"key": name, "attempts": self.attempts, "arrivals": self.arrivals, "statuses": self.statuses, "early": self.early}


def log_for(request: web.Request, name: str) -> KeyLog:
    logs: BoundedState[KeyLog] = request.app[FAULT_LOGS]
    if name not in logs:
        logs[name] = KeyLog()
    return logs[name]


async def cut(request: web.Request, sent: int = 100, promised: int = 10_000) -> web.StreamResponse:
    """Start a response that promises `promised` bytes, send `sent`, then close the socket."""
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": str(promised)})
    await response.prepare(request)
    await response.write(b"[" + b" " * max(0, sent - 1))
    await asyncio.sleep(0.01)  # let the bytes leave before the connection goes
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError  # aiohttp's own way to end a handler whose connection is gone


async def drop(request: web.Request) -> web.StreamResponse:
    after = query_integer(request, "after", 100, low=1, high=9_999)
    return await cut(request, after)


async def redirect(request: web.Request) -> web.Response:
    raw = request.match_info["n"]
    try:
        n = int(raw)
    except ValueError:
        raise BadParameter(f"n must be a whole number from 0 to {MAX_REDIRECTS}, got {raw!r}") from None
    if not 0 <= n <= MAX_REDIRECTS:
        raise BadParameter(f"n must be from 0 to {MAX_REDIRECTS}, got {raw!r}")
    if n == 0:
        return web.json_response({"redirected": True, "path": request.path})
    raise web.HTTPFound(location=f"/redirect/{n - 1}")


def parse_steps(raw: str) -> list[int | str]:
    steps: list[int | str] = []
    for part in raw.split(","):
        part = part.strip()
        if part in STEP_WORDS:
            steps.append(part)
            continue
        try:
            code = int(part)
        except ValueError:
            code = 0
        if not 200 <= code <= 599:
            raise BadParameter(f"steps must be a comma-separated list of statuses 200-599, 'drop' or 'slow', e.g. 503,429,200; got {part!r}")
        steps.append(code)
    if not 1 <= len(steps) <= MAX_STEPS:
        raise BadParameter(f"steps must list 1 to {MAX_STEPS} answers, got {len(steps)}")
    return steps


def retry_after_header(log: KeyLog, seconds: int, form: str) -> str:
    """Set when a retry stops being early; return the Retry-After header in the requested form."""
    if form == "date":
        log.not_before = float(math.ceil(time.time() + seconds))  # an HTTP date has whole seconds
        return formatdate(log.not_before, usegmt=True)
    log.not_before = time.time() + seconds
    return str(seconds)


async def script(request: web.Request) -> web.StreamResponse:
    name = key_of(request)
    steps = parse_steps(request.query.get("steps", "503,200"))
    retry_after = query_integer(request, "retry_after", -1, low=0, high=MAX_RETRY_AFTER)
    form = choice(request, "form", ("seconds", "date"))
    log = log_for(request, name)
    if time.time() < log.not_before - EARLY_TOLERANCE:
        log.arrive()
        log.early += 1
        log.answered(429)
        header = retry_after_header(log, max(retry_after, 1), form)
        return web.json_response(
            {"error": "too early: you were asked to wait (Retry-After)", "key": name}, status=429, headers={"Retry-After": header}
        )
    attempt = log.arrive()
    step = steps[min(attempt, len(steps)) - 1]
    log.answered(step)
    if step == "drop":
        return await cut(request)
    if step == "slow":  # a timeout for the client: the answer comes after its deadline
        await asyncio.sleep(SLOW_STEP)
        return web.json_response({"key": name, "attempt": attempt, "status": 200, "slow": SLOW_STEP})
    headers = {}
    if step in (429, 503) and retry_after >= 0:
        headers["Retry-After"] = retry_after_header(log, retry_after, form)
    body = {"key": name, "attempt": attempt, "status": step}
    if step >= 400:
        body["error"] = f"scripted failure {step}"
    if step in (204, 304):
        return web.Response(status=step, headers=headers)
    return web.json_response(body, status=step, headers=headers)


async def chaos(request: web.Request) -> web.StreamResponse:
    name = key_of(request)
    rate = query_number(request, "rate", 0.2, low=0, high=1)
    seed = query_integer(request, "seed", 0, low=0, high=10**9)
    log = log_for(request, name)
    attempt = log.arrive()
    dice = random.Random(f"chaos:{seed}:{name}:{attempt}")
    if dice.random() < rate:
        kind = dice.choice((502, 503, 504, "drop"))
        log.answered(kind)
        if kind == "drop":
            return await cut(request)
        return web.json_response({"error": f"simulated failure {kind}", "key": name, "attempt": attempt}, status=kind)
    log.answered(200)
    return web.json_response({"key": name, "attempt": attempt, "ok": True})


async def warmup(request: web.Request) -> web.Response:
    name = key_of(request)
    seconds = query_number(request, "seconds", 1.0, low=0, high=MAX_RETRY_AFTER)
    log = log_for(request, name)
    attempt = log.arrive()
    if time.monotonic() - log.first < seconds:
        log.answered(503)
        return web.json_response({"error": "warming up, try again later", "key": name, "attempt": attempt}, status=503)
    log.answered(200)
    return web.json_response({"key": name, "attempt": attempt, "ok": True})


async def attempts(request: web.Request) -> web.Response:
    name = key_of(request)
    logs: BoundedState[KeyLog] = request.app[FAULT_LOGS]
    log = logs.get(name)
    if log is None:
        return web.json_response({"key": name, "attempts": 0, "arrivals": [], "statuses": [], "early": 0})
    return web.json_response(log.as_dict(name))


async def reset_attempts(request: web.Request) -> web.Response:
    request.app[FAULT_LOGS].clear()
    return web.json_response({"reset": True})


def install(app: web.Application) -> None:
    """Register this module's routes and per-key state on the API app."""
    app[FAULT_LOGS] = BoundedState()
    app.add_routes(
        [
            web.get("/drop", drop),
            web.get("/redirect/{n}", redirect),
            web.get("/script/{key}", script),
            web.get("/chaos/{key}", chaos),
            web.get("/warmup/{key}", warmup),
            web.get("/attempts/{key}", attempts),
            web.delete("/attempts", reset_attempts),
        ]
    )
