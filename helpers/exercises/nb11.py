"""Checkers for notebook 11 (async databases).

Each checker builds a fresh database of its own with helpers.db (SQLite, or
PostgreSQL when COURSE_DATABASE_URL is set), creates the learner's tables from
the model class the check cell passes in, and then judges only behaviour: what
ended up in the database, how many statements were sent, how many connections
were in use at once, and which errors the database raised.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import random
import secrets
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import (
    IllegalStateChangeError,
    IntegrityError,
    InvalidRequestError,
    MissingGreenlet,
    OperationalError,
    PendingRollbackError,
    SAWarning,
    StatementError,
)
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.util import greenlet_spawn

from helpers import db as helpers_db
from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check

CALL_LIMIT = 8.0  # seconds a learner's function may run before the check gives up on it

SHARED_SESSION_HINT = (
    "several tasks used one AsyncSession at once ({error}); give each task its own session: "
    "`async with Session() as session:` inside the function every task runs"
)
LAZY_HINT = (
    "touching a relationship such as user.posts without loading it raised MissingGreenlet (lazy loading "
    "cannot run under asyncio); load the posts in the query with .options(selectinload(User.posts))"
)


class Meter:
    """Counts what an engine did: statements sent (with when) and connections checked out at once."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[tuple[float, str]] = []
        self.out = 0
        self.peak = 0
        self.counting = False
        self.db_errors: list[str] = []  # errors the database raised, even those the learner's code swallowed
        self._held: dict[int, Any] = {}  # id(connection record) -> pooled connection checked out right now
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._statement)
        event.listen(sync, "handle_error", self._error)
        event.listen(sync.pool, "checkout", self._checkout)
        event.listen(sync.pool, "checkin", self._checkin)

    def start(self) -> None:
        self.statements.clear()
        self.out = self.peak = 0
        self.counting = True

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.counting:
            self.statements.append((time.perf_counter(), statement))

    def _error(self, context: Any) -> None:
        if self.counting:
            self.db_errors.append(str(context.original_exception))

    def _checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        self.out += 1
        self._held[id(record)] = proxy
        if self.counting:
            self.peak = max(self.peak, self.out)

    def _checkin(self, dbapi_connection: Any, record: Any) -> None:
        self.out = max(0, self.out - 1)
        self._held.pop(id(record), None)

    async def release_leftovers(self) -> int:
        """Close the connections the learner's code never gave back (a session left broken or open).

        Why: engine.dispose() closes only the connections in the pool.  A connection still checked
        out is closed much later by the garbage collector, often inside another event loop or after
        this one has closed, and aiosqlite's worker thread then reports to a closed loop ("Event
        loop is closed" in a thread).  Invalidating it now, on this loop, closes it for good.
        Returns how many there were.
        """
        held, self._held = list(self._held.values()), {}
        for proxy in held:
            try:
                await asyncio.wait_for(greenlet_spawn(proxy.invalidate), timeout=2.0)
            except Exception:  # noqa: BLE001 - best effort: the connection may be broken already
                pass
        return len(held)


def _check_model(model: object, table: str) -> None:
    """The check cell passes a model class; a wrong one is the notebook's setup, say so plainly."""
    name = getattr(model, "__tablename__", None)
    if name != table or not hasattr(model, "metadata"):
        raise TypeError(f"pass the model class defined in the notebook (the one with __tablename__ = {table!r}); got {model!r}")


async def _fresh(model: Any, name: str, *, sqlite_busy_timeout: float | None = None) -> tuple[helpers_db.DemoDB, AsyncEngine]:
    """A new, empty database with the learner's tables, and an engine on it (the checker's own setup)."""
    database = helpers_db.create_empty_db(name)
    args: dict[str, Any] = {}
    if database.backend == "sqlite" and sqlite_busy_timeout is not None:
        args["connect_args"] = {"timeout": sqlite_busy_timeout}
    engine = create_async_engine(database.url, **args)
    async with engine.begin() as conn:
        await conn.run_sync(model.metadata.create_all)
    return database, engine


async def _bounded(
    call: Coroutine[Any, Any, Any], hint: str, seconds: float = CALL_LIMIT, after: Callable[[], Awaitable[Any]] | None = None
) -> Any:
    """Await the learner's coroutine for at most `seconds`; never hang, even if it swallows cancellation.

    `after` runs the moment the learner's function has returned, before tasks it left running finish:
    what the database holds *then* is what the function delivered.  Returns (value, after's value).
    """
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(call)
    try:
        with warnings.catch_warnings():  # e.g. SAWarning from a shared session: the ❌ sentence says it better
            warnings.simplefilter("ignore", SAWarning)
            done, _ = await asyncio.wait({task}, timeout=seconds)
        if not done:
            task.cancel()
            await asyncio.wait({task}, timeout=1.0)
            raise Wrong(f"your code was still running after {seconds:g} s: {hint}")
        value = task.result()
        return (value, await after()) if after else value
    finally:  # tasks the learner's code left running would write into a closed engine: let them end first
        left = [t for t in asyncio.all_tasks() - before if t is not task and not t.done()]
        if left:
            _, pending = await asyncio.wait(left, timeout=2.0)
            for leftover in pending:  # e.g. a writer waiting forever on its queue
                leftover.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
            for leftover in left:  # their errors belong to the verdict, not to a "never retrieved" log line
                if leftover.done() and not leftover.cancelled():
                    leftover.exception()


def _database_error(exc: BaseException) -> str | None:
    """A learner-readable cause for the SQLAlchemy errors these exercises provoke, or None."""
    original = getattr(exc, "orig", None)
    if isinstance(exc, MissingGreenlet) or isinstance(original, MissingGreenlet):
        return LAZY_HINT
    message = str(exc).split("\n")[0]
    if isinstance(exc, (IllegalStateChangeError, PendingRollbackError)) or (
        isinstance(exc, InvalidRequestError) and ("concurrent" in message or "provisioning" in message or "in progress" in message)
    ):
        return SHARED_SESSION_HINT.format(error=f"{type(exc).__name__}: {message[:120]}")
    if "another operation is in progress" in message:  # asyncpg: two statements on one connection
        return SHARED_SESSION_HINT.format(error="another operation is in progress")
    return None


def _quiet_collect() -> None:
    """Collect what a failed lazy load leaves behind (a driver coroutine never awaited), without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gc.collect()


class CheckerError(BaseException):
    """The checker itself failed: raised past run_check (which would blame the learner's code)."""


async def _judged(exercise: str, run: Callable[[], Awaitable[Any]], verify: Callable[[Any], str]) -> Result:
    def guarded(value: Any) -> str:
        try:
            return verify(value)
        except (Wrong, NotAttempted):
            raise
        except Exception as exc:  # a bug in this checker, not in the learner's answer
            raise CheckerError(f"the check for Exercise {exercise} failed by itself (not your code): {type(exc).__name__}: {exc}") from exc

    result = await run_check(exercise, run, guarded)
    _quiet_collect()
    return result


def _token(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwz") + rng.choice("aeiou") for _ in range(3))


# --- 11.1 --------------------------------------------------------------------------------------


async def check_11_1(save_users: Callable[[async_sessionmaker, list[dict]], Awaitable[list[int | None]]], User: Any) -> Result:
    """save_users(Session, people): one session per person, concurrently; ids in input order, None for a taken email."""
    if is_stub(save_users):
        return await run_check("11.1", _not_attempted, _never)
    _check_model(User, "users")
    rng = random.Random(secrets.randbits(32))
    database, engine = await _fresh(User, "ex11_1.db")
    meter = Meter(engine)
    Session = async_sessionmaker(engine, expire_on_commit=False)
    tag = secrets.token_hex(2)
    existing = [{"name": f"{_token(rng).title()} Old", "email": f"{_token(rng)}.{tag}@old.test"} for _ in range(3)]
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO users (name, email) VALUES (:name, :email)"), existing)
    people = [{"name": f"{_token(rng).title()} {i}", "email": f"{_token(rng)}{i}.{tag}@new.test"} for i in range(7)]
    taken_at = sorted(rng.sample(range(1, 10), 3))  # never first: the first person always succeeds
    for position, old in zip(taken_at, existing):
        people.insert(position, {"name": f"{_token(rng).title()} Again", "email": old["email"]})
    taken = {i for i, p in enumerate(people) if p["email"] in {o["email"] for o in existing}}

    async def attempt() -> Any:
        meter.start()
        try:
            return await _bounded(save_users(Session, [dict(p) for p in people]), "is a task waiting for something that never happens?")
        except IntegrityError:
            raise Wrong("an IntegrityError (the email is already taken) escaped from save_users: catch it for that person, roll back that person's session, and return None in their place") from None
        except Exception as exc:
            hint = _database_error(exc)
            if hint:
                raise Wrong(hint) from None
            raise

    async def run() -> tuple[Any, list[tuple[int, str, str]]]:
        try:
            result = await attempt()
            async with engine.connect() as conn:
                rows = (await conn.execute(text("SELECT id, name, email FROM users"))).all()
            return result, [tuple(r) for r in rows]
        finally:
            await meter.release_leftovers()
            await engine.dispose()

    def verify(outcome: tuple[Any, list[tuple[int, str, str]]]) -> str:
        result, rows = outcome
        expect(result is not None, "save_users returned None: return the list of ids (one per person)")
        expect(isinstance(result, (list, tuple)), f"return a list of ids, got {type(result).__name__}")
        expect(len(result) == len(people), f"expected {len(people)} results (one per person), got {len(result)}")
        expect(not any(isinstance(r, User) for r in result), "return each new user's id (user.id), not the User object")
        by_email = {email: (row_id, name) for row_id, name, email in rows}
        stored_new = [p for p in people if p["email"] in by_email and by_email[p["email"]][1] == p["name"]]
        valid = [p for i, p in enumerate(people) if i not in taken]
        if not stored_new and any(value is None for value in result):
            raise Wrong(f"the database holds none of the {len(people) - len(taken)} people whose email was free: one taken email must not undo the others, so give every person their own session and transaction")
        expect(stored_new, "none of the people are in the users table: add each one as a User in its own session and commit it")
        wanted = [None if i in taken else by_email[p["email"]][0] if p["email"] in by_email else -1 for i, p in enumerate(people)]
        if collections.Counter(map(repr, result)) == collections.Counter(map(repr, wanted)) and list(result) != wanted:
            raise Wrong("the right ids, in the wrong order: return them in the order of `people` (gather keeps input order; as_completed does not)")
        expect(
            len(stored_new) == len(valid),
            f"the database holds {len(stored_new)} of the {len(valid)} people whose email was free: one taken email must not undo the others, so give every person their own session and transaction",
        )
        expect(len(rows) == len(existing) + len(valid), f"the users table has {len(rows)} rows, expected {len(existing) + len(valid)}: save each person once")
        for i, (person, value) in enumerate(zip(people, result)):
            if i in taken:
                expect(value is None, f"person {i} has an email that was already taken, so their result must be None, got {value!r}")
            else:
                expect(isinstance(value, int) and not isinstance(value, bool), f"result {i} should be the new user's id (an int), got {value!r}")
                expect(
                    value == by_email[person["email"]][0],
                    f"result {i} is id {value}, but person {i} was stored with id {by_email[person['email']][0]}: return the ids in the order of `people` (gather keeps input order; as_completed does not)",
                )
        expect(meter.peak >= 2, "only one connection was ever in use, so the people were saved one after another: run one task per person at once (gather or a TaskGroup), each with its own session")
        return f"{len(valid)} users saved, {len(taken)} taken emails answered with None, in input order, several sessions at once"

    return await _judged("11.1", run, verify)


async def _not_attempted() -> None:
    raise NotAttempted


def _never(value: object) -> str:  # pragma: no cover - _not_attempted always raises
    raise NotAttempted


# --- 11.2 --------------------------------------------------------------------------------------


async def check_11_2(titles_by_author: Callable[[Any], Awaitable[dict[str, list[str]]]], User: Any) -> Result:
    """titles_by_author(session): {name: [titles, newest first]} for every user, in at most 2 statements."""
    if is_stub(titles_by_author):
        return await run_check("11.2", _not_attempted, _never)
    _check_model(User, "users")
    rng = random.Random(secrets.randbits(32))
    database, engine = await _fresh(User, "ex11_2.db")
    n_users = rng.randint(7, 10)
    names = [f"{_token(rng).title()} {_token(rng).title()} {i}" for i in range(n_users)]
    counts = [rng.randint(1, 4) for _ in range(n_users)]
    counts[rng.randrange(1, n_users)] = 0  # somebody has written nothing
    post_ids = rng.sample(range(1, 500), sum(counts))
    posts, k = [], 0
    for user_id, n in enumerate(counts, start=1):
        for _ in range(n):
            posts.append({"id": post_ids[k], "user_id": user_id, "title": f"{_token(rng)} {_token(rng)} #{post_ids[k]}", "body": "-"})
            k += 1
    rng.shuffle(posts)  # stored out of id order (PostgreSQL then returns them so without ORDER BY)
    newest_first = sorted(posts, key=lambda p: -p["id"])
    expected = {name: [p["title"] for p in newest_first if p["user_id"] == uid] for uid, name in enumerate(names, start=1)}
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO users (id, name, email) VALUES (:id, :name, :email)"), [{"id": i, "name": n, "email": f"u{i}@x.test"} for i, n in enumerate(names, start=1)])
        await conn.execute(text("INSERT INTO posts (id, user_id, title, body) VALUES (:id, :user_id, :title, :body)"), posts)
    meter = Meter(engine)
    Session = async_sessionmaker(engine, expire_on_commit=False)

    async def run() -> tuple[Any, int]:
        try:
            async with Session() as session:
                meter.start()
                try:
                    result = await _bounded(titles_by_author(session), "is something awaited that never finishes?")
                except Exception as exc:
                    hint = _database_error(exc)
                    if hint:
                        raise Wrong(hint) from None
                    raise
                sent = len(meter.statements)
            return result, sent
        finally:
            await meter.release_leftovers()
            await engine.dispose()

    def verify(outcome: tuple[Any, int]) -> str:
        result, sent = outcome
        expect(result is not None, "titles_by_author returned None: return the dict")
        expect(isinstance(result, dict), f"return a dict {{user name: [titles]}}, got {type(result).__name__}")
        for name, titles in result.items():
            expect(isinstance(titles, (list, tuple)), f"{name!r} maps to {type(titles).__name__}; map each user to a list of titles")
            expect(all(isinstance(t, str) for t in titles), f"{name!r} maps to Post objects, not titles; map each user to a list of post *titles* (post.title)")
        missing = [n for n in names if n not in result]
        no_posts = [n for n, titles in expected.items() if not titles]
        if missing and set(missing) <= set(no_posts):
            raise Wrong(f"users with no posts are missing ({missing[0]!r} should map to []): an inner join drops them; use selectinload(User.posts), or an outer join")
        if missing:
            raise Wrong(f"{len(missing)} of the {n_users} users are missing from the result, e.g. {missing[0]!r}: key the dict by user.name, for every user")
        strangers = sorted(map(str, set(result) - set(names)))
        if strangers:
            raise Wrong(f"the dict has keys that are not user names, e.g. {strangers[0]!r}: key it by user.name")
        for name in names:
            if sorted(result[name]) == sorted(expected[name]) and result[name] != expected[name]:
                raise Wrong(f"{name!r}'s titles are not newest first: the highest post id comes first (order by Post.id descending, or reverse the relationship's list)")
            expect(result[name] == expected[name], f"{name!r} maps to {result[name]!r}, expected {expected[name]!r}: read the titles from the database, for that user")
        expect(
            sent <= 2,
            f"your function sent {sent} statements for {n_users} users: that is the N+1 pattern (one query per user); load the posts with the users in one go: select(User).options(selectinload(User.posts)) sends 2",
        )
        return "every user with their titles newest first, in at most 2 statements"

    return await _judged("11.2", run, verify)


# --- 11.3 --------------------------------------------------------------------------------------

N_SENSORS = 5
READINGS_PER_SENSOR = 10
READING_EVERY = 0.04  # seconds between two readings of one sensor


async def check_11_3(store_readings: Callable[[async_sessionmaker, list[AsyncIterator[dict]]], Awaitable[int]], Reading: Any) -> Result:
    """store_readings(Session, sensors): every reading stored, sensors read concurrently, one writer at a time."""
    if is_stub(store_readings):
        return await run_check("11.3", _not_attempted, _never)
    _check_model(Reading, "readings")
    rng = random.Random(secrets.randbits(32))
    # busy timeout 0 on SQLite: two writers at once fail at once with "database is locked"
    database, engine = await _fresh(Reading, "ex11_3.db", sqlite_busy_timeout=0)
    meter = Meter(engine)
    Session = async_sessionmaker(engine, expire_on_commit=False)
    names = [f"s{_token(rng)}{i}" for i in range(N_SENSORS)]
    plan = {name: [round(rng.uniform(-20, 40), 2) for _ in range(READINGS_PER_SENSOR)] for name in names}
    expected = collections.Counter((name, value) for name, values in plan.items() for value in values)
    produced: list[float] = []

    async def sensor(name: str) -> AsyncIterator[dict]:
        for value in plan[name]:
            await asyncio.sleep(READING_EVERY)
            produced.append(time.perf_counter())
            yield {"sensor": name, "value": value}

    async def attempt() -> Any:
        meter.start()
        start = time.perf_counter()
        try:
            written, rows = await _bounded(
                store_readings(Session, [sensor(n) for n in names]),
                "does your writer task ever stop? After the sensors are done, put a sentinel (None) on the queue and await the writer task",
                after=rows_now,
            )
        except OperationalError as exc:
            if "locked" in str(exc):
                raise Wrong("the database said 'database is locked': more than one task wrote at once. Let the sensor tasks only put readings on an asyncio.Queue, and let ONE writer task take them off and write them") from None
            raise
        except Exception as exc:
            hint = _database_error(exc)
            if hint:
                raise Wrong(hint) from None
            raise
        return written, time.perf_counter() - start, rows

    async def rows_now() -> list[tuple[str, float]]:
        meter.counting = False  # from here on, what the engine sees is the checker's doing, not the answer's
        patient = create_async_engine(database.url)  # the checker's own read waits for any lock
        try:
            async with patient.connect() as conn:
                rows = (await conn.execute(text("SELECT sensor, value FROM readings"))).all()
        finally:
            await patient.dispose()
        return [(s, round(float(v), 2)) for s, v in rows]

    async def run() -> tuple[Any, float, list[tuple[str, float]]]:
        try:
            return await attempt()
        finally:
            await meter.release_leftovers()
            await engine.dispose()

    def verify(outcome: tuple[Any, float, list[tuple[str, float]]]) -> str:
        written, seconds, rows = outcome
        total = N_SENSORS * READINGS_PER_SENSOR
        stored = collections.Counter(rows)
        extra = stored - expected
        if extra:
            raise Wrong(f"the table has rows no sensor sent (or duplicates), e.g. {next(iter(extra))!r}: store each reading once, as it came")
        locked = [e for e in meter.db_errors if "locked" in e]
        expect(
            not locked,
            f"the database refused {len(locked)} write(s) with 'database is locked' (your code caught them): several tasks wrote at once. Let the sensors only put readings on an asyncio.Queue, and ONE writer task write them",
        )
        expect(rows, "none of the readings are in the table: store each one as a Reading row, written by one writer task that takes them off a queue")
        missing = sum((expected - stored).values())
        expect(
            missing == 0,
            f"{missing} of the {total} readings are not in the table: did the writer finish (and commit) before store_readings returned? Wait for it: put a sentinel on the queue and await the writer task",
        )
        expect(written is not None, "store_readings returned None: return the number of rows written")
        expect(written == total, f"store_readings returned {written!r}, but {total} rows were written: count the rows your writer wrote")
        expect(
            meter.peak <= 1,
            f"{meter.peak} connections were in use at once: several tasks wrote at the same time. Let the sensors only put readings on a queue, and ONE writer task write them",
        )
        one_by_one = N_SENSORS * READINGS_PER_SENSOR * READING_EVERY
        expect(
            seconds < one_by_one * 0.6,
            f"it took {seconds:.2f} s, about as long as reading the sensors one after another ({one_by_one:.1f} s): start one task per sensor, all at once, each putting its readings on the queue",
        )
        first_write = min((t for t, s in meter.statements if s.lstrip().upper().startswith("INSERT")), default=None)
        expect(
            first_write is not None and first_write < max(produced),
            "nothing was written until every sensor had finished: the writer should store readings while they are still arriving (it takes them off the queue as they come)",
        )
        return f"{total} readings from {N_SENSORS} sensors stored in {seconds:.2f} s, never more than one writer at once"

    return await _judged("11.3", run, verify)
