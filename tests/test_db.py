"""The demo database (helpers/db.py): where it lives, what it holds, and that the async engine reads it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from helpers.db import CATEGORIES, N_RECORDS, DemoDB, backend, create_demo_db, create_empty_db
from helpers.services import data
from helpers.tempdir import kernel_tempdir


@pytest.fixture(autouse=True)
def sqlite_backend(monkeypatch):
    """These tests are about the SQLite backend, also when CI sets COURSE_DATABASE_URL (see test_db_postgres.py)."""
    monkeypatch.delenv("COURSE_DATABASE_URL", raising=False)


def rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_created_in_the_per_kernel_temp_dir():
    db = create_demo_db()
    assert isinstance(db, DemoDB)
    assert db.path == kernel_tempdir() / "demo.db"
    assert db.path.is_file()
    assert kernel_tempdir().name.startswith(f"asyncio-course-{os.getpid()}-")
    assert kernel_tempdir().parent == Path(tempfile.gettempdir())
    assert kernel_tempdir() == kernel_tempdir()  # one directory per process


def test_default_contents():
    db = create_demo_db()
    assert db.records == N_RECORDS == 1000
    assert rows(db.path, "SELECT count(*) FROM records") == [(1000,)]
    assert rows(db.path, "SELECT count(*) FROM users") == [(len(data.users()),)]
    assert rows(db.path, "SELECT count(*) FROM posts") == [(len(data.posts()),)]
    assert rows(db.path, "SELECT id, name, email FROM users WHERE id = 1") == [(1, "Ada Lovelace", "ada@example.test")]
    assert {c for (c,) in rows(db.path, "SELECT DISTINCT category FROM records")} == set(CATEGORIES)
    assert rows(db.path, "SELECT data FROM records WHERE id = 7") == [("record-00007",)]
    low, high = rows(db.path, "SELECT min(value), max(value) FROM records")[0]
    assert 0 <= low < high <= 100
    post = data.posts()[4]
    assert rows(db.path, "SELECT id, user_id, title, body FROM posts WHERE id = 5") == [(post["id"], post["user_id"], post["title"], post["body"])]


def test_deterministic_across_creations():
    a = create_demo_db("a.db")
    b = create_demo_db("b.db")
    for table in ("users", "posts", "records"):
        assert rows(a.path, f"SELECT * FROM {table} ORDER BY id") == rows(b.path, f"SELECT * FROM {table} ORDER BY id")
    first = rows(a.path, "SELECT value FROM records ORDER BY id LIMIT 5")
    again = create_demo_db("a.db")
    assert rows(again.path, "SELECT value FROM records ORDER BY id LIMIT 5") == first


def test_recreate_replaces_the_file():
    db = create_demo_db("replace.db", records=50)
    conn = sqlite3.connect(db.path)
    conn.execute("DELETE FROM users")
    conn.commit()
    conn.close()
    db = create_demo_db("replace.db", records=5)
    assert db.records == 5
    assert rows(db.path, "SELECT count(*) FROM records") == [(5,)]
    assert rows(db.path, "SELECT count(*) FROM users") == [(10,)]


@pytest.mark.parametrize("records", [1, 100_000])
def test_size_bounds_are_allowed(records):
    db = create_demo_db("bounds.db", records=records)
    assert rows(db.path, "SELECT count(*) FROM records") == [(records,)]


def test_url_for_the_async_engine():
    db = create_demo_db()
    assert db.url.startswith("sqlite+aiosqlite:///")
    assert db.url == "sqlite+aiosqlite:///" + db.path.as_posix()


def test_readable_through_sqlalchemy_async_engine():
    db = create_demo_db("async.db", records=200)

    async def main():
        engine = create_async_engine(db.url)
        try:
            async with engine.connect() as conn:
                count = (await conn.execute(text("SELECT count(*) FROM records"))).scalar_one()
                name = (await conn.execute(text("SELECT name FROM users WHERE id = :id"), {"id": 2})).scalar_one()
                per_category = (await conn.execute(text("SELECT category, count(*) FROM records GROUP BY category ORDER BY category"))).all()
            return count, name, per_category
        finally:
            await engine.dispose()

    count, name, per_category = asyncio.run(main())
    assert count == 200
    assert name == "Grace Hopper"
    assert [c for c, _ in per_category] == sorted(CATEGORIES)
    assert sum(n for _, n in per_category) == 200


def test_concurrent_async_queries():
    db = create_demo_db("concurrent.db")

    async def main():
        engine = create_async_engine(db.url)
        try:

            async def count(category: str) -> int:
                async with engine.connect() as conn:
                    return (await conn.execute(text("SELECT count(*) FROM records WHERE category = :c"), {"c": category})).scalar_one()

            return await asyncio.gather(*(count(c) for c in CATEGORIES))
        finally:
            await engine.dispose()

    assert sum(asyncio.run(main())) == 1000


@pytest.mark.parametrize("name", ["../demo.db", "sub/demo.db", "/tmp/demo.db", "demo.sqlite", "demo", "", "demo.db/"])
def test_bad_names_are_rejected(name):
    with pytest.raises(ValueError, match=r"name must be a plain file name ending in \.db, like 'demo\.db'"):
        create_demo_db(name)


@pytest.mark.parametrize("records", [0, -1, 100_001, 10**9])
def test_bad_sizes_are_rejected(records):
    with pytest.raises(ValueError, match=r"records must be a whole number between 1 and 100000, got"):
        create_demo_db("size.db", records=records)


@pytest.mark.parametrize("records", [2.5, "10"])
def test_non_integer_sizes_are_rejected_with_valueerror(records):
    with pytest.raises(ValueError, match="records"):
        create_demo_db("size.db", records=records)


def test_backend_and_repr():
    db = create_demo_db("repr.db", records=3)
    assert db.backend == "sqlite" and db.name == "repr.db"
    assert "backend='sqlite'" in repr(db) and "records=3" in repr(db)


def test_empty_database_has_no_tables():
    db = create_empty_db("empty.db")
    assert db.records == 0 and db.backend == "sqlite"
    assert rows(db.path, "SELECT name FROM sqlite_master") == []


def test_recreating_removes_wal_files_of_the_old_database():
    db = create_demo_db("wal.db", records=5)
    conn = sqlite3.connect(db.path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("DELETE FROM records")
    conn.commit()  # the connection stays open: -wal and -shm exist now
    assert Path(f"{db.path}-wal").exists()
    db = create_demo_db("wal.db", records=5)
    conn.close()
    assert rows(db.path, "SELECT count(*) FROM records") == [(5,)]


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_variable_means_sqlite(monkeypatch, value):
    monkeypatch.setenv("COURSE_DATABASE_URL", value)
    assert backend() == "sqlite"
    assert create_demo_db("blank.db", records=2).backend == "sqlite"
