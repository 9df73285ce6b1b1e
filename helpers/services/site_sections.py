"""The parts of Loopback News a real crawl meets (notebook 10).

- /wiki/{seed}/        a small wiki generated from the seed: relative and absolute links,
                       links that differ only by #fragment or by query order, cycles, an old
                       address that redirects (301), broken links (404), a slow page, a large
                       digest page, a link to another host name, and links into /drafts/
                       (disallowed by robots.txt).  The five pages the index links first answer
                       after FRONT_DELAY, so they overlap and a per-host limit is visible.
- /drafts/{seed}/{k}   pages a polite crawler never fetches (robots.txt says Disallow).
- /story/{seed}/{k}    feature stories with the edge cases an extractor meets: no byline,
                       entities, nested inline markup, a related-links box, varied delays.
- /big?stories=N       one large listing page, to measure parsing as CPU work.

Everything is deterministic for a given seed (helpers/services/data.py).
"""

from __future__ import annotations

import asyncio
import html
import random

from aiohttp import web

from helpers.services import data

SLOW_WIKI_DELAY = 0.3  # seconds, for the one slow page of each wiki
FRONT_DELAY = 0.45  # seconds, for the pages the index links first: they overlap, so a per-host limit shows
DIGEST_ENTRIES = 150
BIG_DEFAULT, BIG_MAX = 2_000, 20_000
N_DRAFTS = 3
SORTS, ORDERS = ("title", "number"), ("asc", "desc")
ENTITIES = {"\u00e9": "&eacute;", "\u00ef": "&iuml;", "\u2019": "&#8217;", "\u201c": "&#8220;", "\u201d": "&#8221;", "\u00a9": "&copy;"}


def _page(title: str, body: str, status: int = 200, header: str = '<a class="home" href="/">Loopback News</a>') -> web.Response:
    doc = (
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(title)} | Loopback News</title></head>\n<body>\n"
        f'<header id="top">{header}</header>\n<main>\n{body}\n</main>\n</body>\n</html>\n'
    )
    return web.Response(text=doc, content_type="text/html", status=status)


def _error(status: int, heading: str, message: str) -> web.Response:
    return _page(heading, f'<h1>{status} {html.escape(heading)}</h1>\n<p class="error">{html.escape(message)}</p>', status=status)


def _redirect(location: str) -> web.Response:
    body = f'<h1>301 Moved Permanently</h1>\n<p class="error">This page moved to <a href="{location}">{location}</a>.</p>'
    response = _page("Moved", body, status=301)
    response.headers["Location"] = location
    return response


def _seed_or_error(request: web.Request) -> str | web.Response:
    seed = request.match_info["seed"]
    if not data.is_seed(seed):
        return _error(404, "Not found", f"a section seed is 1-32 lowercase letters, digits or dashes, got {seed!r}")
    return seed


def _number(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None


# --- the wiki ---------------------------------------------------------------------------------


def _wiki_header(seed: str) -> str:
    return f'<a class="home" href="/wiki/{seed}/">Loopback Wiki</a>'


def _page_href(request: web.Request, seed: str, source: int, target: int) -> str:
    """How page `source` writes its link to page `target`: many spellings, one address."""
    rng = random.Random(f"{seed}:{source}:{target}")
    here_is_index = source == 0
    if target == 0:
        return rng.choice([f"/wiki/{seed}/", "../", "../#top", f"http://{request.host}/wiki/{seed}/"]) if not here_is_index else "#top"
    relative = f"page/{target}" if here_is_index else f"{target}"
    return rng.choice(
        [
            relative,
            f"./{relative}",
            f"/wiki/{seed}/page/{target}",
            f"{relative}#section-2",
            f"http://{request.host}/wiki/{seed}/page/{target}",
        ]
    )


def _other_host(request: web.Request) -> str:
    """The same server under another host name: a different host to a crawler."""
    port = request.url.port
    return f"localhost:{port}" if not request.host.startswith("localhost") else f"127.0.0.1:{port}"


def _link_list(items: list[tuple[str, str]]) -> str:
    rows = "\n".join(f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>' for href, text in items)
    return f'<ul class="links">\n{rows}\n</ul>'


async def wiki_index(request: web.Request) -> web.Response:
    seed = _seed_or_error(request)
    if isinstance(seed, web.Response):
        return seed
    wiki = data.wiki(seed)
    children = [p for p in wiki.pages if p.number <= 3]
    items = [(_page_href(request, seed, 0, p.number), p.title) for p in children]
    items += [
        (f"old/{wiki.moved[0]}", f"{wiki.page(wiki.moved[0]).title} (old address)"),
        ("list?sort=title&order=asc", "All pages, A-Z"),
        ("digest", "Digest of every story"),
        (f"page/{wiki.broken[0]}", "A page that was deleted"),
        (f"/drafts/{seed}/1", "Drafts (editors only)"),
        (f"http://{_other_host(request)}/wiki/{seed}/", "This wiki on our mirror host"),
        ("mailto:editor@loopback.test", "Write to the editor"),
        ("#top", "Back to top"),
    ]
    body = f'<h1>Loopback Wiki: {html.escape(seed)}</h1>\n{_link_list(items)}'
    return _page(f"Wiki {seed}", body, header=_wiki_header(seed))


async def wiki_page(request: web.Request) -> web.Response:
    seed = _seed_or_error(request)
    if isinstance(seed, web.Response):
        return seed
    wiki = data.wiki(seed)
    number = _number(request.match_info["number"])
    page = wiki.page(number) if number is not None else None
    if page is None:
        return _error(404, "Not found", f"there is no wiki page {request.match_info['number']} in section {seed!r}; start from /wiki/{seed}/")
    if page.slow:
        await asyncio.sleep(SLOW_WIKI_DELAY)
    elif page.number <= 3:
        await asyncio.sleep(FRONT_DELAY)
    items = [(_page_href(request, seed, page.number, target), "home" if target == 0 else wiki.page(target).title) for target in page.links]
    if page.number == len(wiki.pages):
        items.append((f"../old/{wiki.moved[1]}", f"{wiki.page(wiki.moved[1]).title} (old address)"))
        items.append((f"{wiki.broken[1]}", "A page that never existed"))
    if page.number == 2:
        items.append((f"/drafts/{seed}/2", "Draft: next week"))
    if page.number in (1, 4):
        items.append(("../list?order=asc&sort=title", "All pages, A-Z"))
    items.append(("javascript:void(0)", "Print this page"))
    text = f'<p>{html.escape(page.title)} is page {page.number} of the {html.escape(seed)} wiki.</p>'
    body = f'<article id="wiki-{page.number}">\n<h1 class="headline">{html.escape(page.title)}</h1>\n{text}\n<h2 id="section-2">See also</h2>\n{_link_list(items)}\n</article>'
    return _page(page.title, body, header=_wiki_header(seed))


async def wiki_old(request: web.Request) -> web.Response:
    seed = _seed_or_error(request)
    if isinstance(seed, web.Response):
        return seed
    number = _number(request.match_info["number"])
    if number is None or data.wiki(seed).page(number) is None:
        return _error(404, "Not found", f"there is no old page {request.match_info['number']}; start from /wiki/{seed}/")
    return _redirect(f"/wiki/{seed}/page/{number}")


async def wiki_no_slash(request: web.Request) -> web.Response:
    seed = _seed_or_error(request)
    return seed if isinstance(seed, web.Response) else _redirect(f"/wiki/{seed}/")


async def wiki_list(request: web.Request) -> web.Response:
    seed = _seed_or_error(request)
    if isinstance(seed, web.Response):
        return seed
    sort, order = request.query.get("sort", "title"), request.query.get("order", "asc")
    if sort not in SORTS or order not in ORDERS:
        return _error(400, "Bad request", f"sort must be one of {SORTS} and order one of {ORDERS}, got sort={sort!r}, order={order!r}")
    await asyncio.sleep(FRONT_DELAY)
    pages = sorted(data.wiki(seed).pages, key=(lambda p: p.title) if sort == "title" else (lambda p: p.number), reverse=order == "desc")
    items = [(f"page/{p.number}", p.title) for p in pages]
    return _page(f"All pages of {seed}", f"<h1>All pages ({sort}, {order})</h1>\n{_link_list(items)}", header=_wiki_header(seed))


def _story_rows(count: int, link_prefix: str | None) -> str:
    """`count` listing rows with nested markup, deterministic; ~200 bytes each."""
    stories = data.articles()
    rows = []
    for i in range(count):
        a = stories[i % len(stories)]
        title = f'<a class="title" href="{link_prefix}{a.id}">{html.escape(a.title)}</a>' if link_prefix else html.escape(a.title)
        rows.append(
            f'<li class="story" id="item-{i + 1}"><span class="rank">{i + 1}.</span> {title} '
            f'<span class="meta"><span class="points">{a.points} points</span> by <b class="author">{a.author}</b></span></li>'
        )
    return "\n".join(rows)


async def wiki_digest(request: web.Request) -> web.Response:
    seed = _seed_or_error(request)
    if isinstance(seed, web.Response):
        return seed
    await asyncio.sleep(FRONT_DELAY)
    body = f'<h1>Digest</h1>\n<ol class="stories">\n{_story_rows(DIGEST_ENTRIES, None)}\n</ol>'
    return _page(f"Digest of {seed}", body, header=_wiki_header(seed))


async def draft(request: web.Request) -> web.Response:
    seed = _seed_or_error(request)
    if isinstance(seed, web.Response):
        return seed
    number = _number(request.match_info["number"])
    if number is None or not 1 <= number <= N_DRAFTS:
        return _error(404, "Not found", f"drafts are numbered 1 to {N_DRAFTS}")
    items = [(f"/wiki/{seed}/", "wiki home")] + ([(f"{number + 1}", "next draft")] if number < N_DRAFTS else [])
    body = f'<h1>Draft {number}</h1>\n<p class="error">Unpublished. robots.txt disallows /drafts/: crawlers should never be here.</p>\n{_link_list(items)}'
    return _page(f"Draft {number}", body, header=_wiki_header(seed))


# --- stories for the extraction exercise -----------------------------------------------------------


def _with_entities(text: str) -> str:
    out = html.escape(text, quote=True)
    for char, entity in ENTITIES.items():
        out = out.replace(char, entity)
    return out


def _marked_up(text: str, rng: random.Random) -> str:
    """The paragraph as HTML: entities, inline tags around some words, a line break in the source."""
    words = [_with_entities(w) for w in text.split(" ")]
    if len(words) > 6:
        i, j, k = rng.sample(range(len(words) - 1), 3)
        words[i] = f"<em>{words[i]}</em>"
        words[j] = f'<a href="/">{words[j]}</a>'
        words[k] = f"<strong><code>{words[k]}</code></strong>"
    cut = len(words) // 2
    return " ".join(words[:cut]) + "\n  " + " ".join(words[cut:])


def _story_html(story: data.Story) -> str:
    rng = random.Random(f"markup:{story.seed}:{story.number}")
    parts = [f'<h1 class="headline">\n  {_with_entities(story.title)}\n</h1>']
    if story.author is not None:
        points = "" if story.points is None else f' · <span class="points">{story.points:,} points</span>'
        parts.append(f'<p class="byline">by <a class="author" href="/user/{story.author}">{story.author}</a>{points}</p>')
    paragraphs = [f"<p>{_marked_up(p, rng)}</p>" for p in story.paragraphs]
    related = '<aside class="related"><p>Related: <a href="/">more stories on the front page</a></p></aside>'
    paragraphs.insert(1, related)  # a box inside the text: its <p> is not part of the story
    parts.append('<div class="text">\n' + "\n".join(paragraphs) + "\n</div>")
    return f'<article id="story-{story.number}">\n' + "\n".join(parts) + "\n</article>"


async def story_page(request: web.Request) -> web.Response:
    seed = _seed_or_error(request)
    if isinstance(seed, web.Response):
        return seed
    number = _number(request.match_info["number"])
    if number is None or not 1 <= number <= data.N_STORIES:
        return _error(404, "Not found", f"stories are numbered 1 to {data.N_STORIES}; see /story/{seed}/")
    story = data.stories(seed)[number - 1]
    if story.delay:
        await asyncio.sleep(story.delay)
    if story.missing:
        return _error(404, "Not found", f"story {number} of {seed!r} was taken down (this link is broken on purpose)")
    return _page(story.title, _story_html(story))


async def story_index(request: web.Request) -> web.Response:
    seed = _seed_or_error(request)
    if isinstance(seed, web.Response):
        return seed
    items = [(f"{s.number}", s.title) for s in data.stories(seed)]
    return _page(f"Stories of {seed}", f"<h1>Stories</h1>\n{_link_list(items)}")


# --- one large page ---------------------------------------------------------------------------------


async def big_page(request: web.Request) -> web.Response:
    raw = request.query.get("stories", str(BIG_DEFAULT))
    count = _number(raw)
    if count is None or not 1 <= count <= BIG_MAX:
        return _error(400, "Bad request", f"stories must be a whole number from 1 to {BIG_MAX}, got {raw!r}; try /big?stories={BIG_DEFAULT}")
    body = f'<h1>Every story, {count} rows</h1>\n<ol class="stories">\n{_story_rows(count, "/article/")}\n</ol>'
    return _page(f"{count} stories", body)


def routes() -> list[web.RouteDef]:
    return [
        web.get("/wiki/{seed}", wiki_no_slash),
        web.get("/wiki/{seed}/", wiki_index),
        web.get("/wiki/{seed}/page/{number}", wiki_page),
        web.get("/wiki/{seed}/old/{number}", wiki_old),
        web.get("/wiki/{seed}/list", wiki_list),
        web.get("/wiki/{seed}/digest", wiki_digest),
        web.get("/drafts/{seed}/{number}", draft),
        web.get("/story/{seed}/", story_index),
        web.get("/story/{seed}/{number}", story_page),
        web.get("/big", big_page),
    ]
