"""Checker for notebook 00's exercise."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from helpers.checks import NotAttempted, Result, expect, is_stub, run_check
from helpers.lab import Lab
from helpers.services import data

USER_IDS = (3, 1, 2, 5)
DELAY = 0.3


async def check_0_1(fetch_names: Callable[[httpx.AsyncClient, list[str]], Awaitable[list[str]]], lab: Lab) -> Result:
    """fetch_names(client, urls) must fetch all URLs at once and return the names in input order."""
    urls = [lab.url(f"/users/{i}?delay={DELAY}") for i in USER_IDS]
    expected = [data.users()[i - 1]["name"] for i in USER_IDS]

    async def attempt() -> list[str]:
        if is_stub(fetch_names):
            raise NotAttempted
        lab.reset_gauge()
        async with httpx.AsyncClient() as client:
            return await fetch_names(client, urls)

    def verify(names: object) -> str:
        expect(names is not None, "fetch_names returned None: did you forget `return`?")
        expect(isinstance(names, list), f"return a list of names, got {type(names).__name__}")
        expect(len(names) == len(urls), f"expected {len(urls)} names (one per URL), got {len(names)}")
        expect(names == expected, f"expected {expected} in this order, got {names}; gather returns results in the order of its arguments")
        peak = lab.gauge().peak
        expect(peak >= len(urls), f"the server saw at most {peak} request(s) at once: the requests ran one after another. Start them together with asyncio.gather")
        return f"{len(names)} names in input order, and the server saw all {peak} requests at once"

    return await run_check("0.1", attempt, verify)
