"""A fresh, deterministic SQLite demo database for the async-database lessons.

    db = helpers.db.create_demo_db()
    engine = create_async_engine(db.url)     # 'sqlite+aiosqlite:///.../demo.db'

The file lives in this kernel's private temp directory, so learners sharing a
server never touch each other's data.  It is built with the standard library's
sqlite3 (fast, synchronous, done once); lessons then use it through
SQLAlchemy's async engine and aiosqlite.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from helpers.services import data
from helpers.tempdir import kernel_tempdir

N_RECORDS = 1000
CATEGORIES = ("alpha", "beta", "gamma", "delta")

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), title TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE records (id INTEGER PRIMARY KEY, data TEXT NOT NULL, category TEXT NOT NULL, value REAL NOT NULL);
"""


@dataclass(frozen=True)
class DemoDB:
    path: Path
    records: int

    @property
    def url(self) -> str:
        """SQLAlchemy URL for the async engine with the aiosqlite driver."""
        return f"sqlite+aiosqlite:///{self.path.as_posix()}"


def create_demo_db(name: str = "demo.db", records: int = N_RECORDS) -> DemoDB:
    """Create (or re-create) the demo database and return where it is."""
    if isinstance(records, bool) or not isinstance(records, int) or not 1 <= records <= 100_000:
        raise ValueError(f"records must be a whole number between 1 and 100000, got {records!r}")
    if Path(name).name != name or not name.endswith(".db"):
        raise ValueError(f"name must be a plain file name ending in .db, like 'demo.db', got {name!r}")
    path = kernel_tempdir() / name
    path.unlink(missing_ok=True)
    rng = random.Random(42)
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA)
        conn.executemany("INSERT INTO users VALUES (:id, :name, :email)", data.users())
        conn.executemany("INSERT INTO posts VALUES (:id, :user_id, :title, :body)", data.posts())
        conn.executemany(
            "INSERT INTO records VALUES (?, ?, ?, ?)",
            ((i, f"record-{i:05d}", CATEGORIES[i % len(CATEGORIES)], round(rng.uniform(0, 100), 2)) for i in range(1, records + 1)),
        )
    conn.close()
    return DemoDB(path=path, records=records)
