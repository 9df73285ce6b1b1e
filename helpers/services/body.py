"""Read a request body the way a patient teacher would: every malformed body gets a 4xx that says why.

aiohttp's ``request.text()`` and ``request.json()`` raise on bad input (invalid UTF-8, an unknown
charset, a gzip header on a plain body, JSON nested 100,000 deep, a 5,000-digit number) and the
handler would answer 500; a body shorter than its Content-Length would be waited for forever.
These functions turn each of those into a JSON 4xx naming what to send instead:

=====================================  ======  ==============================================
what arrived                           status  why
=====================================  ======  ==============================================
fewer bytes than Content-Length        408     body not complete after ``BODY_TIMEOUT`` s
more than 1 MiB (client_max_size)      413     the course never needs big uploads
broken Content-Encoding / chunking     400     the bytes cannot be unpacked
a charset Python cannot decode text in 415     say ``charset=utf-8`` or none
bytes that are not in that charset     400     names the first bad byte's position
JSON too deep / number too long        400     Python's parser gives up; send plainer JSON
NaN / Infinity in the JSON             400     not JSON; the echo would not be JSON either
=====================================  ======  ==============================================
"""

from __future__ import annotations

import asyncio
import codecs
import json
import re

from aiohttp import web
from aiohttp.http_exceptions import DecompressSizeError, HttpProcessingError

BODY_TIMEOUT = 5.0  # seconds without the rest of the body: the client promised bytes it never sent


class BadBody(web.HTTPClientError):
    """A JSON 4xx for a body the server cannot use; the message says what to send instead."""

    def __init__(self, status: int, message: str) -> None:
        self.status_code = status  # HTTPException reads the class attribute; set it per instance
        super().__init__(text=json.dumps({"error": message}), content_type="application/json")


async def read_bytes(request: web.Request, timeout: float = BODY_TIMEOUT) -> bytes:
    """The whole body, or a 408/413/400 that explains what went wrong."""
    try:
        async with asyncio.timeout(timeout):
            return await request.read()
    except TimeoutError:
        raise _closing(BadBody(408, (
            f"the body stopped arriving: it was not complete after {timeout:g} s. Send the whole body "
            "you announced (exactly Content-Length bytes, or every chunk); let your HTTP client set the headers"
        ))) from None
    except web.HTTPRequestEntityTooLarge:
        raise _closing(BadBody(413, f"the body is larger than {request.client_max_size} bytes; send less")) from None
    except DecompressSizeError:
        raise _closing(BadBody(413, "the body unpacks to more than the server accepts; send less")) from None
    except (HttpProcessingError, web.RequestPayloadError) as exc:
        encoding = request.headers.get("Content-Encoding", "")
        what = f"Content-Encoding: {encoding[:40]}" if encoding else "the chunked transfer encoding"
        detail = re.sub(r"^\d{3}, message: ", "", " ".join(str(exc).split()))[:120]
        raise _closing(BadBody(400, (
            f"the body could not be unpacked ({what}): {detail}. "
            "Send the body as it is, without a Content-Encoding header, or really compress it"
        ))) from None


def decode(request: web.Request, raw: bytes) -> str:
    """The body as text in its declared charset (UTF-8 if none), or a 415/400 that says why not."""
    charset = request.charset or "utf-8"
    unknown = BadBody(415, f"unknown charset {charset[:40]!r} in Content-Type; send UTF-8 and say charset=utf-8 (or no charset)")
    try:
        codecs.lookup(charset)
    except LookupError:
        raise unknown from None
    try:
        return raw.decode(charset)
    except LookupError:  # a codec that is not a text encoding: rot13, base64_codec, zlib, ...
        raise unknown from None
    except UnicodeDecodeError as exc:
        raise BadBody(400, (
            f"the body is not valid {charset} text (bad byte at position {exc.start}); "
            "send UTF-8 text, or declare the charset it is really in"
        )) from None
    except (UnicodeError, ValueError) as exc:  # e.g. a codec that refuses this input outright
        raise BadBody(400, f"the body could not be read as {charset} ({exc}); send UTF-8 text") from None


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> object | None:
    """The JSON value of `text`; None if it is not JSON at all; a 400 if JSON gives up on it."""
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError:
        return None  # not JSON: a plain body, echoed as text
    except RecursionError:
        raise BadBody(400, "the JSON body is nested too deeply for Python's json module; send flatter JSON") from None
    except ValueError as exc:
        if "is not JSON" in str(exc):
            raise BadBody(400, f"{exc}: JSON has no NaN or Infinity; send a number or null") from None
        raise BadBody(400, f"the JSON body has a number Python refuses to read ({exc}); send shorter numbers") from None


def _closing(exc: web.HTTPException) -> web.HTTPException:
    """Close the connection after this answer: the rest of the body may still be on its way."""
    exc.headers["Connection"] = "close"
    return exc
