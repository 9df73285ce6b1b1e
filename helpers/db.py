"""A fresh, deterministic demo database per kernel: SQLite by default, PostgreSQL on request.

    db = helpers.db.create_demo_db()
    engine = create_async_engine(db.url)     # 'sqlite+aiosqlite:///.../demo.db'
    db.backend                               # 'sqlite' or 'postgresql'

SQLite (the default): a file in this kernel's private temp directory, built
with the standard library's sqlite3 (fast, synchronous, done once); lessons
then use it through SQLAlchemy's async engine and aiosqlite.

PostgreSQL: when the environment variable COURSE_DATABASE_URL names a server
(``postgresql+asyncpg://user:password@host:5432/postgres``), each call creates
a database of its own on that server under a unique name, seeds it with the
same rows, and drops it when the kernel exits, so sixty learners sharing one
server never see each other's rows.  The work is in helpers/postgres.py.
"""

from __future__ import annotations

import os
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from helpers.services import data
from helpers.tempdir import kernel_tempdir

N_RECORDS = 1000
CATEGORIES = ("alpha", "beta", "gamma", "delta")
ENV_VAR = "COURSE_DATABASE_URL"

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE records (id INTEGER PRIMARY KEY, data TEXT NOT NULL, category TEXT NOT NULL, value REAL NOT NULL);
"""


class DatabaseSetupError(RuntimeError):
    """The demo database could not be made; the message says what to fix."""


@dataclass(frozen=True)
class DemoDB:
    """Where a demo database is, how to reach it, and what it holds."""

    url: str  # SQLAlchemy URL for the async engine (aiosqlite or asyncpg driver)
    records: int  # rows in the `records` table (0 for an empty database)
    backend: str = "sqlite"  # "sqlite" or "postgresql"
    path: Path | None = None  # the SQLite file; None on PostgreSQL
    name: str = ""  # the database's name on the PostgreSQL server; the file name on SQLite

    def __repr__(self) -> str:
        where = self.path if self.backend == "sqlite" else self.name
        return f"DemoDB(backend={self.backend!r}, records={self.records}, at {where})"


def server_url() -> str | None:
    """The PostgreSQL server named by COURSE_DATABASE_URL, or None to use SQLite."""
    value = os.environ.get(ENV_VAR, "").strip()
    return value or None


def _check_args(name: str, records: int) -> None:
    if isinstance(records, bool) or not isinstance(records, int) or not 0 <= records <= 100_000:
        raise ValueError(f"records must be a whole number between 1 and 100000, got {records!r}")
    if not isinstance(name, str) or Path(name).name != name or not name.endswith(".db") or name == ".db":
        raise ValueError(f"name must be a plain file name ending in .db, like 'demo.db', got {name!r}")


def _record_rows(records: int) -> list[tuple[int, str, str, float]]:
    rng = random.Random(42)
    return [(i, f"record-{i:05d}", CATEGORIES[i % len(CATEGORIES)], round(rng.uniform(0, 100), 2)) for i in range(1, records + 1)]


def _create_sqlite(name: str, records: int, seed: bool) -> DemoDB:
    path = kernel_tempdir() / name
    path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm", "-journal"):  # left by a WAL experiment on a previous file of that name
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    try:
        if seed:
            with conn:
                conn.executescript(SCHEMA)
                conn.executemany("INSERT INTO users VALUES (:id, :name, :email)", data.users())
                conn.executemany("INSERT INTO posts VALUES (:id, :user_id, :title, :body)", data.posts())
                conn.executemany("INSERT INTO records VALUES (?, ?, ?, ?)", _record_rows(records))
    finally:
        conn.close()
    return DemoDB(url=f"sqlite+aiosqlite:///{path.as_posix()}", records=records, backend="sqlite", path=path, name=name)


def create_demo_db(name: str = "demo.db", records: int = N_RECORDS) -> DemoDB:
    """Create (or re-create) the demo database `name` and return where it is.

    Tables: users(id, name, email), posts(id, user_id, title, body) and
    records(id, data, category, value) with `records` rows, the same on every run.
    """
    _check_args(name, records)
    if records < 1:
        raise ValueError(f"records must be a whole number between 1 and 100000, got {records!r}")
    url = server_url()
    if url is None:
        return _create_sqlite(name, records, seed=True)
    from helpers import postgres

    return postgres.create(url, name, records=records, seed=True)


def create_empty_db(name: str = "empty.db") -> DemoDB:
    """Create (or re-create) an empty database `name`: no tables, for a lesson to create its own."""
    _check_args(name, 0)
    url = server_url()
    if url is None:
        return _create_sqlite(name, 0, seed=False)
    from helpers import postgres

    return postgres.create(url, name, records=0, seed=False)


def backend() -> str:
    """'postgresql' when COURSE_DATABASE_URL is set, else 'sqlite' (without connecting anywhere)."""
    return "sqlite" if server_url() is None else "postgresql"
