"""Parameter checks shared by every API endpoint (api.py, items.py, faults.py).

Every bad parameter becomes a 400 whose JSON body says what to send instead,
so a learner's typo never looks like a hang or a server crash.  Parsing is
strict on purpose: ``float()`` and ``int()`` also accept ``1_0`` and
Arabic-Indic digits, which in a URL are typos, not numbers.  Per-key state
lives in helpers.services.keyed.BoundedState.
"""

from __future__ import annotations

import json
import math
import re

from aiohttp import web

from helpers.services.keyed import MAX_KEY_LENGTH


class BadParameter(web.HTTPBadRequest):
    """A 400 whose JSON body tells the learner what to send instead."""

    def __init__(self, message: str) -> None:
        super().__init__(text=json.dumps({"error": message}), content_type="application/json")


def shown(raw: str, limit: int = 40) -> str:
    """`raw` quoted for an error message, cut short: a 5,000-digit value need not come back whole."""
    return repr(raw) if len(raw) <= limit else repr(raw[:limit]) + f"... ({len(raw)} characters)"


def number(raw: str, name: str, *, low: float, high: float) -> float:
    """Parse a float parameter within [low, high] or explain the problem."""
    # float() also takes '1_0' (10) and Arabic-Indic digits: a typo would silently wait 10 s
    if not re.fullmatch(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*", raw):
        if raw.strip().lower().lstrip("+-") in ("inf", "infinity", "nan"):
            raise BadParameter(f"{name} must be a finite number between {low:g} and {high:g}, got {shown(raw)}")
        raise BadParameter(f"{name} must be a number, got {shown(raw)}")
    value = float(raw)
    if not math.isfinite(value):  # nan, inf, -inf, and 1e999 (which float() makes inf)
        raise BadParameter(f"{name} must be a finite number between {low:g} and {high:g}, got {shown(raw)}")
    if value < low:
        raise BadParameter(f"{name} must be >= {low:g}, got {shown(raw)}")
    if value > high:
        raise BadParameter(f"{name} must be <= {high:g} (the course keeps waits short), got {shown(raw)}")
    return value


def integer(raw: str, name: str, *, low: int, high: int) -> int:
    """Parse an int parameter within [low, high] or explain the problem."""
    if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", raw):  # int() also takes '١' and '1_000'; URLs should not
        raise BadParameter(f"{name} must be a whole number, got {shown(raw)}")
    if len(raw.strip()) > 30:  # int() refuses over 4,300 digits; nothing here needs more than 30
        raise BadParameter(f"{name} must be between {low} and {high}, got a {len(raw.strip())}-character number")
    value = int(raw)
    if not low <= value <= high:
        raise BadParameter(f"{name} must be between {low} and {high}, got {shown(raw)}")
    return value


def key_of(request: web.Request) -> str:
    """The {key} path part, at most MAX_KEY_LENGTH characters (per-key state stays small)."""
    key = request.match_info["key"]
    if len(key) > MAX_KEY_LENGTH:
        raise BadParameter(f"key must be at most {MAX_KEY_LENGTH} characters, got {len(key)}; use a short name per thing")
    return key


def query_integer(request: web.Request, name: str, default: int, *, low: int, high: int) -> int:
    """Query parameter `name` as a whole number in [low, high] (`default` if absent), or a 400."""
    raw = request.query.get(name)
    return default if raw is None else integer(raw, name, low=low, high=high)


def query_number(request: web.Request, name: str, default: float, *, low: float, high: float) -> float:
    """Query parameter `name` as a finite number in [low, high] (`default` if absent), or a 400."""
    raw = request.query.get(name)
    return default if raw is None else number(raw, name, low=low, high=high)


def choice(request: web.Request, name: str, options: tuple[str, ...]) -> str:
    """Query parameter `name` as one of `options` (the first is the default)."""
    raw = request.query.get(name, options[0])
    if raw not in options:
        raise BadParameter(f"{name} must be one of {', '.join(options)}; got {raw!r}")
    return raw
