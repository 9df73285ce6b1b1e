"""The website "Loopback News" (helpers/services/site.py), fetched and parsed like a scraper would."""

from __future__ import annotations

import time
import urllib.robotparser

import httpx
import pytest
from bs4 import BeautifulSoup

from helpers.services import data
from helpers.services.site import N_PAGES, SLOW_PAGE_DELAY

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
