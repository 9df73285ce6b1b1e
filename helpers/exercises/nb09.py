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


def scripts_9_1() -> dict[str, str]:
    """Fault scripts for this run (the permanent status and the order vary).

    "transient" meets 502, 503 AND 504, in a random order: with two of the three (as before), an
    answer that forgot one of them passed 1 run in 6 (forgot 502) or 1 in 3 (forgot 504).
    """
    transient = ",".join(map(str, random.sample([502, 503, 504], 3))) + ",200"
    return {
        "ok": "steps=200",
        "transient": f"steps={transient}",
        "dropped": f"steps=drop,{random.choice([502, 503])},200",
        "sixth": "steps=503,503,503,503,503,200",
        "seconds": "steps=429,200&retry_after=1",
        "date": "steps=503,200&retry_after=1&form=date",
        "permanent": f"steps={random.choice(PERMANENT_CODES)},200",
        "forever": "steps=503",
        "forever2": f"steps={random.choice([502, 504])}",
        "forever3": "steps=429",
    }


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
        code = int(scripts["permanent"].split("=")[1].split(",")[0])
        n = {name: log["attempts"] for name, log in logs.items()}
        for name, outcome in outcomes.items():
            if isinstance(outcome.value, httpx.Response):
                raise Wrong(f"{RESPONSE_HINT}: a successful call should give the JSON body, a dict")
        expect(worst_lag < LAG_LIMIT, f"the event loop was frozen for {worst_lag:.1f} s: a blocking call (time.sleep?) stops everything; wait with `await asyncio.sleep(...)`")
        expect(n["permanent"] == 1, f"a {code} was tried {n['permanent']} times: never retry a 4xx other than 429 (the request is wrong and stays wrong); raise at once with response.raise_for_status()")
        perm = outcomes["permanent"]
        expect(isinstance(perm.error, httpx.HTTPStatusError), f"a {code} answer should raise httpx.HTTPStatusError (response.raise_for_status()), but your function {perm!r}")
        expect(n["ok"] == 1, f"a URL that answered 200 at once was requested {n['ok']} times: return the first success")
        expect(n["transient"] > 1, f"a {scripts['transient'].split('=')[1].split(',')[0]} was not retried: 502, 503 and 504 may pass, retry them")
        gave_up = outcomes["transient"].error
        if isinstance(gave_up, httpx.HTTPStatusError) and gave_up.response.status_code in (502, 503, 504) and n["transient"] < 3:
            raise Wrong(f"a {gave_up.response.status_code} was not retried: 502, 503 and 504 may pass, retry them")
        if outcomes["dropped"].error is not None and n["dropped"] == 1:
            raise Wrong(f"a dropped connection was not retried (your function raised {describe(outcomes['dropped'].error)}): retry httpx.TransportError (connect errors, timeouts, httpx.RemoteProtocolError) too")
        expect(n["seconds"] > 1, "a 429 was not retried: 429 Too Many Requests may pass after the wait it asks for")
        for name, label in (("seconds", "seconds ('Retry-After: 1')"), ("date", "an HTTP date")):
            expect(logs[name]["early"] == 0, f"a retry came back before the Retry-After the server sent ({label}): read the header and sleep that long (for a date, until that moment)")
        running = [name for name, outcome in outcomes.items() if outcome.running]
        if running:
            stuck = max(running, key=lambda name: n[name])
            raise Wrong(f"your function was still running after 10 s for a URL the server had answered {n[stuck]} times: cap the attempts at {MAX_ATTEMPTS} and the waits (start around 0.05 s), and let cancellation through")
        most = max(n["forever"], n["forever2"], n["forever3"])
        expect(most <= MAX_ATTEMPTS, f"a URL that always fails was tried {most} times: give up after at most {MAX_ATTEMPTS} attempts")
        expect(n["sixth"] > 1, "a 503 was not retried: 502, 503 and 504 may pass, retry them")
        expect(n["sixth"] == MAX_ATTEMPTS, f"a URL that succeeds on attempt {MAX_ATTEMPTS} was tried {n['sixth']} times: make up to {MAX_ATTEMPTS} attempts in all")
        forever = outcomes["forever"]
        expect(forever.error is not None, f"for a URL that always answers 503 your function returned {type(forever.value).__name__} instead of raising the last error after {MAX_ATTEMPTS} attempts")
        for name in ("ok", "transient", "dropped", "sixth", "seconds", "date"):
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
        return f"{len(scripts)} hidden scripts: transient failures retried (up to {MAX_ATTEMPTS} attempts), a 4xx not retried, Retry-After honoured in both forms"

    return await run_check("9.1", attempt, verify, timeout=25)


# --- Exercise 9.2: a paginating async generator ---------------------------------------


async def check_9_2(iter_items: Callable[[httpx.AsyncClient, str], Any], lab: Lab) -> Result:
    """iter_items(client, url): an async generator of every item, in order, each page fetched once and only when needed."""
    total, limit = random.randint(230, 270), random.randint(20, 35)
    seed_all, seed_early = random.sample(range(10**6, 10**9), 2)
    stop_after = limit + random.randint(2, limit - 5)  # somewhere in page 2
    url_all = lab.url(f"/items?total={total}&limit={limit}&seed={seed_all}")
    url_early = lab.url(f"/items?total={total}&limit={limit}&seed={seed_early}")

    async def consume(client: httpx.AsyncClient, url: str, stop: int | None) -> list:
        made = iter_items(client, url)
        if inspect.iscoroutine(made):
            made.close()
            raise Wrong("iter_items returned a coroutine, not an async generator: `yield` each item inside the `async def` (do not collect them into a list and return it)")
        expect(hasattr(made, "__aiter__"), f"iter_items returned {type(made).__name__}: make it an async generator (`async def` with `yield`)")
        got: list = []
        try:
            async for item in made:
                got.append(item)
                if stop is not None and len(got) >= stop:
                    break
        finally:
            if hasattr(made, "aclose"):
                await made.aclose()
        return got

    async def attempt() -> tuple[list, list, list[str]]:
        if is_stub(iter_items):
            raise NotAttempted
        lab.reset_gauge()
        async with httpx.AsyncClient(timeout=5) as client, Heartbeat() as heart:
            everything = await consume(client, url_all, None)
            early = await consume(client, url_early, stop_after)
        expect(heart.worst < LAG_LIMIT, f"the event loop was frozen for {heart.worst:.1f} s: no blocking calls inside an async generator")
        return everything, early, lab.gauge().spans

    def verify(data: tuple[list, list, list[dict]]) -> str:
        everything, early, spans = data
        paths = [span["path"] for span in spans]
        expected = [make_item(i, seed_all) for i in range(1, total + 1)]
        pages = math.ceil(total / limit)
        expect(not any(isinstance(x, httpx.Response) for x in everything), f"{RESPONSE_HINT}, and yield each item of page['items']")
        expect(not any(isinstance(x, (list, dict)) and ("items" in x if isinstance(x, dict) else True) for x in everything[:1]), "yield each item, one at a time (`for item in page['items']: yield item`), not whole pages")
        all_pages = [p for p in paths if f"seed={seed_all}" in p]
        expect(len(everything) == total, f"the collection has {total} items (the first page says so), you yielded {len(everything)}: follow each page's `next` URL until it is null")
        expect(everything == expected, "the items are not the collection's, in order: yield page['items'] of every page, in the order the `next` links give")
        expect(len(all_pages) == len(set(all_pages)), "the same page was requested twice: request each `next` URL once")
        expect(len(all_pages) == pages, f"the server saw {len(all_pages)} page requests for {pages} pages: request the first URL, then each `next` URL once")
        connections = {span.get("conn") for span in spans if f"seed={seed_all}" in span["path"]}
        expect(len(connections) <= 2, f"the {pages} pages came over {len(connections)} different connections: request them with the `client` passed in (httpx.get or a new client per page opens a connection each time, and a sync call blocks the loop)")
        early_pages = [p for p in paths if f"seed={seed_early}" in p]
        expect(early == [make_item(i, seed_early) for i in range(1, stop_after + 1)], "a caller that stops early should still get the first items in order")
        expect(len(early_pages) <= 2, f"a caller that stopped after {stop_after} items (in page 2) made your generator request {len(early_pages)} pages: fetch a page only when its items are needed (yield inside the loop that follows `next`)")
        return "every item in order, each page fetched once and only when needed (a caller stopping in page 2 cost 2 requests)"

    return await run_check("9.2", attempt, verify)


# --- Exercise 9.3: fetch all, sort the failures ---------------------------------------

SLOW = 2.0  # seconds the slow URLs take; the checker's client gives up after TIMEOUT_9_3
TIMEOUT_9_3 = 0.5


async def check_9_3(fetch_all_sorted: Callable[[httpx.AsyncClient, list[str]], Awaitable[dict]], lab: Lab) -> Result:
    """fetch_all_sorted(client, urls) -> {"ok": [bodies], "retryable": [urls], "permanent": [urls]}, each URL fetched once, all at once."""
    run = uuid.uuid4().hex[:8]
    kinds = (
        ["ok"] * 3
        + [f"retry:{s}" for s in random.sample(["429", "502", "503", "504"], 3)]
        + ["retry:drop", "retry:refused", "retry:slow", "retry:slow"]
        + [f"perm:{s}" for s in [random.choice(["500", "501"]), *random.sample(["400", "401", "403", "404", "410", "422"], 2)]]
    )
    random.shuffle(kinds)
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
