"""Deterministic content for the services: users, posts, comments, articles.

Everything is derived from a fixed seed, so ids, names and texts are the same
on every machine and every run.  That keeps notebook outputs stable for the
regression tests and lets exercises check exact answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache, lru_cache

N_USERS = 10
POSTS_PER_USER = 5
COMMENTS_PER_POST = 3
N_ARTICLES = 45
ARTICLES_PER_PAGE = 10

FIRST = ["Ada", "Grace", "Linus", "Guido", "Barbara", "Ken", "Margaret", "Alan", "Radia", "Donald"]
LAST = ["Lovelace", "Hopper", "Torvalds", "van Rossum", "Liskov", "Thompson", "Hamilton", "Turing", "Perlman", "Knuth"]
WORDS = (
    "async await loop task future queue socket thread process buffer stream "
    "latency timeout retry backoff cache schema index query cursor engine "
    "packet router kernel signal pipe scheduler coroutine event handler "
    "python rust linux server client protocol parser compiler memory"
).split()


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize()


@dataclass(frozen=True)
class Article:
    """One story on the news site."""

    id: int
    title: str
    author: str
    points: int
    paragraphs: tuple[str, ...]
    slow: bool  # served after a delay, to show that one slow page need not stall the rest
    broken: bool  # linked from the front page but answers 404

    @property
    def path(self) -> str:
        return f"/article/{self.id}"


@cache
def users() -> list[dict]:
    return [
        {
            "id": i,
            "name": f"{FIRST[i - 1]} {LAST[i - 1]}",
            "username": FIRST[i - 1].lower(),
            "email": f"{FIRST[i - 1].lower()}@example.test",
        }
        for i in range(1, N_USERS + 1)
    ]


@cache
def posts() -> list[dict]:
    rng = random.Random(1)
    out = []
    for user in users():
        for _ in range(POSTS_PER_USER):
            pid = len(out) + 1
            out.append({"id": pid, "user_id": user["id"], "title": _sentence(rng, 3, 7), "body": _sentence(rng, 12, 25) + "."})
    return out


@cache
def comments() -> list[dict]:
    rng = random.Random(2)
    out = []
    for post in posts():
        for _ in range(COMMENTS_PER_POST):
            out.append({"id": len(out) + 1, "post_id": post["id"], "user_id": rng.randint(1, N_USERS), "body": _sentence(rng, 5, 12) + "."})
    return out


@cache
def articles() -> list[Article]:
    """All stories; ids 1..N_ARTICLES. Every 9th is slow, ids 13, 26, 39 are broken."""
    rng = random.Random(3)
    out = []
    for i in range(1, N_ARTICLES + 1):
        out.append(
            Article(
                id=i,
                title=_sentence(rng, 4, 8),
                author=rng.choice(users())["username"],
                points=rng.randint(1, 500),
                paragraphs=tuple(_sentence(rng, 15, 30) + "." for _ in range(rng.randint(2, 4))),
                slow=i % 9 == 0,
                broken=i % 13 == 0,
            )
        )
    return out


def article(article_id: int) -> Article | None:
    if 1 <= article_id <= N_ARTICLES:
        return articles()[article_id - 1]
    return None


# --- Crawling and extraction content (notebook 10). Added beside the above; nothing above changes. ---

WIKI_SEED_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
WIKI_MAX_SEEDS = 64  # generated sections kept in memory at once (bounded: a runaway loop cannot eat memory)


def is_seed(raw: str) -> bool:
    """A section seed: 1-32 lowercase letters, digits or dashes (it is part of every URL of the section)."""
    return 1 <= len(raw) <= 32 and set(raw) <= WIKI_SEED_CHARS


@dataclass(frozen=True)
class WikiPage:
    """One page of a generated wiki section; links name other pages by number (0 is the index)."""

    number: int
    title: str
    links: tuple[int, ...]
    slow: bool


@dataclass(frozen=True)
class Wiki:
    """A small wiki whose link graph comes from its seed: what a crawler meets, in ~20 requests.

    Every page is reachable from the index (a spanning tree), and extra links make cycles.
    `moved` pages are also linked by an old address that redirects (301) to them, `broken`
    numbers are linked but answer 404, `drafts` are linked under /drafts/ (disallowed by robots.txt).
    """

    seed: str
    pages: tuple[WikiPage, ...]
    moved: tuple[int, ...]
    broken: tuple[int, ...]
    drafts: tuple[int, ...]

    def page(self, number: int) -> WikiPage | None:
        return self.pages[number - 1] if 1 <= number <= len(self.pages) else None


@lru_cache(maxsize=WIKI_MAX_SEEDS)
def wiki(seed: str) -> Wiki:
    """The wiki section for `seed` (deterministic: same seed, same pages and links, on every machine)."""
    rng = random.Random(f"wiki:{seed}")
    n = rng.randint(10, 14)
    links: dict[int, set[int]] = {k: set() for k in range(0, n + 1)}
    for k in range(1, n + 1):
        parent = 0 if k <= 3 else rng.randint(1, k - 1)  # a spanning tree: every page reachable from the index
        links[parent].add(k)
    for k in range(1, n + 1):
        links[k].add(rng.choice([0, rng.randint(1, n)]))  # extra links back and across: cycles
        links[k].add(rng.randint(1, n))
        links[k].discard(k)
    slow = rng.randint(4, n)
    pages = tuple(
        WikiPage(number=k, title=_sentence(rng, 2, 4), links=tuple(sorted(links[k])), slow=k == slow) for k in range(1, n + 1)
    )
    moved = tuple(sorted(rng.sample(range(1, n + 1), 2)))
    return Wiki(seed=seed, pages=pages, moved=moved, broken=(n + 1, n + 7), drafts=(1, 2))



@dataclass(frozen=True)
class Story:
    """A feature story for the extraction exercise, with the edge cases real pages have."""

    seed: str
    number: int
    title: str
    author: str | None  # None: the page has no byline at all
    points: int | None  # None: no points shown
    paragraphs: tuple[str, ...]  # the text a reader sees (entities decoded, inline markup flattened)
    delay: float  # seconds the server waits before answering
    missing: bool  # linked, but answers 404

    @property
    def path(self) -> str:
        return f"/story/{self.seed}/{self.number}"


N_STORIES = 8
SPECIAL_WORDS = ["R&D", "caf\u00e9", "\u201casync\u201d", "na\u00efve", "it\u2019s", "<b>", "a < b", "\u00a9 2026"]


def _story_paragraph(rng: random.Random) -> str:
    """A sentence with one word a naive extractor gets wrong (needs an entity when written as HTML)."""
    words = _sentence(rng, 8, 16).split()
    words.insert(rng.randint(1, len(words)), rng.choice(SPECIAL_WORDS))
    return " ".join(words) + "."
TITLE_EXTRAS = ["Caf\u00e9 & bar", "\u201cquoted\u201d", "fish & chips", "na\u00efve <code>", "A\u2019s tale", "5 < 6 > 4"]


def _story_points(rng: random.Random, k: int, no_byline: bool) -> int | None:
    """Points of story k: None for some; stories 4 and 8 always score 1,000 or more.

    Only one story is missing (404), so every seed has a score written with a thousands separator
    ('1,234 points'): a checker that never met one would pass int(text.split()[0]).
    """
    if no_byline or k % 4 == 1:
        return None
    points = rng.choice([rng.randint(1, 999), rng.randint(1000, 99_999)])
    return points + 1000 if k % 4 == 0 and points < 1000 else points


@lru_cache(maxsize=WIKI_MAX_SEEDS)
def stories(seed: str) -> tuple[Story, ...]:
    """The N_STORIES stories of `seed`; the same seed gives the same stories everywhere."""
    rng = random.Random(f"story:{seed}")
    delays = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.0]
    rng.shuffle(delays)  # completion order differs from input order
    missing = rng.randint(1, N_STORIES)
    out = []
    for k in range(1, N_STORIES + 1):
        title = f"{_sentence(rng, 2, 4)}: {rng.choice(TITLE_EXTRAS)}"
        no_byline = k % 3 == 0
        out.append(
            Story(
                seed=seed,
                number=k,
                title=title,
                author=None if no_byline else rng.choice(users())["username"],
                points=_story_points(rng, k, no_byline),
                paragraphs=tuple(_story_paragraph(rng) for _ in range(rng.randint(2, 4))),
                delay=delays[k - 1],
                missing=k == missing,
            )
        )
    return tuple(out)
