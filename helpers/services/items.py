"""Bulk data for notebook 09 (and the capstone): a paginated collection, a big body, a CPU clock.

/items is a deterministic collection whose size is a parameter, served page by
page with an opaque cursor and an absolute `next` link, so a client can pull
10 000+ items in a handful of requests.  /big streams megabytes of NDJSON so a
lesson can compare reading a body whole with streaming it.  /cpu reports the
service process's own CPU time, from which a lesson computes the service's
capacity (requests per CPU second) independently of any client.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Iterator

from aiohttp import web

from helpers.services.validate import BadRequest, integer

MAX_TOTAL = 100_000
MAX_LIMIT = 1_000
DEFAULT_TOTAL, DEFAULT_LIMIT = 1_000, 100
MAX_MEGABYTES = 50
CHUNK = 64 * 1024
MAX_SEED = 10**9
PAD = "x" * 80  # makes each /big line about 100 bytes

ENDPOINTS = {
    "GET /items?total=N&limit=L&seed=S": "a deterministic collection of N items (<= 100000), L per page (<= 1000); follow the `next` URL",
    "GET /big/{megabytes}": "about that many MB (1-50) of newline-delimited JSON, sent lazily in 64 KiB chunks",
    "GET /cpu": "CPU seconds the service process has used so far (for measuring its capacity)",
}


def make_item(i: int, seed: int) -> dict:
    """Item number i of the collection for `seed`: cheap, and the same on every run."""
    return {"id": i, "name": f"item-{i:06d}", "value": (i * 2654435761 + seed * 40503) % 1000}


def encode_cursor(seed: int, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{seed}:{offset}".encode()).decode().rstrip("=")


def decode_cursor(raw: str, seed: int, total: int) -> int:
    """The offset inside a cursor; a 400 if it was not made by this collection."""
    hint = "cursor must be copied from a previous page's `next` URL (leave it out for the first page)"
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        cursor_seed, offset = (int(part) for part in text.split(":"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(f"{hint}; {raw!r} is not a cursor") from None
    if cursor_seed != seed or not 0 <= offset < total:
        raise BadRequest(f"{hint}; {raw!r} belongs to another collection (same total and seed needed)")
    return offset


async def items(request: web.Request) -> web.Response:
    total = integer(request, "total", DEFAULT_TOTAL, low=0, high=MAX_TOTAL)
    limit = integer(request, "limit", DEFAULT_LIMIT, low=1, high=MAX_LIMIT)
    seed = integer(request, "seed", 0, low=0, high=MAX_SEED)
    cursor = request.query.get("cursor")
    offset = 0 if cursor is None else decode_cursor(cursor, seed, total)
    end = min(offset + limit, total)
    page = [make_item(i, seed) for i in range(offset + 1, end + 1)]
    next_url = None
    if end < total:
        query = {"total": total, "limit": limit, "seed": seed, "cursor": encode_cursor(seed, end)}
        next_url = str(request.url.with_query(query))
    return web.json_response({"items": page, "next": next_url, "total": total})


def big_chunks(megabytes: int) -> Iterator[bytes]:
    """The /big body as chunks of whole lines, about CHUNK bytes each, made one at a time.

    Lazily: a burst of /big/50 requests must not hold 50 MB per request in the server.
    """
    target = megabytes * 1_000_000
    sent, i = 0, 0
    while sent < target:
        lines, size = [], 0
        while size < CHUNK and sent + size < target:
            line = f'{{"line": {i}, "payload": "{PAD}"}}\n'.encode()
            lines.append(line)
            size += len(line)
            i += 1
        sent += size
        yield b"".join(lines)


async def big(request: web.Request) -> web.StreamResponse:
    raw = request.match_info["megabytes"]
    try:
        megabytes = int(raw)
    except ValueError:
        raise BadRequest(f"megabytes must be a whole number from 1 to {MAX_MEGABYTES}, got {raw!r}") from None
    if not 1 <= megabytes <= MAX_MEGABYTES:
        raise BadRequest(f"megabytes must be from 1 to {MAX_MEGABYTES}, got {raw!r}")
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    response.enable_chunked_encoding()  # the size is known only at the end
    await response.prepare(request)
    for chunk in big_chunks(megabytes):
        await response.write(chunk)
    await response.write_eof()
    return response


async def cpu(request: web.Request) -> web.Response:
    return web.json_response({"cpu_seconds": time.process_time()})


def install(app: web.Application) -> None:
    """Register this module's routes on the API app."""
    app.add_routes([web.get("/items", items), web.get("/big/{megabytes}", big), web.get("/cpu", cpu)])
