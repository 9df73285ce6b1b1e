"""Checkers for notebook 12 (testing and debugging async code).

Exercise 12.1 runs the learner's *test file* with pytest in subprocesses, once
against each hidden version of `fanout.fetch_all` (two correct, three buggy).
Subprocesses make the check hang-proof: pytest-timeout stops a stuck test and
the whole run is killed at a hard limit, whatever the test does.

Exercise 12.2 hands the learner a freshly generated pipeline whose step names
and blocking step are random on every check, so the answer can only come from
actually running it in debug mode. The learner's function runs on its own event
loop in a daemon thread: debug mode never leaks into the notebook's loop, and a
function that blocks or never returns cannot hang the check.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.util
import logging
import os
import random
import re
import sys
import threading
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

from helpers.checks import NotAttempted, Outcome, Result, Wrong, expect, is_stub, run_check
from helpers.tempdir import kernel_tempdir

# --- Exercise 12.1: a test that tells the buggy fetch_all from the fixed one ----------------

PER_TEST_TIMEOUT = 3.0  # pytest-timeout stops one stuck test after this
RUN_LIMIT = 40.0  # a whole pytest run is killed after this (also covers a stuck collection)
MAX_TEST_SECONDS = 2.0  # the learner's tests against a correct version, all together

PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["src"]
testpaths = ["tests"]
asyncio_default_fixture_loop_scope = "function"
"""

FIXED_TASKGROUP = '''\
import asyncio


async def fetch_all(fetch, keys, *, timeout):
    async with asyncio.timeout(timeout):
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(fetch(key)) for key in keys]
    return [task.result() for task in tasks]
'''

FIXED_GATHER = '''\
import asyncio


async def fetch_all(fetch, keys, *, timeout):
    async with asyncio.timeout(timeout):
        results = await asyncio.gather(*(fetch(key) for key in keys))
    return list(results)
'''

BUG_COMPLETION_ORDER = '''\
import asyncio


async def fetch_all(fetch, keys, *, timeout):
    tasks = [asyncio.ensure_future(fetch(key)) for key in keys]
    try:
        async with asyncio.timeout(timeout):
            return [await next_done for next_done in asyncio.as_completed(tasks)]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
'''

BUG_NO_TIMEOUT = '''\
import asyncio


async def fetch_all(fetch, keys, *, timeout):
    async with asyncio.TaskGroup() as tg:
        tasks = [tg.create_task(fetch(key)) for key in keys]
    return [task.result() for task in tasks]
'''

BUG_LEAVES_RUNNING = '''\
import asyncio


async def fetch_all(fetch, keys, *, timeout):
    tasks = [asyncio.create_task(fetch(key)) for key in keys]
    done, pending = await asyncio.wait(tasks, timeout=timeout)
    if pending:
        raise TimeoutError(f"{len(pending)} fetch(es) not done after {timeout} s")
    return [task.result() for task in tasks]
'''


@dataclass(frozen=True)
class Version:
    name: str
    source: str
    correct: bool
    hint: str = ""  # what to add when this buggy version passes the learner's tests


VERSIONS = (
    Version("correct (TaskGroup)", FIXED_TASKGROUP, True),
    Version("correct (gather)", FIXED_GATHER, True),
    Version(
        "completion order",
        BUG_COMPLETION_ORDER,
        False,
        "a buggy fetch_all that returns results in the order they FINISH passed all your tests: "
        "make your fake fetches finish out of order (key-dependent sleeps) and assert the results "
        "come back in the order of the keys",
    ),
    Version(
        "no timeout",
        BUG_NO_TIMEOUT,
        False,
        "a buggy fetch_all that ignores `timeout` passed all your tests: give one fetch a delay "
        "longer than the timeout (say 0.5 s against timeout=0.05) and assert "
        "`with pytest.raises(TimeoutError):`",
    ),
    Version(
        "leaves fetches running",
        BUG_LEAVES_RUNNING,
        False,
        "a buggy fetch_all that raises TimeoutError but leaves the slow fetches running passed all "
        "your tests: record cancellation in your fake fetch (`except asyncio.CancelledError:` or "
        "`finally:`) and assert, right after pytest.raises, that the slow fetch was cancelled",
    ),
)


@dataclass
class TestCase:
    name: str
    outcome: str  # passed, failed, error, skipped
    seconds: float
    message: str = ""


@dataclass
class PytestRun:
    """What one pytest subprocess did, read from its JUnit XML report."""

    version: Version
    exit_code: int | None
    killed: bool = False
    cases: list[TestCase] = field(default_factory=list)
    output: str = ""

    @property
    def failed(self) -> list[TestCase]:
        return [c for c in self.cases if c.outcome in ("failed", "error")]

    @property
    def timed_out(self) -> list[TestCase]:
        return [c for c in self.failed if "Timeout" in c.message and "pytest-timeout" in c.message]

    @property
    def seconds(self) -> float:
        return sum(c.seconds for c in self.cases)


def _read_junit(path: Path) -> list[TestCase]:
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[kind]
                message = (node.get("message") or node.text or "").strip()
                break
        cases.append(TestCase(case.get("name", "?"), outcome, float(case.get("time", 0)), message))
    return cases


def _write_project(root: Path, version: Version, test_file: str) -> Path:
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "tests").mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "src" / "fanout.py").write_text(version.source)
    (root / "tests" / "test_fanout.py").write_text(test_file)
    return root


async def _run_pytest(project: Path, version: Version) -> PytestRun:
    """Run pytest on one project; kill it if it runs past RUN_LIMIT, whatever the tests do."""
    report = project / "report.xml"
    report.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONASYNCIODEBUG", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval",
               f"--timeout={PER_TEST_TIMEOUT:g}", f"--junitxml={report}"]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=project, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    run = PytestRun(version, None)
    try:
        async with asyncio.timeout(RUN_LIMIT):
            out, _ = await process.communicate()
        run.exit_code = process.returncode
        run.output = out.decode(errors="replace")
    except TimeoutError:
        run.killed = True
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if report.exists():
        run.cases = _read_junit(report)
    return run


def _stub_test_file(text: object) -> bool:
    if text is None or text is Ellipsis:
        return True
    if not isinstance(text, str):
        return False
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return False
    funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return not funcs or all(
        all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in f.body)
        or all(isinstance(s, ast.Pass) for s in f.body)
        for f in funcs
    )


def _short(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _judge_correct(run: PytestRun) -> None:
    """The learner's tests must run, be fast and pass against a correct version."""
    if run.killed:
        raise Wrong(f"pytest was still running after {RUN_LIMIT:g} s against a correct fetch_all "
                    "and was stopped: does a test (or the module) wait for something that never "
                    "happens?")
    if not run.cases:
        if run.exit_code == 5:
            raise Wrong("pytest found no tests in your file: name each test function test_..., "
                        "and mark async ones @pytest.mark.asyncio")
        raise Wrong(f"pytest could not run your file: {_short(run.output[-400:])}")
    for case in run.failed:
        if "not natively supported" in case.message:
            raise Wrong(f"{case.name} is an async test without @pytest.mark.asyncio: in strict "
                        "mode (pytest-asyncio's default) pytest does not know how to run it")
    if run.timed_out:
        case = run.timed_out[0]
        raise Wrong(f"{case.name} hung against a correct fetch_all (stopped by pytest-timeout "
                    f"after {PER_TEST_TIMEOUT:g} s): make every fake fetch finish on its own "
                    "within a second")
    if run.failed:
        case = run.failed[0]
        what = "could not be collected" if case.outcome == "error" else "fails"
        raise Wrong(f"{case.name} {what} against a CORRECT fetch_all ({run.version.name}): "
                    f"{_short(case.message)}; a test must pass on correct code")
    passed = [c for c in run.cases if c.outcome == "passed"]
    expect(bool(passed), "all your tests were skipped: nothing was checked")
    expect(run.seconds <= MAX_TEST_SECONDS,
           f"your tests took {run.seconds:.2f} s against a correct fetch_all: they wait for real. "
           "Use tiny delays (0.01-0.1 s) and small timeouts (0.05 s) so the suite stays fast")


def _judge_buggy(run: PytestRun) -> None:
    """At least one of the learner's tests must fail (not hang) against each buggy version."""
    if run.killed:
        raise Wrong(f"pytest had to be killed after {RUN_LIMIT:g} s against the buggy version "
                    f"'{run.version.name}': make every fake fetch finish on its own")
    if run.timed_out:
        case = run.timed_out[0]
        raise Wrong(f"against the buggy version '{run.version.name}', {case.name} hung until "
                    f"pytest-timeout stopped it after {PER_TEST_TIMEOUT:g} s: make your slow fake "
                    "fetch finish on its own (e.g. after 0.5 s) so a version without a deadline "
                    "returns and your assertion fails fast instead of hanging")
    if not run.failed:
        raise Wrong(run.version.hint)


async def check_12_1(test_file: str, lab: object = None) -> Result:
    """test_file: the text of a pytest file testing `from fanout import fetch_all`."""

    async def attempt() -> list[PytestRun]:
        if _stub_test_file(test_file):
            raise NotAttempted
        expect(isinstance(test_file, str),
               f"TEST_FILE should be the text of a test file (a str), got "
               f"{type(test_file).__name__}")
        try:
            compile(test_file, "test_fanout.py", "exec")
        except SyntaxError as exc:
            raise Wrong(f"your test file has a syntax error on line {exc.lineno}: {exc.msg}") from None
        base = kernel_tempdir() / f"ex12_1-{time.monotonic_ns()}"
        projects = [_write_project(base / f"v{i}", v, test_file) for i, v in enumerate(VERSIONS)]
        return list(await asyncio.gather(*(
            _run_pytest(p, v) for p, v in zip(projects, VERSIONS)
        )))

    def verify(runs: list[PytestRun]) -> str:
        for run in runs:
            if run.version.correct:
                _judge_correct(run)
        for run in runs:
            if not run.version.correct:
                _judge_buggy(run)
        n = len(runs[0].cases)
        slowest = max(r.seconds for r in runs if r.version.correct)
        return (f"your {n} test(s) pass on both correct versions (in {slowest:.2f} s) and catch "
                "all three hidden bugs: completion order, no timeout, fetches left running")

    if not _stub_test_file(test_file) and importlib.util.find_spec("pytest_asyncio") is None:
        # the checker cannot run at all: say so, and never blame the learner's answer
        message = ("could not be checked: pytest-asyncio is not installed in this kernel's "
                   "environment (this is not about your answer). Run `pip install "
                   "pytest-asyncio==1.5.0` in the course's environment, restart the kernel, retry.")
        print(f"⚠️ Exercise 12.1 {message}")
        return Result("12.1", Outcome.NOT_ATTEMPTED, message)
    return await run_check("12.1", attempt, verify, timeout=RUN_LIMIT + 20)


# --- Exercise 12.2: find the step that blocks the loop, with debug mode ---------------------

VERBS = ("load", "parse", "merge", "score", "enrich", "index", "filter", "price", "tag", "rank")
NOUNS = ("orders", "users", "prices", "events", "tickets", "reviews", "photos", "routes", "bills")
N_STEPS = 6
BLOCK_SECONDS = 0.2  # the hidden time.sleep; well above a 0.1 s slow_callback_duration
DECOY_SECONDS = 0.4  # one step *awaits* this long: slow, but it does not block the loop
THREAD_LIMIT = 10.0  # seconds the learner's function may take (all pipelines together)
ATTEMPTS = 3  # pipelines with different culprits: neither hard-coding nor luck passes


@dataclass
class Pipeline:
    """A generated pipeline: call it with no arguments and await it."""

    names: list[str]
    task_names: list[str]
    blocker: str
    decoy: str
    runs: int = 0
    saw_debug: list[bool] = field(default_factory=list)
    saw_threshold: list[float] = field(default_factory=list)

    async def __call__(self) -> None:
        self.runs += 1
        loop = asyncio.get_running_loop()
        self.saw_debug.append(loop.get_debug())
        self.saw_threshold.append(loop.slow_callback_duration)
        async with asyncio.TaskGroup() as tg:
            for name, task_name in zip(self.names, self.task_names):
                tg.create_task(_make_step(name, name == self.blocker, name == self.decoy)(),
                               name=task_name)


def _make_step(name: str, blocks: bool, decoy: bool) -> Callable[[], Awaitable[None]]:
    async def step() -> None:
        await asyncio.sleep(0.01)
        if blocks:
            time.sleep(BLOCK_SECONDS)  # the bug the learner has to find
        await asyncio.sleep(DECOY_SECONDS if decoy else 0.02)

    step.__name__ = step.__qualname__ = name  # the coroutine repr in the warning shows this name
    return step


def make_pipeline(rng: random.Random, position: int | None = None) -> Pipeline:
    """A pipeline of N_STEPS named steps; the blocker is step `position` (random if None).

    The blocker is never the first step to start (index 0): with slow_callback_duration = 0
    every callback is reported and the first report is step 0, so an answer that picks the
    first report must not be right by luck.
    """
    names = [f"{v}_{n}" for v, n in rng.sample([(v, n) for v in VERBS for n in NOUNS], N_STEPS)]
    if position is None:
        position = rng.randrange(1, N_STEPS)
    if not 1 <= position < N_STEPS:
        raise ValueError(f"the blocker's position must be 1..{N_STEPS - 1}, got {position}")
    blocker = names[position]
    decoy = rng.choice([n for n in names if n != blocker])
    task_names = [f"worker-{rng.randrange(100, 1000)}-{i}" for i in range(N_STEPS)]
    return Pipeline(names, task_names, blocker, decoy)


def make_pipelines(rng: random.Random, count: int = ATTEMPTS) -> list[Pipeline]:
    """`count` pipelines whose blockers sit at different positions (never the first) and have
    different names: any rule by position ("the first/last report", "step 3") or by name
    (a hard-coded answer) is wrong for at least count - 1 of them, on every draw."""
    positions = rng.sample(range(1, N_STEPS), count)
    pipelines: list[Pipeline] = []
    for position in positions:
        candidate = make_pipeline(rng, position)
        while candidate.blocker in {p.blocker for p in pipelines}:
            candidate = make_pipeline(rng, position)
        pipelines.append(candidate)
    return pipelines


class _Recorder(logging.Handler):
    """Keeps asyncio's log records during the check, so nothing reaches the notebook's stderr."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _in_thread(find_blocker: Callable, pipelines: list[Pipeline]) -> tuple[Future, Callable]:
    """Run the learner's function on a fresh loop in a daemon thread.

    Returns the future that gets the answers, and a function that cancels the run (used when
    it takes too long: an `await` that never finishes is cancelled and the thread ends; only
    code that blocks or swallows the cancellation keeps its thread, and never the check).
    """
    future: Future = Future()
    running: list[tuple[asyncio.AbstractEventLoop, asyncio.Task]] = []

    async def both() -> list[object]:
        running.append((asyncio.get_running_loop(), asyncio.current_task()))
        return [await find_blocker(p) for p in pipelines]

    def cancel() -> None:
        for loop, task in running:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop has closed already
                pass

    def main() -> None:
        if not future.set_running_or_notify_cancel():
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                answers = asyncio.run(both())
            except BaseException as exc:  # noqa: BLE001 - reported to the learner, thread ends
                future.set_exception(exc)
                return
        future.set_result((answers, [str(w.message) for w in caught]))

    threading.Thread(target=main, name="check-12.2", daemon=True).start()
    return future, cancel


async def check_12_2(find_blocker: Callable[[Callable[[], Awaitable[None]]], Awaitable[str]],
                     lab: object = None) -> Result:
    """find_blocker(pipeline) -> the name of the coroutine function that blocks the loop."""
    pipelines = make_pipelines(random.Random())
    asyncio_logger = logging.getLogger("asyncio")

    async def attempt() -> tuple[list[object], list[str], list]:
        if is_stub(find_blocker):
            raise NotAttempted
        expect(asyncio.iscoroutinefunction(find_blocker),
               "find_blocker must be an `async def` function (it has to await the pipeline)")
        handlers_before = list(asyncio_logger.handlers)
        recorder = _Recorder()
        asyncio_logger.addHandler(recorder)  # keeps stray warnings off the notebook's stderr
        try:
            future, cancel = _in_thread(find_blocker, pipelines)
            wrapped = asyncio.wrap_future(future)
            try:
                answers, caught = await asyncio.wait_for(asyncio.shield(wrapped), THREAD_LIMIT)
            except TimeoutError:
                cancel()
                await asyncio.wait([wrapped], timeout=1.0)
                if wrapped.done() and not wrapped.cancelled():
                    wrapped.exception()  # retrieved: no "exception was never retrieved" log
                raise Wrong(f"find_blocker was still running after {THREAD_LIMIT:g} s: does it "
                            "await something that never finishes, or block?") from None
        finally:
            asyncio_logger.removeHandler(recorder)
        left = [h for h in asyncio_logger.handlers if h not in handlers_before]
        for handler in left:  # tidy up for the learner, then tell them
            asyncio_logger.removeHandler(handler)
        return answers, caught, left

    def verify(outcome: tuple[list[object], list[str], list]) -> str:
        answers, caught, left = outcome
        if any("never awaited" in message for message in caught):
            raise Wrong("a coroutine was created but never awaited: `await pipeline()`, "
                        "do not just call it")
        for pipeline, answer in zip(pipelines, answers):
            expect(pipeline.runs > 0, "find_blocker never ran the pipeline: `await pipeline()` "
                                      "with debug mode on, then read the slow-callback warning")
            if pipeline.saw_debug and not any(pipeline.saw_debug):
                raise Wrong("the pipeline ran with debug mode OFF, so asyncio logged no slow "
                            "callbacks: call asyncio.get_running_loop().set_debug(True) first")
            threshold = min(pipeline.saw_threshold)
            expect(threshold < BLOCK_SECONDS,
                   f"loop.slow_callback_duration was {threshold:g} s, longer than the block you "
                   "are hunting, so nothing was logged: set it to 0.05-0.1 s")
            expect(answer is not None, "find_blocker returned None: return the function's name "
                                       "as a str (e.g. 'load_orders')")
            if not isinstance(answer, str):
                raise Wrong(f"return the function's name as a str, got {type(answer).__name__}")
            if answer in pipeline.task_names:
                raise Wrong(f"{answer!r} is the TASK's name; return the coroutine function's "
                            "name, shown as coro=<NAME()> in the warning")
            if answer != pipeline.blocker and pipeline.blocker in answer:
                raise Wrong("return just the function's name (e.g. 'load_orders'), not the whole "
                            "log message")
            if answer == pipeline.decoy:
                raise Wrong(f"{answer!r} is slow because it AWAITS a long sleep; that does not "
                            "block the loop. Look for the step debug mode reports as "
                            "'Executing ... took'")
            expect(answer in pipeline.names or answer == pipeline.blocker,
                   f"{answer!r} is not one of this pipeline's steps: the names change on every "
                   "check, so read them from the warning each time, do not hard-code them")
            expect(answer == pipeline.blocker,
                   f"{answer!r} is a step of this pipeline but not the one that blocks: pick the "
                   "step whose 'Executing <Task ... coro=<NAME()> ...> took ...' is slowest")
        expect(not left, "your logging handler was still attached to the 'asyncio' logger "
                         "afterwards: remove it in a `finally:` block (we removed it for you)")
        return (f"found the blocking step of all {ATTEMPTS} generated pipelines (new names every check) "
                "from debug mode's slow-callback warnings")

    return await run_check("12.2", attempt, verify, timeout=THREAD_LIMIT + 10)
