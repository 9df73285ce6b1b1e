"""Checkers for notebook 09 (HTTP APIs: retries, pagination, sorting failures).

Every checker judges what the server saw (GET /attempts/{key}: attempts, arrival
times, retries that came back before Retry-After allowed; the gauge: which
pages were requested) and what the learner's code returned.  Keys, page sizes
and fault scripts are chosen per run, so hard-coded answers cannot pass.
The learner's coroutines run as tasks watched by asyncio.wait, so a swallowed
CancelledError or a retry loop that never ends cannot hang a check.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import httpx

from helpers.checks import NotAttempted, Result, Wrong, expect, is_stub, run_check
from helpers.lab import Lab
from helpers.services.items import make_item

MAX_ATTEMPTS = 6
LAG_LIMIT = 0.5  # seconds the event loop may be frozen before we call it a blocking call
RESPONSE_HINT = "return response.json(), not the Response"
_abandoned: set[asyncio.Task] = set()  # tasks that ignored cancellation: referenced until they end


class Heartbeat:
    """Measures the longest freeze of the event loop while the learner's code runs."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, loop.time() - before - self.interval)

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.create_task(self._beat())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class Outcome:
    """What one call of the learner's function did: a value, an exception, or still running."""

    def __init__(self, value: Any = None, error: BaseException | None = None, running: bool = False) -> None:
        self.value, self.error, self.running = value, error, running

    def __repr__(self) -> str:
        if self.running:
            return "still running"
        if self.error is not None:
            return f"raised {describe(self.error)}"
        return f"returned {type(self.value).__name__}"


async def run_calls(calls: dict[str, Callable[[], Any]], timeout: float) -> dict[str, Outcome]:
    """Run each learner call as a task, at once; never wait past `timeout` (+1 s for cleanup)."""
    tasks: dict[str, asyncio.Future] = {}
    for name, call in calls.items():
        made = call()
        if not inspect.isawaitable(made):
            for task in tasks.values():
                task.cancel()
            raise Wrong(f"calling your function returned {type(made).__name__}, not a coroutine: define it with `async def`")
        tasks[name] = asyncio.ensure_future(made)
    done, pending = await asyncio.wait(tasks.values(), timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)
    outcomes = {}
    for name, task in tasks.items():
        if not task.done():
            _abandoned.add(task)
            task.add_done_callback(_abandoned.discard)
            outcomes[name] = Outcome(running=True)
        elif task in pending or task.cancelled():
            outcomes[name] = Outcome(running=True)
            if not task.cancelled():
                task.exception()  # retrieved: no "exception was never retrieved" log
        elif task.exception() is not None:
            outcomes[name] = Outcome(error=task.exception())
        else:
            outcomes[name] = Outcome(value=task.result())
    return outcomes


async def server_logs(lab: Lab, keys: dict[str, str]) -> dict[str, dict]:
    """What the fault endpoints saw for each key (attempts, arrivals, early retries), by name."""
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            logs = {}
            for name, key in keys.items():
                response = await client.get(lab.url(f"/attempts/{key}"))
                response.raise_for_status()
                logs[name] = response.json()
            return logs
    except httpx.HTTPError as exc:
        raise Wrong(f"the checker could not read the server's record ({type(exc).__name__}); this is not your code's fault: run `lab = await helpers.lab.start()` and the check again") from None


def describe(error: BaseException) -> str:
    text = str(error).split("\n")[0]
    return f"{type(error).__name__}{': ' + text[:100] if text else ''}"


# --- Exercise 9.1: a retrying fetch ---------------------------------------------------


async def retry_at_once(client: httpx.AsyncClient, url: str, attempts: int = MAX_ATTEMPTS) -> None:
    """The checker's control: retries with no wait at all, to measure what a request costs right now."""
    for _ in range(attempts):
        try:
            await client.get(url)
        except httpx.HTTPError:
            pass

PERMANENT_CODES = (400, 401, 403, 404, 409, 422)
SERVER_ERRORS = (500, 501)  # not in the exercise's list of statuses to retry (the lesson: "by default, not 500")


def scripts_9_1(rng: random.Random | None = None) -> dict[str, str]:
    """Fault scripts for this run (the order of the transient statuses and the drops vary).

    "transient" meets 502, 503 AND 504, in a random order: with two of the three (as before), an
    answer that forgot one of them passed 1 run in 6 (forgot 502) or 1 in 3 (forgot 504).
    Every run meets EVERY code of PERMANENT_CODES, one script each ("perm400", ...): with one
    code drawn per run, an answer that retried only some 4xx (409, say) passed 5 runs in 6.
    500 and 501 too ("perm500", "perm501"): an answer that retried every 5xx used to pass.
    """
    rng = rng or random.Random()
    transient = ",".join(map(str, rng.sample([502, 503, 504], 3))) + ",200"
    scripts = {
        "ok": "steps=200",
        "transient": f"steps={transient}",
        "dropped": f"steps=drop,{rng.choice([502, 503])},200",
        "timeout": "steps=slow,200",  # the first answer comes after the client's 2 s timeout
        "sixth": "steps=503,503,503,503,503,200",
        "seconds": "steps=429,200&retry_after=1",
        "date": "steps=503,200&retry_after=1&form=date",
        "forever": "steps=503",
        "forever2": f"steps={rng.choice([502, 504])}",
        "forever3": "steps=429",
    }
    scripts.update({f"perm{code}": f"steps={code},200" for code in PERMANENT_CODES + SERVER_ERRORS})
    return scripts


def expected_attempts(script: str) -> int:
    return len(script.split("&")[0].removeprefix("steps=").split(","))


async def check_9_1(fetch_with_retries: Callable[[httpx.AsyncClient, str], Awaitable[dict]], lab: Lab) -> Result:
    """fetch_with_retries(client, url): JSON body of the first 2xx; retries only what may pass, honours Retry-After, at most 6 attempts."""
    run = uuid.uuid4().hex[:8]
    scripts = scripts_9_1()
    keys = {name: f"ex91-{run}-{name}" for name in scripts}
    control_key = f"ex91-{run}-control"  # the checker's own no-wait retries: what "no wait" looks like right now

    async def attempt() -> tuple[dict[str, Outcome], dict[str, dict], float]:
        if is_stub(fetch_with_retries):
            raise NotAttempted
        async with httpx.AsyncClient(timeout=2.0) as client, Heartbeat() as heart:
            calls = {
                name: (lambda url=lab.url(f"/script/{keys[name]}?{script}"): fetch_with_retries(client, url))
                for name, script in scripts.items()
            }
            control = asyncio.ensure_future(retry_at_once(client, lab.url(f"/script/{control_key}?steps=503")))
            outcomes = await run_calls(calls, timeout=10.0)
            await asyncio.wait([control], timeout=5)
        logs = await server_logs(lab, {**keys, "control": control_key})
        return outcomes, logs, heart.worst

    def verify(data: tuple[dict[str, Outcome], dict[str, dict], float]) -> str:
        outcomes, logs, worst_lag = data
        n = {name: log["attempts"] for name, log in logs.items()}
        for name, outcome in outcomes.items():
            if isinstance(outcome.value, httpx.Response):
                raise Wrong(f"{RESPONSE_HINT}: a successful call should give the JSON body, a dict")
        expect(worst_lag < LAG_LIMIT, f"the event loop was frozen for {worst_lag:.1f} s: a blocking call (time.sleep?) stops everything; wait with `await asyncio.sleep(...)`")
        running = [name for name, outcome in outcomes.items() if outcome.running]
        if running:
            stuck = max(running, key=lambda name: n[name])
            raise Wrong(f"your function was still running after 10 s for a URL the server had answered {n[stuck]} times: cap the attempts at {MAX_ATTEMPTS} and the waits (start around 0.05 s), and let cancellation through")
        permanent = [name for name in scripts if name.startswith("perm")]
        retried = [name.removeprefix("perm") for name in permanent if n[name] != 1]
        client_errors = [code for code in retried if code.startswith("4")]
        if client_errors:
            which = f"a {client_errors[0]} was" if len(client_errors) == 1 else f"the 4xx answers {', '.join(client_errors)} were"
            raise Wrong(f"{which} tried more than once: never retry a 4xx other than 429 (the request is wrong and stays wrong); raise at once with response.raise_for_status()")
        which = f"a {retried[0]} was" if len(retried) == 1 else f"{' and '.join(retried)} were"
        expect(not retried, f"{which} retried: retry only 429, 502, 503 and 504 (a 500 is often a bug that repeats, a 501 means the server cannot do it); raise the others at once with response.raise_for_status()")
        for name in permanent:
            perm = outcomes[name]
            expect(isinstance(perm.error, httpx.HTTPStatusError), f"a {name.removeprefix('perm')} answer should raise httpx.HTTPStatusError (response.raise_for_status()), but your function {perm!r}")
        expect(n["ok"] == 1, f"a URL that answered 200 at once was requested {n['ok']} times: return the first success")
        expect(n["transient"] > 1, f"a {scripts['transient'].split('=')[1].split(',')[0]} was not retried: 502, 503 and 504 may pass, retry them")
        gave_up = outcomes["transient"].error
        if isinstance(gave_up, httpx.HTTPStatusError) and gave_up.response.status_code in (502, 503, 504) and n["transient"] < 3:
            raise Wrong(f"a {gave_up.response.status_code} was not retried: 502, 503 and 504 may pass, retry them")
        timed_out = outcomes["timeout"].error
        timeout_kept = isinstance(timed_out, httpx.TimeoutException) and n["timeout"] == 1
        drop_kept = outcomes["dropped"].error is not None and n["dropped"] == 1
        if timeout_kept and drop_kept:
            raise Wrong("a request that timed out and a dropped connection were not retried: retry httpx.TransportError (it covers timeouts, connect errors and httpx.RemoteProtocolError)")
        if timeout_kept:
            raise Wrong(f"a request that timed out was not retried (your function raised {describe(timed_out)}): retry httpx.TimeoutException too (or httpx.TransportError, which covers timeouts, connect errors and dropped connections)")
        if drop_kept:
            raise Wrong(f"a dropped connection was not retried (your function raised {describe(outcomes['dropped'].error)}): retry httpx.TransportError (connect errors, timeouts, httpx.RemoteProtocolError) too")
        expect(n["seconds"] > 1, "a 429 was not retried: 429 Too Many Requests may pass after the wait it asks for")
        for name, label in (("seconds", "seconds ('Retry-After: 1')"), ("date", "an HTTP date")):
            expect(logs[name]["early"] == 0, f"a retry came back before the Retry-After the server sent ({label}): read the header and sleep that long (for a date, until that moment)")
        most = max(n["forever"], n["forever2"], n["forever3"])
        expect(most <= MAX_ATTEMPTS, f"a URL that always fails was tried {most} times: give up after at most {MAX_ATTEMPTS} attempts")
        expect(n["sixth"] > 1, "a 503 was not retried: 502, 503 and 504 may pass, retry them")
        expect(n["sixth"] == MAX_ATTEMPTS, f"a URL that succeeds on attempt {MAX_ATTEMPTS} was tried {n['sixth']} times: make up to {MAX_ATTEMPTS} attempts in all")
        forever = outcomes["forever"]
        expect(forever.error is not None, f"for a URL that always answers 503 your function returned {type(forever.value).__name__} instead of raising the last error after {MAX_ATTEMPTS} attempts")
        for name in ("ok", "transient", "dropped", "timeout", "sixth", "seconds", "date"):
            outcome = outcomes[name]
            if outcome.error is not None:
                raise Wrong(f"a URL that succeeds on attempt {expected_attempts(scripts[name])} made your function raise {describe(outcome.error)}")
            body = outcome.value
            expect(isinstance(body, dict), f"return the JSON body (response.json()), a dict; got {type(body).__name__}")
            expect(body.get("key") == keys[name] and body.get("status") == 200, f"the body returned is not the successful answer's ({body!r:.80}): return response.json() of the 2xx response")
        failing = ("sixth", "forever", "forever2", "forever3")
        gaps = [[b - a for a, b in zip(times, times[1:])] for times in (logs[name]["arrivals"] for name in failing)]
        control = logs["control"]["arrivals"]
        no_wait = sorted(b - a for a, b in zip(control, control[1:]))[len(control) // 2 - 1] if len(control) > 2 else 0.0
        waits = [[max(0.0, gap - no_wait) for gap in one] for one in gaps]  # beyond what a request takes
        later = sorted(w for one in waits for w in one[2:])  # where a right answer's bound is >= 0.2 s
        waited = sum(map(sum, waits))
        if waited < 0.15 or (later and later[len(later) // 2] < 0.03):
            raise Wrong(f"{len(failing)} failing URLs were retried {sum(map(len, gaps))} times with about {waited * 1000:.0f} ms of waiting in all (beyond the time a request takes): wait between attempts (exponential backoff from about 0.05 s, with jitter)")

        def same(one: list[float], other: list[float]) -> bool:  # the longer waits (bounds >= 0.2 s) are alike
            return len(one) == len(other) >= 5 and all(abs(x - y) <= 0.06 for x, y in zip(one[2:], other[2:]))

        if all(same(gaps[0], other) for other in gaps[1:]):
            raise Wrong(f"{len(failing)} URLs failing at the same time waited the same times between attempts: add full jitter, a random wait between 0 and the exponential bound (random.uniform(0, bound))")
        return f"{len(scripts)} hidden scripts: transient failures retried (up to {MAX_ATTEMPTS} attempts), {len(PERMANENT_CODES)} kinds of 4xx and {'/'.join(map(str, SERVER_ERRORS))} not retried, Retry-After honoured in both forms"

    return await run_check("9.1", attempt, verify, timeout=25)


# --- Exercise 9.2: a paginating async generator ---------------------------------------


class Collection:
    """One /items collection a 9.2 check reads: its size, page size, seed, and where the caller stops."""

    def __init__(self, total: int, limit: int, seed: int, stop: int | None = None) -> None:
        self.total, self.limit, self.seed, self.stop = total, limit, seed, stop

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.limit)

    def items(self, count: int | None = None) -> list[dict]:
        return [make_item(i, self.seed) for i in range(1, (count or self.total) + 1)]

    def path(self) -> str:
        return f"/items?total={self.total}&limit={self.limit}&seed={self.seed}"


def plan_9_2(rng: random.Random | None = None) -> dict[str, Collection]:
    """The collections of one 9.2 check: "short", "exact" and "early", each with its own seed.

    "short" ends with a short page (2 to limit-2 items); "exact" holds a whole number of full
    pages, so its last page is full and only `next: null` says it is the last: stopping at a
    short page (or computing total // limit + 1 pages) is caught in EVERY run, not only when a
    drawn total happened to be a multiple (1 run in 27 before).  "early" is read by a caller
    that stops somewhere in page 2.  The two page sizes differ, so no guessed size fits both.
    """
    rng = rng or random.Random()
    short_limit, exact_limit = rng.sample(range(20, 36), 2)
    seeds = rng.sample(range(10**6, 10**9), 3)
    short_total = short_limit * rng.randint(7, 9) + rng.randint(2, short_limit - 2)
    stop = short_limit + rng.randint(2, short_limit - 5)  # somewhere in page 2
    return {
        "short": Collection(short_total, short_limit, seeds[0]),
        "exact": Collection(exact_limit * rng.randint(4, 7), exact_limit, seeds[1]),
        "early": Collection(short_total, short_limit, seeds[2], stop),
    }


class Read:
    """What the learner's generator gave one caller: the items, and the exception it raised, if any."""

    def __init__(self, got: list, error: Exception | None) -> None:
        self.got, self.error = got, error


async def check_9_2(iter_items: Callable[[httpx.AsyncClient, str], Any], lab: Lab) -> Result:
    """iter_items(client, url): an async generator of every item, in order, each page fetched once and only when needed."""
    plan = plan_9_2()

    async def consume(client: httpx.AsyncClient, collection: Collection) -> Read:
        made = iter_items(client, lab.url(collection.path()))
        if inspect.iscoroutine(made):
            made.close()
            raise Wrong("iter_items returned a coroutine, not an async generator: `yield` each item inside the `async def` (do not collect them into a list and return it)")
        expect(hasattr(made, "__aiter__"), f"iter_items returned {type(made).__name__}: make it an async generator (`async def` with `yield`)")
        got: list = []
        enough = collection.stop or collection.total + collection.limit  # a generator that never ends is cut here
        try:
            async for item in made:
                got.append(item)
                if len(got) >= enough:
                    break
        except Exception as error:  # the learner's generator raised: judged in verify, with the items so far
            return Read(got, error)
        finally:
            if hasattr(made, "aclose"):
                try:
                    await made.aclose()
                except Exception:  # noqa: BLE001 - an error while closing is judged with the rest
                    pass
        return Read(got, None)

    async def attempt() -> tuple[dict[str, Read], list[dict]]:
        if is_stub(iter_items):
            raise NotAttempted
        lab.reset_gauge()
        async with httpx.AsyncClient(timeout=5) as client, Heartbeat() as heart:
            reads = {name: await consume(client, collection) for name, collection in plan.items()}
        expect(heart.worst < LAG_LIMIT, f"the event loop was frozen for {heart.worst:.1f} s: no blocking calls inside an async generator")
        return reads, lab.gauge().spans

    def verify(data: tuple[dict[str, Read], list[dict]]) -> str:
        reads, spans = data
        requested = {name: [s["path"] for s in spans if f"seed={c.seed}" in s["path"]] for name, c in plan.items()}
        short, exact, early = plan["short"], plan["exact"], plan["early"]
        everything = reads["short"].got
        expect(not any(isinstance(x, httpx.Response) for x in everything), f"{RESPONSE_HINT}, and yield each item of page['items']")
        expect(not any(isinstance(x, (list, dict)) and ("items" in x if isinstance(x, dict) else True) for x in everything[:1]), "yield each item, one at a time (`for item in page['items']: yield item`), not whole pages")
        for name, collection in plan.items():
            read = reads[name]
            if read.error is not None and read.got == collection.items():
                why = ("a short page is not the end signal: a collection whose size is a multiple of the page size ends with a full page"
                       if collection.total % collection.limit == 0 else "no empty page comes after the last one: the page whose `next` is null is the last")
                raise Wrong(f"after the last page of a collection of {collection.total} items ({collection.pages} pages of up to {collection.limit}), whose `next` is null, your generator went on and raised {describe(read.error)}: stop when `next` is null; {why}")
            if read.error is not None:
                raise Wrong(f"your generator raised {describe(read.error)} after {len(read.got)} of the collection's {collection.total} items: request the first URL, then each page's `next` URL, until `next` is null")
        expect(len(everything) == short.total, f"the collection has {short.total} items (the first page says so), you yielded {len(everything)}: follow each page's `next` URL until it is null")
        expect(everything == short.items(), "the items are not the collection's, in order: yield page['items'] of every page, in the order the `next` links give")
        all_pages = requested["short"]
        expect(len(all_pages) == len(set(all_pages)), "the same page was requested twice: request each `next` URL once")
        expect(len(all_pages) == short.pages, f"the server saw {len(all_pages)} page requests for {short.pages} pages: request the first URL, then each `next` URL once")
        got = reads["exact"].got
        expect(len(got) == exact.total and got == exact.items(), f"a collection of {exact.total} items in {exact.pages} FULL pages of {exact.limit}: you yielded {len(got)} items{'' if len(got) != exact.total else ', not its items in order'}: follow `next` whatever the size of a page, and stop as soon as `next` is null (the last page of this one is full)")
        expect(len(requested["exact"]) == exact.pages, f"a collection of {exact.pages} full pages took {len(requested['exact'])} page requests: request the first URL, then each `next` URL once, and stop when `next` is null")
        connections = {span.get("conn") for span in spans if f"seed={short.seed}" in span["path"]}
        expect(len(connections) <= 2, f"the {short.pages} pages came over {len(connections)} different connections: request them with the `client` passed in (httpx.get or a new client per page opens a connection each time, and a sync call blocks the loop)")
        assert early.stop is not None
        expect(reads["early"].got == early.items(early.stop), "a caller that stops early should still get the first items in order")
        expect(len(requested["early"]) <= 2, f"a caller that stopped after {early.stop} items (in page 2) made your generator request {len(requested['early'])} pages: fetch a page only when its items are needed (yield inside the loop that follows `next`)")
        return "every item in order, each page fetched once and only when needed, a last page that is full or short both ended by `next: null` (a caller stopping in page 2 cost 2 requests)"

    return await run_check("9.2", attempt, verify)


# --- Exercise 9.3: fetch all, sort the failures ---------------------------------------

SLOW = 2.0  # seconds the slow URLs take; the checker's client gives up after TIMEOUT_9_3
TIMEOUT_9_3 = 0.5
RETRY_STATUSES_9_3 = ("429", "502", "503", "504")
PERMANENT_STATUSES_9_3 = ("500", "501", "400", "401", "403", "404", "410", "422")


def kinds_9_3(rng: random.Random | None = None) -> list[str]:
    """What each URL of a run does, shuffled: "ok", "retry:<status|drop|refused|slow>", "perm:<status>".

    Every run holds EVERY status the exercise names (429, 502, 503, 504 retryable; 500, 501 and
    six 4xx permanent), in an order drawn per run.  Sampling 3 of the 4 retry statuses (as
    before) let an answer that filed 429 as permanent pass 1 run in 4.  A slow (timed-out) URL
    always comes before some fast retryable failure, so 'retryable' in completion order is
    never input order (both slow URLs last among the retryable ones: 1 draw in 28 before).
    """
    rng = rng or random.Random()
    kinds = (
        ["ok"] * 3
        + [f"retry:{s}" for s in RETRY_STATUSES_9_3]
        + ["retry:drop", "retry:refused", "retry:slow", "retry:slow"]
        + [f"perm:{s}" for s in PERMANENT_STATUSES_9_3]
    )
    rng.shuffle(kinds)
    retries = [i for i, kind in enumerate(kinds) if kind.startswith("retry:")]
    if kinds[retries[-1]] == kinds[retries[-2]] == "retry:slow":  # a slow URL must precede a fast failure,
        other = rng.choice(retries[:-2])  # so completion order differs from input order in every run
        kinds[other], kinds[retries[-1]] = kinds[retries[-1]], kinds[other]
    return kinds


async def check_9_3(fetch_all_sorted: Callable[[httpx.AsyncClient, list[str]], Awaitable[dict]], lab: Lab) -> Result:
    """fetch_all_sorted(client, urls) -> {"ok": [bodies], "retryable": [urls], "permanent": [urls]}, each URL fetched once, all at once."""
    run = uuid.uuid4().hex[:8]
    kinds = kinds_9_3()
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    refused = f"http://127.0.0.1:{blocker.getsockname()[1]}/ex93-{run}"
    urls, keys = [], []
    for i, kind in enumerate(kinds):
        key = f"ex93-{run}-{i}"
        step = kind.split(":")[-1]
        if step == "refused":
            urls.append(refused)
        elif step == "slow":
            urls.append(lab.url(f"/delay/{SLOW}?key={key}"))
        else:
            urls.append(lab.url(f"/script/{key}?steps={200 if kind == 'ok' else step}"))
        keys.append(key)

    async def attempt() -> tuple[Outcome, float, dict[str, int]]:
        if is_stub(fetch_all_sorted):
            raise NotAttempted
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_9_3, follow_redirects=False) as client, Heartbeat() as heart:
                started = time.perf_counter()
                outcome = (await run_calls({"all": lambda: fetch_all_sorted(client, list(urls))}, timeout=10.0))["all"]
                elapsed = time.perf_counter() - started
        finally:
            blocker.close()
        expect(heart.worst < LAG_LIMIT, f"the event loop was frozen for {heart.worst:.1f} s: a blocking call stops every request")
        scripted = {url: key for url, key in zip(urls, keys) if "/script/" in url}
        logs = await server_logs(lab, scripted)
        return outcome, elapsed, {url: log["attempts"] for url, log in logs.items()}

    def verify(data: tuple[Outcome, float, dict[str, int]]) -> str:
        outcome, elapsed, attempts = data
        expect(not outcome.running, "your function was still running after 10 s: fetch each URL once, with no retries, and let the client's timeout end slow requests")
        if outcome.error is not None:
            raise Wrong(f"your function raised {describe(outcome.error)}: catch httpx.RequestError (refused, timed out, dropped) for each URL and sort it, so one failure does not lose the others")
        result = outcome.value
        expect(isinstance(result, dict), f"return a dict with the keys 'ok', 'retryable' and 'permanent', got {type(result).__name__}")
        missing = {"ok", "retryable", "permanent"} - set(result)
        expect(not missing, f"the returned dict lacks {sorted(missing)}: return {{'ok': [...], 'retryable': [...], 'permanent': [...]}}")
        ok, retryable, permanent = result["ok"], result["retryable"], result["permanent"]
        expect(all(isinstance(x, list) for x in (ok, retryable, permanent)), "each of 'ok', 'retryable' and 'permanent' should be a list")
        expect(not any(isinstance(x, httpx.Response) for x in ok), RESPONSE_HINT + ": 'ok' holds the JSON bodies")
        for name, got in (("retryable", retryable), ("permanent", permanent)):
            bad = next((x for x in got if not isinstance(x, str)), None)
            expect(bad is None, f"'{name}' should hold the URLs as strings (str(url)), found a {type(bad).__name__}")
        retried = [url for url, n in attempts.items() if n > 1]
        expect(not retried, f"{len(retried)} URL(s) were requested more than once: this exercise fetches each URL exactly once (sorting is what makes a later retry possible)")
        want_ok = [k for k, kind in zip(keys, kinds) if kind == "ok"]
        want_retry = [u for u, kind in zip(urls, kinds) if kind.startswith("retry")]
        want_perm = [u for u, kind in zip(urls, kinds) if kind.startswith("perm")]
        for url in retryable:
            if url in want_perm:
                status = kinds[urls.index(url)].split(":")[1]
                raise Wrong(f"a {status} is in 'retryable': only connection errors, timeouts, dropped connections and 429/502/503/504 may pass; other statuses are permanent")
        for url in permanent:
            if url in want_retry:
                kind = kinds[urls.index(url)].split(":")[1]
                raise Wrong(f"a {'timed-out' if kind == 'slow' else kind} URL is in 'permanent': connection errors, timeouts, dropped connections and 429/502/503/504 may pass, so they are retryable")
        lost = [kinds[urls.index(u)].split(":")[1] for u in want_retry if u not in retryable]
        expect(not lost, f"these retryable failures are missing from 'retryable': {', '.join(sorted(set(lost)))} (a refused or dropped connection and a timeout raise httpx.RequestError; catch it)")
        expect(sorted(permanent) == sorted(want_perm), f"'permanent' should hold the {len(want_perm)} URLs that answered a 4xx or 500/501, got {len(permanent)}")
        expect(retryable == want_retry and permanent == want_perm, "the URLs are sorted correctly but not in the order of `urls`: keep input order (gather returns results in input order)")
        keys_ok = [body.get("key") if isinstance(body, dict) else body for body in ok]
        expect(len(ok) == len(want_ok) and all(isinstance(b, dict) for b in ok), f"'ok' should hold the {len(want_ok)} JSON bodies (dicts) of the 2xx answers, got {len(ok)} item(s)")
        expect(keys_ok == want_ok, "'ok' does not hold the successful bodies in the order of `urls`")
        expect(elapsed < 2 * TIMEOUT_9_3 - 0.05, f"took {elapsed:.2f} s, but with every URL requested at once it takes about the {TIMEOUT_9_3} s timeout: start them all together (gather or a TaskGroup)")
        return f"{len(want_ok)} bodies, {len(want_retry)} retryable and {len(want_perm)} permanent failures, each URL fetched once, all at once ({elapsed:.2f} s)"

    return await run_check("9.3", attempt, verify)
