"""Parameter checks shared by the lesson-09 endpoints (items.py, faults.py).

Every bad parameter becomes a 400 whose JSON body says what to send instead,
so a learner's typo never looks like a hang or a server crash.  Per-key state
lives in a BoundedDict, so a runaway loop cannot grow the server's memory.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from typing import Generic, TypeVar

from aiohttp import web

MAX_KEYS = 10_000  # per-key state kept per endpoint; the oldest key is forgotten beyond this
MAX_KEY_LENGTH = 100

V = TypeVar("V")


class BadRequest(web.HTTPBadRequest):
    """A 400 with a JSON body: {"error": "<what to send instead>"}."""

    def __init__(self, message: str) -> None:
        super().__init__(text=json.dumps({"error": message}), content_type="application/json")


def integer(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    """Query parameter `name` as a whole number in [low, high], or a 400 saying so."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number between {low} and {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {raw!r}")
    return value


def number(request: web.Request, name: str, default: float, *, low: float, high: float) -> float:
    """Query parameter `name` as a finite number in [low, high], or a 400 saying so."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a number between {low:g} and {high:g}, got {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise BadRequest(f"{name} must be between {low:g} and {high:g}, got {raw!r}")
    return value


def choice(request: web.Request, name: str, options: tuple[str, ...]) -> str:
    """Query parameter `name` as one of `options` (the first is the default)."""
    raw = request.query.get(name, options[0])
    if raw not in options:
        raise BadRequest(f"{name} must be one of {', '.join(options)}; got {raw!r}")
    return raw


def key(request: web.Request) -> str:
    """The {key} path segment, kept short so per-key state stays small."""
    value = request.match_info["key"]
    if len(value) > MAX_KEY_LENGTH:
        raise BadRequest(f"key must be at most {MAX_KEY_LENGTH} characters, got {len(value)}")
    return value


class BoundedDict(OrderedDict, Generic[V]):
    """A dict that forgets its oldest entries beyond `cap` (insertion order)."""

    def __init__(self, cap: int = MAX_KEYS) -> None:
        super().__init__()
        self.cap = cap

    def __setitem__(self, k: str, v: V) -> None:
        super().__setitem__(k, v)
        while len(self) > self.cap:
            self.popitem(last=False)
