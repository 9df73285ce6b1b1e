"""Checkers of notebook 11 against real databases: stub, wrong answers a learner would write, right answers.

The models mirror the notebook's.  Every checker builds its own fresh database
(SQLite here; PostgreSQL when COURSE_DATABASE_URL is set, as .ci/run does).
"""

from __future__ import annotations

import asyncio
import collections
import time

import pytest
from sqlalchemy import ForeignKey, insert, outerjoin, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, joinedload, mapped_column, relationship, selectinload

from helpers.checks import Outcome
from helpers.exercises import nb11


class Base(AsyncAttrs, DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    email: Mapped[str] = mapped_column(unique=True)
    posts: Mapped[list["Post"]] = relationship(back_populates="author", order_by="Post.id")


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str]
    body: Mapped[str]
    author: Mapped[User] = relationship(back_populates="posts")


class Reading(Base):
    __tablename__ = "readings"
    id: Mapped[int] = mapped_column(primary_key=True)
    sensor: Mapped[str]
    value: Mapped[float]


# --- 11.1: save_users(Session, people) -----------------------------------------------------------


async def save_stub(Session, people):
    ...


async def save_right(Session, people):
    async def save(person):
        async with Session() as session:
            user = User(name=person["name"], email=person["email"])
            session.add(user)
            try:
                await session.commit()
            except IntegrityError:
                await session.rollback()
                return None
            return user.id

    return await asyncio.gather(*(save(p) for p in people))


async def save_right_taskgroup(Session, people):
    async def save(person):
        try:
            async with Session() as session, session.begin():
                user = User(**person)
                session.add(user)
                await session.flush()
                return user.id
        except IntegrityError:
            return None

    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(save(p)) for p in people]
    return [t.result() for t in tasks]


async def save_shared_session(Session, people):  # the bug the exercise shows
    async with Session() as session:

        async def save(person):
            user = User(name=person["name"], email=person["email"])
            session.add(user)
            try:
                await session.commit()
                return user.id
            except IntegrityError:
                await session.rollback()
                return None

        return await asyncio.gather(*(save(p) for p in people))


async def save_one_transaction(Session, people):
    async with Session() as session:
        users = [User(**p) for p in people]
        session.add_all(users)
        try:
            await session.commit()
            return [u.id for u in users]
        except IntegrityError:
            await session.rollback()
            return [None] * len(people)


async def save_no_except(Session, people):
    async def save(person):
        async with Session() as session:
            user = User(**person)
            session.add(user)
            await session.commit()
            return user.id

    return await asyncio.gather(*(save(p) for p in people))


async def save_sequential(Session, people):
    ids = []
    for person in people:
        async with Session() as session:
            user = User(**person)
            session.add(user)
            try:
                await session.commit()
                ids.append(user.id)
            except IntegrityError:
                await session.rollback()
                ids.append(None)
    return ids


async def save_returns_objects(Session, people):
    async def save(person):
        async with Session() as session:
            user = User(**person)
            session.add(user)
            try:
                await session.commit()
                return user
            except IntegrityError:
                await session.rollback()
                return None

    return await asyncio.gather(*(save(p) for p in people))


async def save_hard_coded(Session, people):
    return list(range(1, len(people) + 1))


async def save_completion_order(Session, people):
    async def save(person):
        async with Session() as session:
            user = User(**person)
            session.add(user)
            try:
                await session.commit()
                return user.id
            except IntegrityError:
                await session.rollback()
                return None

    return [await f for f in asyncio.as_completed([save(p) for p in people])]


def check_11_1(fn):
    return asyncio.run(nb11.check_11_1(fn, User))


def test_11_1_stub():
    assert check_11_1(save_stub).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize("answer", [save_right, save_right_taskgroup])
def test_11_1_right(answer):
    result = check_11_1(answer)
    assert result.passed, result.message


@pytest.mark.parametrize(
    "answer, hint",
    [
        (save_shared_session, "one AsyncSession at once"),
        (save_one_transaction, "one taken email must not undo the others"),
        (save_no_except, "IntegrityError"),
        (save_sequential, "one after another"),
        (save_returns_objects, "not the User object"),
        (save_hard_coded, "none of the people are in the users table"),
        (save_completion_order, "in the wrong order"),
    ],
)
def test_11_1_wrong(answer, hint):
    result = check_11_1(answer)
    assert result.outcome is Outcome.WRONG, result
    assert hint in result.message, result.message


# --- 11.2: titles_by_author(session) ---------------------------------------------------------------


async def titles_stub(session):
    ...


async def titles_right(session):
    users = (await session.scalars(select(User).options(selectinload(User.posts)).order_by(User.id))).all()
    return {u.name: [p.title for p in reversed(u.posts)] for u in users}


async def titles_right_joined(session):
    users = (await session.scalars(select(User).options(joinedload(User.posts)))).unique().all()
    return {u.name: [p.title for p in u.posts][::-1] for u in users}


async def titles_right_outer_join(session):
    rows = await session.execute(select(User.name, Post.title).select_from(outerjoin(User, Post)).order_by(User.id, Post.id.desc()))
    result = {}
    for name, title in rows:
        result.setdefault(name, [])
        if title is not None:
            result[name].append(title)
    return result


async def titles_n_plus_one(session):
    users = (await session.scalars(select(User).order_by(User.id))).all()
    return {u.name: [p.title for p in reversed(await u.awaitable_attrs.posts)] for u in users}


async def titles_lazy(session):
    users = (await session.scalars(select(User))).all()
    return {u.name: [p.title for p in u.posts] for u in users}


async def titles_inner_join(session):
    rows = await session.execute(select(User.name, Post.title).join(Post).order_by(User.id, Post.id.desc()))
    result = collections.defaultdict(list)
    for name, title in rows:
        result[name].append(title)
    return dict(result)


async def titles_unsorted(session):
    users = (await session.scalars(select(User))).all()
    posts = (await session.scalars(select(Post))).all()  # no ORDER BY: in storage order
    return {u.name: [p.title for p in posts if p.user_id == u.id] for u in users}


async def titles_post_objects(session):
    users = (await session.scalars(select(User).options(selectinload(User.posts)))).all()
    return {u.name: list(u.posts) for u in users}


async def titles_hard_coded(session):
    return {"Ada Lovelace": ["Async await loop"], "Grace Hopper": []}


def check_11_2(fn):
    return asyncio.run(nb11.check_11_2(fn, User))


def test_11_2_stub():
    assert check_11_2(titles_stub).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize("answer", [titles_right, titles_right_joined, titles_right_outer_join])
def test_11_2_right(answer):
    result = check_11_2(answer)
    assert result.passed, result.message


@pytest.mark.parametrize(
    "answer, hint",
    [
        (titles_n_plus_one, "N+1"),
        (titles_lazy, "MissingGreenlet"),
        (titles_inner_join, "users with no posts are missing"),
        (titles_unsorted, "newest first"),
        (titles_post_objects, "Post objects"),
        (titles_hard_coded, "missing from the result"),
    ],
)
def test_11_2_wrong(answer, hint):
    result = check_11_2(answer)
    assert result.outcome is Outcome.WRONG, result
    assert hint in result.message, result.message


# --- 11.3: store_readings(Session, sensors) --------------------------------------------------------


async def store_stub(Session, sensors):
    ...


async def store_right(Session, sensors):
    queue = asyncio.Queue()

    async def read(sensor):
        async for reading in sensor:
            await queue.put(reading)

    async def writer():
        written = 0
        while (reading := await queue.get()) is not None:
            async with Session() as session, session.begin():
                session.add(Reading(**reading))
            written += 1
        return written

    task = asyncio.create_task(writer())
    await asyncio.gather(*(read(s) for s in sensors))
    await queue.put(None)
    return await task


async def store_right_core_batches(Session, sensors):
    queue = asyncio.Queue(maxsize=100)
    written = 0

    async def writer():
        nonlocal written
        while True:
            batch = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            async with Session() as session, session.begin():
                await session.execute(insert(Reading), batch)
            written += len(batch)
            for _ in batch:
                queue.task_done()

    async def read(sensor):
        async for reading in sensor:
            await queue.put(reading)

    task = asyncio.create_task(writer())
    async with asyncio.TaskGroup() as tg:
        for sensor in sensors:
            tg.create_task(read(sensor))
    await queue.join()
    task.cancel()
    return written


async def store_concurrent_writers(Session, sensors):
    async def read_and_write(sensor):
        count = 0
        async for reading in sensor:
            async with Session() as session, session.begin():
                session.add(Reading(**reading))
            count += 1
        return count

    return sum(await asyncio.gather(*(read_and_write(s) for s in sensors)))


async def store_swallow_lock_errors(Session, sensors):
    async def read_and_write(sensor):
        count = 0
        async for reading in sensor:
            try:
                async with Session() as session, session.begin():
                    session.add(Reading(**reading))
                count += 1
            except OperationalError:
                pass
        return count

    await asyncio.gather(*(read_and_write(s) for s in sensors))
    return 50


async def store_sequential_sensors(Session, sensors):
    queue = asyncio.Queue()

    async def writer():
        written = 0
        while (reading := await queue.get()) is not None:
            async with Session() as session, session.begin():
                session.add(Reading(**reading))
            written += 1
        return written

    task = asyncio.create_task(writer())
    for sensor in sensors:
        async for reading in sensor:
            await queue.put(reading)
    await queue.put(None)
    return await task


async def store_collect_then_write(Session, sensors):
    async def collect(sensor):
        return [r async for r in sensor]

    readings = [r for batch in await asyncio.gather(*(collect(s) for s in sensors)) for r in batch]
    async with Session() as session, session.begin():
        session.add_all(Reading(**r) for r in readings)
    return len(readings)


async def store_no_wait_for_writer(Session, sensors):
    queue = asyncio.Queue()
    written = 0

    async def writer():
        nonlocal written
        while (reading := await queue.get()) is not None:
            async with Session() as session, session.begin():
                session.add(Reading(**reading))
            written += 1

    async def read(sensor):
        async for reading in sensor:
            await queue.put(reading)

    asyncio.create_task(writer())
    await asyncio.gather(*(read(s) for s in sensors))
    await queue.put(None)
    return written + queue.qsize() - 1


async def store_no_sentinel(Session, sensors):
    queue = asyncio.Queue()

    async def writer():
        written = 0
        while True:
            reading = await queue.get()
            async with Session() as session, session.begin():
                session.add(Reading(**reading))
            written += 1

    async def read(sensor):
        async for reading in sensor:
            await queue.put(reading)

    task = asyncio.create_task(writer())
    await asyncio.gather(*(read(s) for s in sensors))
    return await task


async def store_hard_coded(Session, sensors):
    return 50


def check_11_3(fn):
    return asyncio.run(nb11.check_11_3(fn, Reading))


def test_11_3_stub():
    assert check_11_3(store_stub).outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize("answer", [store_right, store_right_core_batches])
def test_11_3_right(answer):
    result = check_11_3(answer)
    assert result.passed, result.message


@pytest.mark.parametrize(
    "answer, hint",
    [
        (store_concurrent_writers, "ONE writer task"),
        (store_swallow_lock_errors, ("database is locked", "connections were in use at once")),  # SQLite, PostgreSQL
        (store_sequential_sensors, "one task per sensor"),
        (store_collect_then_write, "while they are still arriving"),
        (store_no_wait_for_writer, ("not in the table", "rows were written")),  # slow or fast writer
        (store_hard_coded, "none of the readings are in the table"),
    ],
)
def test_11_3_wrong(answer, hint):
    result = check_11_3(answer)
    assert result.outcome is Outcome.WRONG, result
    hints = hint if isinstance(hint, tuple) else (hint,)
    assert any(h in result.message for h in hints), result.message


def test_11_3_a_writer_that_never_stops_is_reported_within_seconds():
    start = time.perf_counter()
    result = check_11_3(store_no_sentinel)
    assert result.outcome is Outcome.WRONG
    assert "writer task ever stop" in result.message, result.message
    assert time.perf_counter() - start < nb11.CALL_LIMIT + 5


def test_a_wrong_model_is_a_clear_setup_error():
    with pytest.raises(TypeError, match="pass the model class defined in the notebook"):
        asyncio.run(nb11.check_11_2(titles_right, Reading))


def test_checker_bugs_are_not_blamed_on_the_learner(monkeypatch):
    def broken(*args):
        raise KeyError("checker bug")

    monkeypatch.setattr(nb11, "expect", broken)
    with pytest.raises(nb11.CheckerError, match="failed by itself"):
        check_11_2(titles_right)


# --- nothing left behind: no connection (and no aiosqlite worker thread) outlives a check --------


def _worker_threads() -> set:
    import threading

    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name and t.is_alive()}


@pytest.mark.parametrize("answer", [save_shared_session, save_one_transaction, save_no_except, save_right])
def test_11_1_leaves_no_connection_behind(answer):
    """CI once showed "Event loop is closed" from an aiosqlite thread in a LATER test: the shared-session
    answer left a connection checked out, and the garbage collector closed it inside another loop.
    The checker now closes what the learner's code left open, before its loop ends."""
    import gc
    import warnings

    before = _worker_threads()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_11_1(answer)  # the checker's own garbage collection at its end counts too
        gc.collect()
    deadline = time.monotonic() + 2
    while _worker_threads() - before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not (_worker_threads() - before), "an aiosqlite connection thread outlived the check"
    leaked = [str(w.message) for w in caught if "non-checked-in connection" in str(w.message) or "was deleted before being closed" in str(w.message)]
    assert not leaked, leaked
