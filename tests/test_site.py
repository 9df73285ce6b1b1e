"""The website "Loopback News" (helpers/services/site.py), fetched and parsed like a scraper would."""

from __future__ import annotations

import time
import urllib.robotparser
from urllib.parse import parse_qsl, urldefrag, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from bs4 import BeautifulSoup

from helpers.scrape_log import SiteLog, canonical_path, reset_site_log, site_log
from helpers.services import data
from helpers.services.hitlog import HITS_PATH, HitLog
from helpers.services.site import CRAWL_DELAY, N_PAGES, SLOW_PAGE_DELAY
from helpers.services.site_sections import BIG_MAX, FRONT_DELAY

TIMEOUT = httpx.Timeout(5.0)
BROKEN = [a.id for a in data.articles() if a.broken]
SLOW = [a.id for a in data.articles() if a.slow]


@pytest.fixture(scope="module")
def site(lab):
    with httpx.Client(base_url=lab.site, timeout=TIMEOUT) as client:
        yield client


def soup_of(response: httpx.Response) -> BeautifulSoup:
    assert response.headers["content-type"].startswith("text/html"), response.headers
    return BeautifulSoup(response.text, "html.parser")


def error_paragraph(response: httpx.Response) -> str:
    doc = soup_of(response)
    assert doc.title.string.endswith("| Loopback News")
    return doc.select_one("p.error").get_text()


def test_the_data_behind_the_site():
    assert data.N_ARTICLES == 45 and data.ARTICLES_PER_PAGE == 10 and N_PAGES == 5
    assert BROKEN == [13, 26, 39]
    assert SLOW == [9, 18, 27, 36, 45]


def test_front_page(site):
    r = site.get("/")
    assert r.status_code == 200
    doc = soup_of(r)
    assert doc.title.string == "Top stories, page 1 | Loopback News"
    assert doc.h1.get_text() == "Top stories, page 1"
    stories = doc.select("li.story")
    assert len(stories) == 10
    assert [s.select_one(".rank").get_text() for s in stories] == [f"{i}." for i in range(1, 11)]
    links = [s.select_one("a.title") for s in stories]
    assert [a["href"] for a in links] == [f"/article/{i}" for i in range(1, 11)]
    assert [a.get_text() for a in links] == [a.title for a in data.articles()[:10]]
    first = data.articles()[0]
    assert stories[0].select_one(".points").get_text() == f"{first.points} points"
    assert stories[0].select_one("a.author")["href"] == f"/user/{first.author}"
    more = doc.select_one("a.more")
    assert more["href"] == "/?page=2" and more["rel"] == ["next"]


def test_pagination_covers_every_article_once(site):
    seen = []
    sizes = []
    for number in range(1, N_PAGES + 1):
        doc = soup_of(site.get("/", params={"page": number}))
        ids = [int(li["id"].removeprefix("story-")) for li in doc.select("li.story")]
        sizes.append(len(ids))
        seen += ids
        assert doc.select_one("ol.stories")["start"] == str((number - 1) * 10 + 1)
        more = doc.select_one("a.more")
        if number < N_PAGES:
            assert more["href"] == f"/?page={number + 1}"
        else:
            assert more is None, "the last page has no 'More' link"
    assert sizes == [10, 10, 10, 10, 5]
    assert seen == list(range(1, 46))


def test_following_more_links_reaches_the_last_page(site):
    path, pages = "/", 0
    while path:
        pages += 1
        more = soup_of(site.get(path)).select_one("a.more")
        path = more["href"] if more else None
    assert pages == N_PAGES


@pytest.mark.parametrize("page", ["0", "6", "99", "-1", "abc", "1.5", ""])
def test_bad_page_is_a_404_page_with_a_message(site, page):
    r = site.get("/", params={"page": page})
    assert r.status_code == 404
    message = error_paragraph(r)
    assert "page must be a whole number from 1 to 5" in message
    assert repr(page) in message


@pytest.mark.parametrize("path", ["/?page=%C2%B2", "/?page=" + "1" * 5000, "/article/%C2%B2", "/article/" + "1" * 5000])
def test_odd_digits_are_a_404_not_a_500(site, path):
    assert site.get(path).status_code == 404


def test_article_page_parses(site):
    a = data.article(1)
    r = site.get("/article/1")
    assert r.status_code == 200
    doc = soup_of(r)
    assert doc.title.string == f"{a.title} | Loopback News"
    article = doc.select_one("article#article-1")
    assert article.select_one("h1.headline").get_text() == a.title
    byline = article.select_one("p.byline")
    assert byline.select_one("a.author").get_text() == a.author
    assert byline.select_one("a.author")["href"] == f"/user/{a.author}"
    assert byline.select_one(".points").get_text() == f"{a.points} points"
    paragraphs = [p.get_text() for p in article.select("div.text p")]
    assert paragraphs == list(a.paragraphs)
    assert 2 <= len(paragraphs) <= 4
    assert doc.select_one("a.home")["href"] == "/"


def test_every_working_article_has_title_and_text(site):
    for a in data.articles():
        if a.broken or a.slow:
            continue
        doc = soup_of(site.get(a.path))
        assert doc.select_one("h1.headline").get_text() == a.title
        assert len(doc.select("div.text p")) == len(a.paragraphs)


def test_slow_pages_take_at_least_the_slow_delay(site, lab):
    assert SLOW_PAGE_DELAY == 0.3
    lab.reset_gauge()
    started = time.perf_counter()
    r = site.get(f"/article/{SLOW[0]}")
    elapsed = time.perf_counter() - started
    assert r.status_code == 200
    assert soup_of(r).select_one("h1.headline").get_text() == data.article(SLOW[0]).title
    assert elapsed >= SLOW_PAGE_DELAY - 0.01
    site.get("/article/1")
    spans = {s["path"]: s for s in lab.gauge().spans}
    slow_span, fast_span = spans[f"/article/{SLOW[0]}"], spans["/article/1"]
    assert slow_span["end"] - slow_span["start"] >= SLOW_PAGE_DELAY - 0.01
    assert fast_span["end"] - fast_span["start"] < SLOW_PAGE_DELAY  # server side: only the slow page sleeps


def test_broken_links_are_linked_from_the_front_pages_and_answer_404(site):
    linked = set()
    for number in range(1, N_PAGES + 1):
        doc = soup_of(site.get("/", params={"page": number}))
        linked |= {a["href"] for a in doc.select("a.title")}
    for article_id in BROKEN:
        assert f"/article/{article_id}" in linked
        r = site.get(f"/article/{article_id}")
        assert r.status_code == 404
        assert "broken on purpose" in error_paragraph(r)


@pytest.mark.parametrize("path", ["/article/0", "/article/46", "/article/abc", "/article/-1"])
def test_missing_articles_are_404_pages(site, path):
    r = site.get(path)
    assert r.status_code == 404
    assert "there is no article" in error_paragraph(r)


def test_robots_txt_disallows_admin(site, lab):
    r = site.get("/robots.txt")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "Disallow: /admin/" in r.text
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(r.text.splitlines())
    assert not parser.can_fetch("*", lab.site + "/admin/")
    assert not parser.can_fetch("my-scraper", lab.site + "/admin/users")
    assert parser.can_fetch("*", lab.site + "/article/1")
    assert parser.can_fetch("*", lab.site + "/")


@pytest.mark.parametrize("path", ["/admin/", "/admin/users", "/admin/a/b"])
def test_admin_is_forbidden(site, path):
    r = site.get(path)
    assert r.status_code == 403
    assert "robots.txt" in error_paragraph(r)


def test_user_pages(site):
    for user in data.users():
        name = user["username"]
        r = site.get(f"/user/{name}")
        assert r.status_code == 200
        doc = soup_of(r)
        assert doc.select_one("h1.user").get_text() == name
        expected = [a.path for a in data.articles() if a.author == name]
        assert [a["href"] for a in doc.select("a.title")] == expected
        assert {a.get_text() for a in doc.select("a.author")} <= {name}


def test_every_author_link_works(site):
    authors = {a.author for a in data.articles()}
    for name in authors:
        assert site.get(f"/user/{name}").status_code == 200


def test_unknown_user_is_a_404_page(site):
    r = site.get("/user/nobody")
    assert r.status_code == 404
    assert "there is no user 'nobody'" in error_paragraph(r)


@pytest.mark.parametrize("path", ["/nope", "/articles/1", "/admin", "/article/1/extra", "/robots.txt/x"])
def test_unknown_path_is_a_404_html_page(site, path):
    r = site.get(path)
    assert r.status_code == 404
    message = error_paragraph(r)
    assert f"nothing at {path}" in message or "there is no" in message
    assert soup_of(r).select_one("a.home")["href"] == "/"


@pytest.mark.parametrize("path", ["/", "/?page=3", "/?page=5", "/article/5", "/article/13", "/user/grace", "/robots.txt", "/admin/", "/nope"])
def test_two_fetches_give_identical_html(site, path):
    first, second = site.get(path), site.get(path)
    assert first.status_code == second.status_code
    assert first.text == second.text
    assert "0x" not in first.text  # no object addresses or other per-run noise


def test_site_requests_do_not_leave_requests_in_flight(lab, site):
    site.get("/")
    site.get("/nope")
    assert lab.gauge().in_flight == 0


# --- What a real crawl meets (notebook 10): robots.txt delay, the wiki, stories, a large page, the request log ---

def robots_parser(site) -> urllib.robotparser.RobotFileParser:
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(site.get("/robots.txt").text.splitlines())
    return parser


def test_robots_txt_has_a_fractional_crawl_delay_that_robotparser_ignores(site, lab):
    text = site.get("/robots.txt").text
    assert f"Crawl-delay: {CRAWL_DELAY}" in text and CRAWL_DELAY == 0.1
    parser = robots_parser(site)
    assert parser.crawl_delay("AnyBot") is None  # whole seconds only (str.isdigit): the lesson's claim
    for path in ["/drafts/x/1", HITS_PATH, "/admin/"]:
        assert not parser.can_fetch("AnyBot", lab.site + path)
    for path in ["/wiki/x/", "/story/x/1", "/big", "/"]:
        assert parser.can_fetch("AnyBot", lab.site + path)


def normalise(href: str, base: str) -> str | None:
    url, _ = urldefrag(urljoin(base, href))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(sorted(parse_qsl(parts.query))), ""))


def reference_crawl(site, lab, start: str) -> tuple[dict[str, int], set[str]]:
    """A plain breadth-first crawl: {url: status} for the host, and the off-host URLs seen."""
    robots = robots_parser(site)
    host = urlsplit(lab.site).netloc
    todo, seen, statuses, off_host = [start], {start}, {}, set()
    while todo:
        url = todo.pop(0)
        r = site.get(url, follow_redirects=False)
        statuses[url] = r.status_code
        hrefs = [r.headers["location"]] if r.is_redirect else [a["href"] for a in soup_of(r).find_all("a", href=True)] if r.status_code == 200 else []
        for href in hrefs:
            target = normalise(href, url)
            if target is None or target in seen:
                continue
            seen.add(target)
            if urlsplit(target).netloc != host:
                off_host.add(target)
            elif robots.can_fetch("AnyBot", target):
                todo.append(target)
    return statuses, off_host


def test_the_wiki_has_everything_a_crawler_meets(site, lab):
    seed = "t1"
    wiki = data.wiki(seed)
    statuses, off_host = reference_crawl(site, lab, f"{lab.site}/wiki/{seed}/")
    ok = {urlsplit(u).path + ("?" + urlsplit(u).query if urlsplit(u).query else "") for u, s in statuses.items() if s == 200}
    pages = {f"/wiki/{seed}/page/{p.number}" for p in wiki.pages}
    assert ok == pages | {f"/wiki/{seed}/", f"/wiki/{seed}/list?order=asc&sort=title", f"/wiki/{seed}/digest"}
    assert sorted(u for u, s in statuses.items() if s == 301) == sorted(f"{lab.site}/wiki/{seed}/old/{k}" for k in wiki.moved)
    assert sorted(u for u, s in statuses.items() if s == 404) == sorted(f"{lab.site}/wiki/{seed}/page/{k}" for k in wiki.broken)
    assert off_host == {f"http://localhost:{urlsplit(lab.site).port}/wiki/{seed}/"}


def test_wiki_links_come_in_many_spellings_of_one_address(site, lab):
    hrefs = []
    for k in range(1, len(data.wiki("t2").pages) + 1):
        hrefs += [a["href"] for a in soup_of(site.get(f"/wiki/t2/page/{k}")).find_all("a", href=True)]
    hrefs += [a["href"] for a in soup_of(site.get("/wiki/t2/")).find_all("a", href=True)]
    assert any("#" in h and not h.startswith("#") for h in hrefs), "a link with a fragment"
    assert any(h.startswith("http://127.0.0.1") for h in hrefs), "an absolute link"
    assert any(h.startswith("./") for h in hrefs) and any(h.startswith("../") for h in hrefs), "relative links"
    assert "../list?order=asc&sort=title" in hrefs and "list?sort=title&order=asc" in hrefs, "the same query in two orders"
    assert any(h.startswith("mailto:") for h in hrefs) and any(h.startswith("javascript:") for h in hrefs)


def test_every_wiki_page_links_somewhere_and_cycles_exist(site):
    wiki = data.wiki("t3")
    assert 10 <= len(wiki.pages) <= 14
    assert any(0 in p.links for p in wiki.pages), "some page links back to the index: a cycle"
    assert sum(p.slow for p in wiki.pages) == 1


def test_wiki_redirects_and_their_errors(site):
    r = site.get("/wiki/t1/old/2", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/wiki/t1/page/2"
    assert "moved" in soup_of(r).select_one("p.error").get_text()
    r = site.get("/wiki/t1", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == "/wiki/t1/"
    assert site.get("/wiki/t1/old/999", follow_redirects=False).status_code == 404


@pytest.mark.parametrize("path", ["/wiki/UPPER/", "/wiki/" + "a" * 40 + "/", "/wiki/t1/page/abc", "/wiki/t1/page/0", "/drafts/t1/9", "/story/t1/0", "/story/t1/x", "/story/a%20b/1"])
def test_bad_section_addresses_are_404_pages_that_say_what_to_do(site, path):
    r = site.get(path)
    assert r.status_code == 404
    assert error_paragraph(r)


@pytest.mark.parametrize("query", ["sort=date", "order=up", "sort=title&order=sideways"])
def test_bad_list_parameters_are_a_400_page(site, query):
    r = site.get(f"/wiki/t1/list?{query}")
    assert r.status_code == 400
    assert "sort must be one of" in error_paragraph(r)


def test_query_order_does_not_change_the_list_page(site):
    assert site.get("/wiki/t1/list?sort=title&order=asc").text == site.get("/wiki/t1/list?order=asc&sort=title").text


def test_wiki_is_deterministic_per_seed(site):
    assert site.get("/wiki/t4/page/3").text == site.get("/wiki/t4/page/3").text
    assert data.wiki("t4") == data.wiki.__wrapped__("t4")
    assert data.wiki("t4") != data.wiki("t5")


def test_front_wiki_pages_are_slow_enough_to_overlap(site):
    started = time.perf_counter()
    assert site.get("/wiki/t1/page/1").status_code == 200
    assert time.perf_counter() - started >= FRONT_DELAY - 0.01


def test_drafts_answer_but_are_disallowed(site, lab):
    r = site.get("/drafts/t1/1")
    assert r.status_code == 200 and "robots.txt disallows" in error_paragraph(r)
    assert not robots_parser(site).can_fetch("AnyBot", lab.site + "/drafts/t1/1")


def reference_story(html: str) -> dict:
    doc = BeautifulSoup(html, "html.parser")
    byline = doc.select_one("p.byline")
    points = doc.select_one("span.points")
    return {
        "title": " ".join(doc.select_one("h1.headline").get_text().split()),
        "author": byline.select_one("a.author").get_text() if byline else None,
        "points": int(points.get_text().split()[0].replace(",", "")) if points else None,
        "paragraphs": [" ".join(p.get_text().split()) for p in doc.select("div.text > p")],
    }


def test_stories_parse_to_their_data_with_every_edge_case(site):
    seed = "edge"
    stories = data.stories(seed)
    assert sum(s.missing for s in stories) == 1
    assert any(s.author is None for s in stories) and any(s.points is None and s.author for s in stories)
    assert any(s.points and s.points >= 1000 for s in stories)
    assert len({s.delay for s in stories}) >= 6, "different delays: completion order differs from input order"
    for s in stories:
        r = site.get(s.path)
        if s.missing:
            assert r.status_code == 404 and "broken on purpose" in error_paragraph(r)
            continue
        assert r.status_code == 200
        assert reference_story(r.text) == {"title": s.title, "author": s.author, "points": s.points, "paragraphs": list(s.paragraphs)}
        assert "Related:" in r.text and "&" in r.text


def test_story_html_needs_a_real_parser(site):
    htmls = [site.get(s.path).text for s in data.stories("edge") if not s.missing]
    joined = "".join(htmls)
    assert "&amp;" in joined or "&lt;" in joined
    assert "<em>" in joined and "<code>" in joined and '<aside class="related">' in joined


def test_big_page(site):
    r = site.get("/big", params={"stories": 500})
    assert r.status_code == 200
    assert len(soup_of(r).select("li.story")) == 500
    assert 100_000 < len(r.text) < 200_000


@pytest.mark.parametrize("value", ["0", str(BIG_MAX + 1), "abc", "1.5", ""])
def test_big_page_bad_size_is_a_400_page(site, value):
    r = site.get("/big", params={"stories": value})
    assert r.status_code == 400
    assert f"from 1 to {BIG_MAX}" in error_paragraph(r)


def test_the_request_log_records_what_the_server_saw(site, lab):
    reset_site_log(lab)
    site.get("/wiki/t1/", headers={"User-Agent": "TestBot/1.0"})
    site.get("/wiki/t1/old/1", headers={"User-Agent": "TestBot/1.0"}, follow_redirects=False)
    site.get("/nope")
    log = site_log(lab)
    assert [(h["path"], h["status"]) for h in log.hits] == [("/wiki/t1/", 200), ("/wiki/t1/old/1", 301), ("/nope", 404)]
    assert log.hits[0]["user_agent"] == "TestBot/1.0" and log.hits[0]["host"] == urlsplit(lab.site).netloc
    assert all(h["start"] <= h["end"] for h in log.hits) and log.dropped == 0
    assert not any(h["path"].startswith(HITS_PATH) for h in log.hits), "reading the log is not logged"
    reset_site_log(lab)
    assert site_log(lab).hits == []


def test_the_request_log_is_not_in_the_gauge(site, lab):
    lab.reset_gauge()
    site_log(lab)
    assert lab.gauge().count == 0


def test_the_request_log_is_bounded():
    class FakeRequest:
        path_qs, host, headers = "/x", "h", {}

    log = HitLog(max_hits=3)
    tokens = [log.begin(FakeRequest()) for _ in range(5)]
    for token in tokens:
        log.finish(token, 200)
    snap = log.snapshot()
    assert len(snap["hits"]) == 3 and snap["dropped"] == 2


def test_hits_endpoint_answers_only_get_and_delete(site):
    assert site.get(HITS_PATH).status_code == 200
    assert site.post(HITS_PATH).status_code == 405


def test_site_log_helpers():
    hits = [
        {"path": "/a?b=1&a=2", "start": 0.0, "end": 0.3, "status": 200},
        {"path": "/a?a=2&b=1", "start": 0.1, "end": 0.2, "status": 200},
        {"path": "/c", "start": 0.25, "end": 0.4, "status": 404},
    ]
    log = SiteLog(hits=hits, dropped=0)
    assert canonical_path("/a?b=1&a=2") == "/a?a=2&b=1"
    assert log.duplicates() == {"/a?a=2&b=1": 2}
    assert log.peak() == 2
    assert [round(g, 2) for g in log.gaps()] == [0.1, 0.15]
    assert log.paths(status=404) == ["/c"]
