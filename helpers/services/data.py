"""Deterministic content for the services: users, posts, comments, articles.

Everything is derived from a fixed seed, so ids, names and texts are the same
on every machine and every run.  That keeps notebook outputs stable for the
regression tests and lets exercises check exact answers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

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
