"""The website to scrape: "Loopback News", a small news aggregator.

Deterministic HTML with the things real scrapers meet: a paginated front page,
article pages, a robots.txt with disallowed paths and a crawl delay, a few slow
pages and a few links that lead to 404.  Plain, semantic markup so BeautifulSoup
selectors in the lessons stay short.  The sections a real crawl meets (a wiki
with cycles and redirects, stories with awkward markup, a large page) are in
site_sections.py; the log of every request the site answered is in hitlog.py.
"""

from __future__ import annotations

import asyncio
import html
import math

from aiohttp import web

from helpers.services import data
from helpers.services import site_sections
from helpers.services.gauge import Gauge, gauge_middleware
from helpers.services.hitlog import HITS_PATH, HitLog, hit_log_middleware, hit_log_routes

SLOW_PAGE_DELAY = 0.3  # seconds; long enough to see on a timeline, short enough to keep lessons fast
CRAWL_DELAY = 0.1  # seconds between requests, as robots.txt asks
ROBOTS_TXT = (
    "# Loopback News welcomes polite crawlers.\n"
    "User-agent: *\n"
    f"Crawl-delay: {CRAWL_DELAY}\n"
    "Disallow: /admin/\n"
    "Disallow: /drafts/\n"
    f"Disallow: {HITS_PATH}\n"
)
N_PAGES = math.ceil(data.N_ARTICLES / data.ARTICLES_PER_PAGE)


def is_small_number(raw: str) -> bool:
    """ASCII digits only (str.isdigit also accepts '²'), and short enough to be a page or id."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 6


def page_html(title: str, body: str, status: int = 200) -> web.Response:
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)} | Loopback News</title></head>\n<body>\n"
        '<header><a class="home" href="/">Loopback News</a></header>\n'
        f"<main>\n{body}\n</main>\n</body>\n</html>\n"
    )
    return web.Response(text=doc, content_type="text/html", status=status)


def not_found(message: str) -> web.Response:
    return page_html("Not found", f'<h1>404 Not Found</h1>\n<p class="error">{html.escape(message)}</p>', status=404)


def story_row(rank: int, a: data.Article) -> str:
    return (
        f'<li class="story" id="story-{a.id}"><span class="rank">{rank}.</span> '
        f'<a class="title" href="{a.path}">{html.escape(a.title)}</a> '
        f'<span class="meta"><span class="points">{a.points} points</span> by '
        f'<a class="author" href="/user/{a.author}">{a.author}</a></span></li>'
    )


async def front_page(request: web.Request) -> web.Response:
    raw = request.query.get("page", "1")
    if not is_small_number(raw) or not 1 <= int(raw) <= N_PAGES:
        return not_found(f"page must be a whole number from 1 to {N_PAGES}, got {raw!r}")
    number = int(raw)
    first = (number - 1) * data.ARTICLES_PER_PAGE
    chunk = data.articles()[first : first + data.ARTICLES_PER_PAGE]
    rows = "\n".join(story_row(first + i + 1, a) for i, a in enumerate(chunk))
    more = f'<a class="more" rel="next" href="/?page={number + 1}">More</a>' if number < N_PAGES else ""
    body = f'<h1>Top stories, page {number}</h1>\n<ol class="stories" start="{first + 1}">\n{rows}\n</ol>\n<nav>{more}</nav>'
    return page_html(f"Top stories, page {number}", body)


async def article_page(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    a = data.article(int(raw)) if is_small_number(raw) else None
    if a is None or a.broken:
        return not_found(f"there is no article {raw} (this link is broken on purpose)")
    if a.slow:
        await asyncio.sleep(SLOW_PAGE_DELAY)
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in a.paragraphs)
    body = (
        f'<article id="article-{a.id}">\n<h1 class="headline">{html.escape(a.title)}</h1>\n'
        f'<p class="byline">by <a class="author" href="/user/{a.author}">{a.author}</a> · '
        f'<span class="points">{a.points} points</span></p>\n<div class="text">\n{paragraphs}\n</div>\n</article>'
    )
    return page_html(a.title, body)


async def user_page(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    mine = [a for a in data.articles() if a.author == name]
    if not any(u["username"] == name for u in data.users()):
        return not_found(f"there is no user {name!r}")
    rows = "\n".join(story_row(i + 1, a) for i, a in enumerate(mine))
    return page_html(name, f'<h1 class="user">{html.escape(name)}</h1>\n<ol class="stories">\n{rows}\n</ol>')


async def robots(request: web.Request) -> web.Response:
    return web.Response(text=ROBOTS_TXT, content_type="text/plain")


async def admin(request: web.Request) -> web.Response:
    body = '<h1>403 Forbidden</h1>\n<p class="error">robots.txt asks crawlers to stay out of /admin/.</p>'
    return page_html("Forbidden", body, status=403)


@web.middleware
async def html_not_found(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return not_found(f"nothing at {request.path}; start from the front page at /")
    except web.HTTPMethodNotAllowed:
        body = f'<h1>405 Method Not Allowed</h1>\n<p class="error">{html.escape(request.method)} is not allowed here; the site only answers GET.</p>'
        return page_html("Method not allowed", body, status=405)


def build_site_app(gauge: Gauge, hits: HitLog | None = None) -> web.Application:
    """The website as an aiohttp Application sharing `gauge` with the API, logging to `hits`."""
    hits = hits or HitLog()
    app = web.Application(middlewares=[hit_log_middleware(hits), gauge_middleware(gauge, skip_prefix=HITS_PATH), html_not_found])
    app.add_routes(
        [
            web.get("/", front_page),
            web.get("/article/{id}", article_page),
            web.get("/user/{name}", user_page),
            web.get("/robots.txt", robots),
            web.get("/admin/{tail:.*}", admin),
            *site_sections.routes(),
            *hit_log_routes(hits),
        ]
    )
    return app
