"""Checkers for notebook 10 (scraping with aiohttp and BeautifulSoup).

Both exercises run on site sections generated from a seed chosen per check, so no
answer can be looked up in advance, and both are judged by what the website's
request log saw (helpers/scrape_log.py), not by what the learner's code says.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import statistics
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit, urlunsplit

import aiohttp
from bs4 import BeautifulSoup

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.lab import Lab
from helpers.scrape_log import SiteLog, SiteLogError, reset_site_log, site_log
from helpers.services import data, site_sections
from helpers.services.site import CRAWL_DELAY
from helpers.services.site_sections import FRONT_DELAY
from helpers.timing import LoopLagMonitor

RUN_LIMIT = 20.0  # seconds a crawl may run (a right answer needs 3-7 s on a busy machine)
RUN_LIMIT_10_1 = 10.0  # seconds for the eight stories (a right answer needs well under 1 s)
GRACE = 2.0  # seconds given to code that was cancelled to actually stop


def _describe(value: object) -> str:
    if inspect.iscoroutine(value):
        return "a coroutine (a missing `await`?)"
    return f"{type(value).__name__} {value!r:.60}"


async def _run_bounded(make: Callable[[], Any], seconds: float, what: str) -> Any:
    """Run the learner's call in its own task; never wait for it longer than `seconds` (+ GRACE)."""

    async def call() -> Any:
        value = make()
        return await value if inspect.isawaitable(value) else value

    task = asyncio.ensure_future(call())
    try:
        done, _ = await asyncio.wait([task], timeout=seconds)
    except asyncio.CancelledError:  # the cell was interrupted: stop the learner's code too
        task.cancel()
        raise
    if not done:
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=GRACE)
        ignored = "" if done else " (and it ignored cancellation: does it catch CancelledError and carry on?)"
        raise Wrong(f"your code was still running after {seconds:g} s{ignored}; {what}")
    return task.result()


def _leaf(exc: BaseException) -> BaseException:
    """The first real error inside (nested) ExceptionGroups, e.g. from a TaskGroup."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _raised(exc: BaseException, hints: dict[type, str]) -> str:
    """One sentence for an exception the learner's code raised, with a hint for the likely cause."""
    leaf = _leaf(exc)
    where = " (inside a TaskGroup)" if leaf is not exc else ""
    said = f"your code raised {type(leaf).__name__}{where}: {leaf}"
    for kind, hint in hints.items():
        if isinstance(leaf, kind):
            return f"{said}. {hint}"
    return said


HINTS_10_1: dict[type, str] = {
    AttributeError: "select_one() returns None when a page lacks the element (some stories have no byline or points; a 404 page has no headline): check resp.status and test for None",
    ValueError: "Points are written like '1,234 points': drop ' points' and the ',' before int()",
    aiohttp.ClientResponseError: "One page answers 404 on purpose: check resp.status and return None for it instead of raising",
}
HINTS_10_2: dict[type, str] = {
    aiohttp.ClientResponseError: "Some links are broken on purpose (404): record them and carry on, do not raise (no raise_for_status() in a crawler)",
    aiohttp.ClientError: "Catch aiohttp.ClientError per request and carry on: one bad URL must not end the crawl",
}


def _guarded(verify: Callable[[Any], str]) -> Callable[[Any], str]:
    """A bug in this checker must not read as a mistake in the learner's answer."""

    def run(value: Any) -> str:
        try:
            return verify(value)
        except (Wrong, NotAttempted):
            raise
        except Exception as exc:
            raise Wrong(f"the checker itself failed ({type(exc).__name__}: {exc}); that is a bug in the course, not in your answer. Please report it") from None

    return run


async def _site_log(lab: Lab, reset: bool = False) -> SiteLog | None:
    """Read (or reset) the site's request log; a failure to do so is never the learner's fault."""
    try:
        if reset:
            reset_site_log(lab)
            return None
        return site_log(lab)
    except SiteLogError as exc:
        raise Wrong(f"the checker could not read the website's request log ({exc}); this is not about your answer") from None


def _frozen_seconds(samples: list, floor: float) -> float:
    """How long, in all, the loop woke late by more than `floor` (load noise stays under it)."""
    return sum(s.lag for s in samples if s.lag > floor)


def _warm_up_parsers() -> None:
    """Pay one-time costs (importing lxml and soupsieve, compiling selectors) before the loop is watched."""
    for parser in ("html.parser", "lxml"):
        BeautifulSoup('<div class="text"><p class="byline">x</p></div>', parser).select("div.text > p.byline")


def _norm_text(value: object) -> object:
    return " ".join(value.split()) if isinstance(value, str) else value


# --- Exercise 10.1: scrape feature stories ----------------------------------------------------------------

# seconds the loop may be late in total, counting only stalls over FROZEN_FLOOR_10_1: parsing eight
# small pages inline costs a few ms each (tens on a loaded machine), while fetching them with a
# blocking client freezes the loop for the pages' delays, >= 1.0 s in all
MAX_FROZEN_10_1 = 0.35
FROZEN_FLOOR_10_1 = 0.05


def _expected_story(story: data.Story) -> dict | None:
    if story.missing:
        return None
    return {"title": story.title, "author": story.author, "points": story.points, "paragraphs": list(story.paragraphs)}


def _check_story(got: object, want: dict, url: str) -> None:
    where = f"for {url.split('/story/')[-1]!r}"
    if isinstance(got, aiohttp.ClientResponse):
        raise Wrong(f"you returned the Response {where}: return the extracted dict (parse `await resp.text()`), not the Response")
    expect(isinstance(got, dict), f"each result should be a dict (or None for a missing page), got {_describe(got)} {where}")
    missing_keys = {"title", "author", "points", "paragraphs"} - set(got)
    expect(not missing_keys, f"the dict {where} has no key(s) {sorted(missing_keys)}: return title, author, points and paragraphs")
    title = _norm_text(got["title"])
    expect(isinstance(title, str), f"title {where} should be a string, got {_describe(got['title'])}")
    expect("Loopback News" not in title, f"title {where} is {title!r}: that is the page's <title>; take the text of h1.headline")
    expect(not any(e in title for e in ("&amp;", "&lt;", "&gt;", "&eacute;", "&#")), f"title {where} is {title!r}: entities are still encoded; let BeautifulSoup decode them (get_text())")
    expect(title == want["title"], f"title {where} should be {want['title']!r}, got {title!r}: the text of h1.headline, all of it")
    if want["author"] is None:
        expect(got["author"] is None, f"story {where} has no byline, so author should be None, got {_describe(got['author'])}")
    else:
        expect(_norm_text(got["author"]) == want["author"], f"author {where} should be {want['author']!r}, got {_describe(got['author'])}: the text of p.byline a.author")
    points = got["points"]
    if want["points"] is None:
        expect(points is None, f"story {where} shows no points, so points should be None, got {_describe(points)}")
    else:
        expect(not isinstance(points, str), f"points {where} should be an int, got the string {points!r}: take the number out of it (drop ' points' and the thousands separator ',')")
        expect(isinstance(points, int) and not isinstance(points, bool), f"points {where} should be an int, got {_describe(points)}")
        expect(points == want["points"], f"points {where} should be {want['points']}, got {points}: '{want['points']:,} points' is {want['points']}")
    paragraphs = got["paragraphs"]
    expect(isinstance(paragraphs, list), f"paragraphs {where} should be a list of strings, got {_describe(paragraphs)}")
    expect(None not in paragraphs, f"some paragraphs {where} are None: p.string is None when a paragraph holds inline tags (<em>, <code>); use p.get_text()")
    expect(all(isinstance(p, str) for p in paragraphs), f"paragraphs {where} should be strings, got {[_describe(p) for p in paragraphs][:2]}")
    texts = [_norm_text(p) for p in paragraphs]
    expect(not any(t.startswith("Related:") for t in texts), f"paragraphs {where} include the 'Related' box: take only the <p> elements directly inside div.text (CSS 'div.text > p')")
    marked = [t for t in texts if any(m in t for m in ("&amp;", "&lt;", "&eacute;", "&#", "<em>", "<code>", "<a "))]
    if marked:
        raise Wrong(f"paragraphs {where} still contain HTML ({marked[0][:60]!r}...): use get_text(), which decodes entities and drops the tags")
    expect(len(texts) == len(want["paragraphs"]), f"story {where} has {len(want['paragraphs'])} paragraphs in div.text, you returned {len(texts)}")
    for i, (mine, theirs) in enumerate(zip(texts, want["paragraphs"])):
        expect(mine == theirs, f"paragraph {i + 1} {where} should read {theirs[:50]!r}..., got {mine[:50]!r}...: the whole text of the <p>, inline tags included")


def _discriminating_stories(seed: str) -> bool:
    """Do the stories of `seed` that answer 200 show a score below 1,000 AND one of 1,000 or more?

    '1,234 points' catches int(text.split()[0]) (data.stories guarantees one); '999 points'
    catches a parser that only handles a thousands separator (about 1 seed in 4 had none).
    """
    shown = [s.points for s in data.stories(seed) if not s.missing and s.points is not None]
    return any(p < 1000 for p in shown) and any(p >= 1000 for p in shown)


def story_seed(rng: random.Random) -> str:
    """A fresh story seed nobody can predict, drawn until every edge case of 10.1 is on its pages."""
    while True:
        seed = f"ex101-{rng.getrandbits(32):08x}"
        if _discriminating_stories(seed):
            return seed


async def check_10_1(scrape_stories: Callable[[aiohttp.ClientSession, list[str]], Awaitable[list]], lab: Lab) -> Result:
    """scrape_stories(session, urls) -> one dict per story (None for a 404), in input order, fetched at once."""
    rng = random.Random()
    seed = story_seed(rng)
    order = rng.sample(range(1, data.N_STORIES + 1), data.N_STORIES)
    stories = data.stories(seed)
    urls = [f"{lab.site}/story/{seed}/{k}" for k in order]
    expected = [_expected_story(stories[k - 1]) for k in order]

    async def attempt() -> tuple[object, SiteLog, float]:
        if is_stub(scrape_stories):
            raise NotAttempted
        _warm_up_parsers()
        await _site_log(lab, reset=True)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session, LoopLagMonitor() as lag:
            try:
                results = await _run_bounded(lambda: scrape_stories(session, list(urls)), RUN_LIMIT_10_1, "the pages answer within 0.3 s; is something awaited that never finishes?")
            except Wrong:
                raise
            except Exception as exc:
                raise Wrong(_raised(exc, HINTS_10_1)) from None
        return results, await _site_log(lab), _frozen_seconds(lag.samples, FROZEN_FLOOR_10_1)

    def verify(outcome: tuple[object, SiteLog, float]) -> str:
        results, log, frozen = outcome
        expect(results is not None, "scrape_stories returned None: did you forget `return`?")
        if isinstance(results, aiohttp.ClientResponse):
            raise Wrong("you returned a Response: return a list with one extracted dict per URL")
        expect(isinstance(results, (list, tuple)), f"return a list (one result per URL), got {_describe(results)}")
        expect(len(results) == len(urls), f"expected {len(urls)} results (one per URL), got {len(results)}")
        if any(isinstance(r, aiohttp.ClientResponse) for r in results):
            raise Wrong("you returned Response objects: return the extracted dict for each page (parse `await resp.text()`), not the Response")
        titles = [_norm_text(r.get("title")) if isinstance(r, dict) else None for r in results]
        wanted = [w["title"] if w else None for w in expected]
        if sorted(map(str, titles)) == sorted(map(str, wanted)) and titles != wanted:
            raise Wrong("the stories are not in the order of `urls` (the pages answer after different delays): gather, or tasks read in the order you created them, keep input order; as_completed does not")
        for got, want, url in zip(results, expected, urls):
            if want is None:
                expect(got is None, f"{url.split('/story/')[-1]!r} answered 404 (a broken link), so its result should be None; check resp.status before parsing")
        for got, want, url in zip(results, expected, urls):
            if want is not None:
                expect(got is not None, f"you returned None for {url.split('/story/')[-1]!r}, which answered 200 with a story")
        for got, want, url in zip(results, expected, urls):
            if want is not None:
                _check_story(got, want, url)
        hits = log.under(f"/story/{seed}/")
        expect(len({h["path"] for h in hits}) == len(urls), f"the server saw requests for {len({h['path'] for h in hits})} of the {len(urls)} story pages; fetch every URL you were given")
        expect(log.peak() >= 3, f"the server never had more than {log.peak()} of your requests at once: start them all together (gather or a TaskGroup), then await the results")
        expect(frozen < MAX_FROZEN_10_1, f"the event loop froze for {frozen:.2f} s in all while your code ran: a blocking call (time.sleep, requests.get, urllib) inside a coroutine; await the async versions instead")
        return "one result per URL in input order (the broken link as None); titles, bylines, points and paragraphs right; the requests overlapped at the server"

    return await run_check("10.1", attempt, _guarded(verify), timeout=RUN_LIMIT_10_1 + GRACE + 10)


# --- Exercise 10.2: a polite crawler --------------------------------------------------------------------------

MAX_CLOSE_FRACTION = 0.2  # share of gaps allowed under half the crawl delay (a busy machine bunches a few)
FROZEN = 0.05  # a heartbeat later than this counts as the loop being blocked
MAX_FROZEN = 1.0  # seconds in all: parsing inline costs far less; time.sleep(delay) per request about 2 s


def _canonical(url: str, base: str) -> str:
    plain, _ = urldefrag(urljoin(base, url))
    parts = urlsplit(plain)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", query, ""))


class _AnyHost:
    """Stands in for a request when only the choice of a link's spelling matters (not its host)."""

    host = "127.0.0.1:1"


def fragment_twin(seed: str) -> bool:
    """Is some wiki page linked both with and without a #fragment (after urljoin), apart from
    the index's own '#top'?  Then a crawler that does not drop fragments fetches it twice even if
    it skips hrefs that are only '#...': about 1 seed in 400 had no such page."""
    wiki = data.wiki(seed)
    base = f"http://{_AnyHost.host}/wiki/{seed}/"
    spellings: dict[str, set[str]] = {base: {base}}
    sources = [(base, 0, [p.number for p in wiki.pages if p.number <= 3])]
    sources += [(f"{base}page/{p.number}", p.number, list(p.links)) for p in wiki.pages]
    for url, number, targets in sources:
        for target in targets:
            full = urljoin(url, site_sections._page_href(_AnyHost, seed, number, target))
            spellings.setdefault(urldefrag(full)[0], set()).add(full)
    return any(any("#" in u for u in group) and any("#" not in u for u in group) for group in spellings.values())


def wiki_seed(rng: random.Random) -> tuple[str, str]:
    """(token, seed) for 10.2: fresh and unpredictable, drawn until fragment_twin holds."""
    while True:
        token = f"{rng.getrandbits(32):08x}"
        if fragment_twin(f"ex102-{token}"):
            return token, f"ex102-{token}"


CRAWL_LIMITS = (3, 1)  # max_per_host of the two crawls, in order: no fixed number obeys 1 AND reaches 3


def crawl_plans(rng: random.Random) -> list[tuple[str, str, int]]:
    """Two crawls, (token, seed, max_per_host) each, on different fresh wikis, limits 3 then 1.

    One crawl with a limit drawn from {2, 3}, judged only by "at most", let a hard-coded
    limit_per_host=2 pass every time.  Now a fixed number either exceeds 1 or stays below 3; the
    index's five front pages take FRONT_DELAY = 0.45 s, so three starts 0.1 s apart overlap and a
    crawler that uses the limit reaches it.  The fixed order keeps the hints the same every run:
    a hard-coded 2 (or one request at a time) hears "use the max_per_host you are given".
    """
    plans: list[tuple[str, str, int]] = []
    for limit in CRAWL_LIMITS:
        token, seed = wiki_seed(rng)
        while any(token[:4] == other[:4] for other, _, _ in plans):  # distinct User-Agents too
            token, seed = wiki_seed(rng)
        plans.append((token, seed, limit))
    return plans


def _user_agent(token: str) -> str:
    """The User-Agent a crawl must send: unique per crawl, so the log shows whose requests it saw."""
    return f"PoliteBot-{token[:4]}/1.0 (+mailto:learner@example.test)"


def expected_wiki_paths(seed: str) -> set[str]:
    """Every page of the wiki `seed` that answers 200, as canonical paths."""
    wiki = data.wiki(seed)
    pages = {f"/wiki/{seed}/page/{p.number}" for p in wiki.pages}
    return pages | {f"/wiki/{seed}/", f"/wiki/{seed}/list?order=asc&sort=title", f"/wiki/{seed}/digest"}


def _followed_redirects(log: SiteLog, seed: str) -> set[str]:
    """Pages fetched right after their old address answered 301: the client followed it itself.

    A crawler that enqueues the Location waits for its pacer (the crawl delay) before the next
    request; aiohttp following a redirect asks for the new address at once.
    """
    followed = set()
    for k in data.wiki(seed).moved:
        old, new = f"/wiki/{seed}/old/{k}", f"/wiki/{seed}/page/{k}"
        moves = [h["end"] for h in log.hits if h["path"] == old and h["status"] == 301 and h["end"] is not None]
        if any(0 <= h["start"] - end < CRAWL_DELAY / 2 for h in log.hits if h["path"] == new for end in moves):
            followed.add(new)
    return followed


def _check_uses_limit(log: SiteLog, max_per_host: int) -> None:
    """A crawler that uses max_per_host reaches it: the wiki's first pages overlap for FRONT_DELAY."""
    peak = log.peak()
    expect(
        peak >= max_per_host,
        f"with max_per_host={max_per_host} the server never had more than {peak} of your requests at once, though the wiki's first pages take {FRONT_DELAY:g} s each: use the max_per_host you are given (TCPConnector(limit_per_host=max_per_host), Semaphore(max_per_host) or that many workers), not a fixed number, and hold the pacer's lock only while waiting for your turn, not for the whole request",
    )


def _check_politeness(log: SiteLog, seed: str, user_agent: str, max_per_host: int, host: str, frozen: float) -> None:
    hits = log.hits
    expect(hits, "the server saw no request at all: did polite_crawl fetch anything?")
    agents = sorted({h["user_agent"] for h in hits} - {user_agent})
    if any(a.startswith("Python-urllib") for a in agents):
        raise Wrong("robots.txt was fetched by urllib (User-Agent 'Python-urllib'): RobotFileParser.read() downloads with blocking urllib and without your User-Agent; fetch robots.txt with your session and pass the text to robots.parse(text.splitlines())")
    if agents:
        raise Wrong(f"the server saw User-Agent {agents[0]!r}, not the user_agent you were given: pass headers={{'User-Agent': user_agent}} to the ClientSession (robots.txt request included)")
    first = hits[0]["path"]
    expect(any(h["path"] == "/robots.txt" for h in hits), "the server never saw a request for /robots.txt: fetch it first and obey it")
    expect(first == "/robots.txt", f"the first request was {first}, before /robots.txt: read robots.txt before fetching any page")
    other = sorted({h["host"] for h in hits} - {host})
    if other:
        raise Wrong(f"you fetched from host {other[0]!r}, not {host!r}: keep only links whose urlsplit(url).netloc equals the start URL's")
    drafts = [h["path"] for h in hits if h["path"].startswith("/drafts/")]
    if drafts:
        raise Wrong(f"you fetched {drafts[0]}, which robots.txt disallows: check robots.can_fetch(user_agent, url) before enqueueing a URL")
    dupes = log.duplicates()
    followed = _followed_redirects(log, seed)
    for path, count in sorted(dupes.items(), key=lambda item: item[0] in followed):  # plain duplicates first
        if path in followed:
            raise Wrong(f"you fetched {path} {count} times: once right after its old address answered 301, so the client followed the redirect on its own; pass allow_redirects=False and enqueue the Location header like a link")
        raise Wrong(f"you fetched {path} {count} times: normalise every link (urljoin, drop the #fragment, sort the query) and mark it seen when you ENQUEUE it, not when you fetch it")
    peak = log.peak()
    expect(peak <= max_per_host, f"the server saw {peak} of your requests at once, more than max_per_host={max_per_host}: use aiohttp.TCPConnector(limit_per_host=max_per_host) (or a semaphore around each request)")
    gaps = log.gaps()
    close = [g for g in gaps if g < 0.5 * CRAWL_DELAY]
    # one request at a time leaves no excuse for bunching: each waits for the pacer after the one before ended
    allowed = 2 if max_per_host == 1 else max(2, MAX_CLOSE_FRACTION * len(gaps))
    expect(
        len(close) <= allowed,
        f"{len(close)} of your {len(gaps) + 1} requests came less than {CRAWL_DELAY / 2:g} s after the previous one (max_per_host={max_per_host}); robots.txt asks for Crawl-delay {CRAWL_DELAY:g} s between ANY two requests to the host: share one pacer among the workers, and wait for it only once you hold one of the max_per_host slots (a turn taken before a connection is free leaves right behind the request before; robotparser's crawl_delay() returns None for a fractional delay; read the line yourself)",
    )
    typical = statistics.median(gaps) if gaps else 0.0
    expect(
        typical <= 3 * CRAWL_DELAY,
        f"your requests were typically {typical:.2f} s apart, but robots.txt asks for {CRAWL_DELAY:g} s: read the Crawl-delay value (robotparser's crawl_delay() gives None for a fraction; do not fall back to whole seconds)",
    )
    expect(frozen <= MAX_FROZEN, f"the event loop froze for {frozen:.1f} s in all during your crawl: a blocking call such as time.sleep() in a coroutine; wait with `await asyncio.sleep(...)`")


async def check_10_2(polite_crawl: Callable[[str, str, int], Awaitable[Any]], lab: Lab) -> Result:
    """polite_crawl(start_url, user_agent, max_per_host) -> the URLs of every reachable page, politely.

    Two crawls of fresh wikis, with max_per_host 1 and 3: the first page-level mistake ends the check.
    """
    plans = crawl_plans(random.Random())
    host = urlsplit(lab.site).netloc

    async def crawl(token: str, seed: str, max_per_host: int) -> tuple[object, SiteLog, float]:
        user_agent = _user_agent(token)
        start_url = f"{lab.site}/wiki/{seed}/"
        await _site_log(lab, reset=True)
        async with LoopLagMonitor() as lag:
            try:
                returned = await _run_bounded(
                    lambda: polite_crawl(start_url, user_agent, max_per_host),
                    RUN_LIMIT,
                    "this crawl needs about 3 s. A crawl delay of whole seconds? (it is 0.1 s.) queue.join() waiting for a task_done() that never comes? workers that are never cancelled?",
                )
            except Wrong:
                raise
            except Exception as exc:
                raise Wrong(_raised(exc, HINTS_10_2)) from None
        return returned, await _site_log(lab), _frozen_seconds(lag.samples, FROZEN)

    def verify_crawl(token: str, seed: str, max_per_host: int, outcome: tuple[object, SiteLog, float]) -> str:
        returned, log, frozen = outcome
        user_agent = _user_agent(token)
        start_url = f"{lab.site}/wiki/{seed}/"
        expected = expected_wiki_paths(seed)
        expect(log.dropped == 0, f"you sent more than {len(log.hits)} requests; this wiki has about 20 pages: is the crawl looping?")
        _check_politeness(log, seed, user_agent, max_per_host, host, frozen)
        fetched = {p for p in log.paths(status=200)} - {"/robots.txt"}
        missed = sorted(expected - fetched)
        if missed:
            raise Wrong(f"your crawl never fetched {len(missed)} reachable page(s), e.g. {missed[0]}: resolve every href against the URL of the page it is on (urljoin), and enqueue a redirect's Location")
        _check_uses_limit(log, max_per_host)
        expect(returned is not None, "polite_crawl returned None: return the URLs of the pages that answered 200")
        if isinstance(returned, dict):
            returned = list(returned)
        expect(isinstance(returned, (set, frozenset, list, tuple)), f"return a set or list of URLs, got {_describe(returned)}")
        expect(all(isinstance(u, str) for u in returned), f"return URLs as strings, got {[_describe(u) for u in returned][:1]}")
        mine = {_canonical(u, start_url) for u in returned}
        want = {lab.site + p for p in expected}
        extra = sorted(mine - want)
        if extra:
            raise Wrong(f"you returned {extra[0]}, which is not a page that answered 200 (a redirect, a broken link or another host?): return only pages that answered 200")
        lost = sorted(want - mine)
        if lost:
            raise Wrong(f"you fetched every page but did not return {lost[0]}: return the absolute URL of every page that answered 200")
        return "ok"

    async def attempt() -> None:
        if is_stub(polite_crawl):
            raise NotAttempted
        _warm_up_parsers()
        for token, seed, max_per_host in plans:
            outcome = await crawl(token, seed, max_per_host)
            _guarded(lambda o: verify_crawl(token, seed, max_per_host, o))(outcome)

    def verify(_: None) -> str:
        limits = " and ".join(str(m) for m in sorted(m for _, _, m in plans))
        return f"two wikis crawled, with max_per_host {limits}: every reachable page found and fetched once; robots.txt first and obeyed; up to max_per_host requests at once, never more; starts spaced by the {CRAWL_DELAY:g} s crawl delay"

    return await run_check("10.2", attempt, _guarded(verify), timeout=len(plans) * (RUN_LIMIT + GRACE) + 10)
