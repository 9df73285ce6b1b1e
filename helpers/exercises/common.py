"""Verdicts shared by the checkers of notebooks 00-04.

Each function raises ``Wrong`` with one sentence a learner can act on, for a
class of wrong answer that several exercises meet: a Response returned where
the JSON is asked for (course policy: reject it), an un-awaited coroutine,
results in completion order instead of input order.
"""

from __future__ import annotations

import asyncio
import inspect
import random

import httpx

from helpers.checks import Wrong

RESPONSE_HINT = "return response.json(), not the Response"


def short(value: object, width: int = 90) -> str:
    """repr(value), cut to `width` characters so a hint stays one readable line."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def is_response(value: object) -> bool:
    if isinstance(value, httpx.Response):
        return True
    try:
        import aiohttp
    except ImportError:  # pragma: no cover - aiohttp is a course requirement
        return False
    return isinstance(value, aiohttp.ClientResponse)


def reject_response(value: object, name: str) -> None:
    """A Response (or a list holding them) where JSON is asked for is wrong, whatever it contains."""
    items = value if isinstance(value, (list, tuple)) else [value]
    if any(is_response(v) for v in items):
        raise Wrong(f"{name} returned a Response object where the JSON body was asked for: "
                    f"{RESPONSE_HINT}")


def defuse(value: object) -> object:
    """Stop an un-awaited coroutine or future the learner returned (or a list of them), quietly.

    Call it right after the learner's function returns, before the checker closes its client:
    a coroutine is closed (no "never awaited" warning), a task or gather() future is cancelled
    and its outcome retrieved (no "exception was never retrieved").  Returns `value` unchanged.
    """
    items = value if isinstance(value, (list, tuple)) else [value]
    for v in items:
        if inspect.iscoroutine(v):
            v.close()
        elif isinstance(v, asyncio.Future):
            v.cancel()
            v.add_done_callback(lambda f: f.cancelled() or f.exception())
    return value


def reject_awaitable(value: object, name: str) -> None:
    items = value if isinstance(value, (list, tuple)) else [value]
    if any(inspect.isawaitable(v) for v in items):
        defuse(value)
        raise Wrong(
            f"{name} returned an un-awaited coroutine or task instead of the results: "
            "`await` it (e.g. `await asyncio.gather(...)`) before returning"
        )


def check_order(got: list, expected: list, what: str) -> None:
    """Right items in the wrong order: almost always completion order taken for input order."""
    if got == expected:
        return
    try:
        same_items = sorted(map(repr, got)) == sorted(map(repr, expected))
    except TypeError:
        same_items = False
    if same_items:
        raise Wrong(
            f"the right {what} in the wrong order: expected {short(expected)}, got {short(got)}. "
            "The check's requests finish in a different order than they start, and your list "
            "follows the finishing order; asyncio.gather returns results in the order of its "
            "arguments (as_completed, or appending as they finish, does not)"
        )


def late_first(delays: list[float], margin: float) -> bool:
    """Does the first item finish at least `margin` seconds after the fastest one?

    Then an answer that lists results as they finish puts another item first, even when a busy
    machine shifts each finish by up to margin / 2: completion order != input order, every draw.
    """
    return len(delays) >= 2 and delays[0] - min(delays) >= margin - 1e-9


def shuffled_delays(count: int, step: float, rng: random.Random) -> list[float]:
    """`count` distinct delays (step, 2*step, ...) in a random order whose first delay is at least
    two steps (one if count == 2) longer than the shortest: finishing order differs from input
    order by a margin a loaded machine cannot erase (a swap of two neighbours 1 step apart could)."""
    delays = [round(step * (i + 1), 3) for i in range(count)]
    margin = step * min(2, count - 1)
    while True:
        rng.shuffle(delays)
        if late_first(delays, margin):
            return list(delays)
