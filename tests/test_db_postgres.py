"""helpers.db's PostgreSQL backend: clear errors for bad settings, and one fresh database per kernel.

The error tests need no server.  The rest run when COURSE_DATABASE_URL names a
PostgreSQL server (.ci/run starts a throwaway one) and are skipped otherwise.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from helpers import db as helpers_db
from helpers import postgres
from helpers.db import DatabaseSetupError, create_demo_db, create_empty_db

SERVER = os.environ.get("COURSE_DATABASE_URL", "").strip()
needs_server = pytest.mark.skipif(not SERVER, reason="set COURSE_DATABASE_URL to a PostgreSQL server (as .ci/run does)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "url, fix",
    [
        ("mysql+aiomysql://me:pw@127.0.0.1/db", "must name a PostgreSQL server"),
        ("sqlite+aiosqlite:///demo.db", "must name a PostgreSQL server"),
        ("postgresql://me:pw@127.0.0.1/postgres", "must use the asyncpg driver"),
        ("postgresql+psycopg2://me:pw@127.0.0.1/postgres", "must use the asyncpg driver"),
        ("postgres://me:pw@127.0.0.1/postgres", "must use the asyncpg driver"),
        ("just some words", "is not a database URL"),
    ],
)
def test_a_url_the_course_cannot_use_says_what_to_write(monkeypatch, url, fix):
    monkeypatch.setenv("COURSE_DATABASE_URL", url)
    with pytest.raises(DatabaseSetupError, match=fix) as info:
        create_demo_db("bad.db")
    message = str(info.value)
    assert "postgresql+asyncpg://user:password@localhost:5432/postgres" in message
    assert "unset COURSE_DATABASE_URL to use SQLite" in message
    assert ":pw@" not in message  # never print a password


def test_a_server_that_refuses_the_connection(monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("COURSE_DATABASE_URL", f"postgresql+asyncpg://me:secret@127.0.0.1:{port}/postgres")
    with pytest.raises(DatabaseSetupError, match=rf"could not connect to PostgreSQL at 127\.0\.0\.1:{port} .*is the server running") as info:
        create_empty_db("refused.db")
    assert "secret" not in str(info.value)


def test_bad_file_names_are_still_rejected_first(monkeypatch):
    monkeypatch.setenv("COURSE_DATABASE_URL", "postgresql+asyncpg://me:pw@127.0.0.1:1/postgres")
    with pytest.raises(ValueError, match="plain file name"):
        create_demo_db("../x.db")


def test_database_names_are_unique_per_process_and_valid():
    name = postgres.database_name("Demo File.db")
    assert name.startswith("course_") and name.endswith("_demo_file")
    assert f"_{os.getpid()}_" in name and len(name) <= 63
    assert name == name.lower()


def test_backend_follows_the_variable(monkeypatch):
    monkeypatch.setenv("COURSE_DATABASE_URL", "postgresql+asyncpg://me:pw@127.0.0.1/postgres")
    assert helpers_db.backend() == "postgresql"
    monkeypatch.delenv("COURSE_DATABASE_URL")
    assert helpers_db.backend() == "sqlite"


# --- with a server ---------------------------------------------------------------------------------


def fetch(url: str, sql: str) -> list[tuple]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def main() -> list[tuple]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in (await conn.execute(text(sql))).all()]
        finally:
            await engine.dispose()

    return asyncio.run(main())


def databases() -> set[str]:
    return {name for (name,) in fetch(SERVER, "SELECT datname FROM pg_database")}


@needs_server
def test_seeded_like_the_sqlite_file(monkeypatch):
    db = create_demo_db("seeded.db", records=50)
    assert db.backend == "postgresql" and db.path is None and db.records == 50
    assert db.name in databases()
    monkeypatch.delenv("COURSE_DATABASE_URL")
    lite = create_demo_db("seeded.db", records=50)
    for table in ("users", "posts", "records"):
        pg_rows = fetch(db.url, f"SELECT * FROM {table} ORDER BY id")
        assert pg_rows == fetch(lite.url, f"SELECT * FROM {table} ORDER BY id"), table


@needs_server
def test_new_rows_get_ids_after_the_seeded_ones():
    db = create_demo_db("ids.db", records=20)
    rows = fetch(db.url, "INSERT INTO records (data, category, value) VALUES ('x', 'alpha', 1) RETURNING id")
    assert rows == [(21,)]


@needs_server
def test_recreating_gives_a_fresh_database():
    db = create_demo_db("again.db", records=10)
    fetch(db.url, "DELETE FROM records RETURNING id")
    again = create_demo_db("again.db", records=10)
    assert again.name == db.name
    assert fetch(again.url, "SELECT count(*) FROM records") == [(10,)]


@needs_server
def test_empty_database_has_no_tables():
    db = create_empty_db("nothing.db")
    assert fetch(db.url, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]


KERNEL = textwrap.dedent(
    """
    import sys, time
    from helpers.db import create_demo_db
    db = create_demo_db("kernel.db", records=5)
    print(db.name, flush=True)
    if sys.argv[1] == "wait":
        time.sleep(60)
    """
)


def kernel(mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", KERNEL, mode], stdout=subprocess.PIPE, text=True, env=os.environ.copy())


@needs_server
def test_two_kernels_never_share_a_database():
    a, b = kernel("exit"), kernel("exit")
    name_a, name_b = a.stdout.readline().strip(), b.stdout.readline().strip()
    a.wait(30), b.wait(30)
    assert name_a and name_b and name_a != name_b


@needs_server
def test_the_database_is_dropped_when_the_kernel_exits():
    proc = kernel("exit")
    name = proc.stdout.readline().strip()
    assert proc.wait(30) == 0
    assert name.startswith("course_") and name not in databases()


@needs_server
def test_a_killed_kernels_database_is_dropped_by_the_next_kernel():
    proc = kernel("wait")
    name = proc.stdout.readline().strip()
    assert name in databases()
    proc.send_signal(signal.SIGKILL)  # atexit never runs
    proc.wait(30)
    assert name in databases()
    follower = kernel("exit")
    follower.stdout.readline()
    follower.wait(30)
    assert name not in databases()


@needs_server
def test_a_user_who_may_not_create_databases_is_told_what_to_ask_for(monkeypatch):
    from sqlalchemy.engine import make_url

    url = make_url(SERVER)
    if fetch(SERVER, "SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user") != [(True,)]:
        pytest.skip("the server's course user may not create roles, so no user without CREATEDB can be made here")
    role = f"course_nocreate_{os.getpid()}"
    asyncio.run(_admin(f"CREATE ROLE {role} LOGIN NOCREATEDB PASSWORD 'pw'"))
    try:
        monkeypatch.setenv("COURSE_DATABASE_URL", url.set(username=role, password="pw").render_as_string(hide_password=False))
        with pytest.raises(DatabaseSetupError, match=rf"may not create databases.*ALTER ROLE {role} CREATEDB"):
            create_empty_db("denied.db")
    finally:
        asyncio.run(_admin(f"DROP ROLE IF EXISTS {role}"))


@needs_server
def test_a_wrong_password_is_named(monkeypatch):
    from sqlalchemy.engine import make_url

    url = make_url(SERVER).set(password="not-the-password")
    monkeypatch.setenv("COURSE_DATABASE_URL", url.render_as_string(hide_password=False))
    try:
        create_empty_db("wrong.db")
    except DatabaseSetupError as error:
        assert "check the user name and password" in str(error) and "not-the-password" not in str(error)
    else:
        pytest.skip("this server trusts every password (auth method trust), so a wrong one cannot be refused")


@needs_server
def test_a_missing_maintenance_database_is_named(monkeypatch):
    from sqlalchemy.engine import make_url

    monkeypatch.setenv("COURSE_DATABASE_URL", make_url(SERVER).set(database="no_such_db_here").render_as_string(hide_password=False))
    with pytest.raises(DatabaseSetupError, match="'no_such_db_here' named at the end of COURSE_DATABASE_URL does not exist"):
        create_empty_db("missing.db")


async def _admin(sql: str) -> None:
    conn = await postgres._connect(postgres.parse(SERVER))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
