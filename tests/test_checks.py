"""Exercise checking (helpers/checks.py): outcomes, printed lines, is_stub."""

from __future__ import annotations

import asyncio
import functools
import time

import pytest

from helpers.checks import (
    DEFAULT_TIMEOUT,
    STUB_HINT,
    NotAttempted,
    Outcome,
    Result,
    Wrong,
    expect,
    is_stub,
    run_check,
)

# --- learner answers, as they would look in an exercise cell ---------------------------------


async def stub_ellipsis(client, urls):
    ...


async def stub_raise(client, urls):
    raise NotImplementedError


def stub_raise_call(x):
    raise NotImplementedError()


def stub_pass(x):
    pass


async def stub_with_docstring_and_comments(client, urls):
    """Fetch every URL at once and return the results in order."""
    # your code here
    ...


async def stub_multiline_signature(
    client,
    urls,
):
    ...


@functools.lru_cache
def stub_decorated(x):
    ...


async def real_answer(client, urls):
    return [await client.get(u) for u in urls]


def real_one_liner(x): return x * 2  # noqa: E704  (learners write these)


async def real_async_one_liner(client, url): return await client.get(url)  # noqa: E704


def stub_one_liner(x): ...  # noqa: E704


async def real_with_nested_stub(urls):
    def helper(): ...  # noqa: E704

    return [helper() for _ in urls]


def real_ending_in_ellipsis(x):
    x.append(1)
    ...


class Solution:
    async def stub_method(self, urls):
        ...

    async def real_method(self, urls):
        return len(urls)


EXEC_NAMESPACE: dict = {}
exec("def no_source(x):\n    return x\n", EXEC_NAMESPACE)


@pytest.mark.parametrize(
    "fn",
    [None, ..., stub_ellipsis, stub_raise, stub_raise_call, stub_pass, stub_with_docstring_and_comments, stub_multiline_signature, stub_decorated, stub_one_liner, Solution().stub_method, Solution.stub_method],
    ids=lambda f: getattr(f, "__name__", repr(f)),
)
def test_is_stub_true(fn):
    assert is_stub(fn) is True


@pytest.mark.parametrize(
    "fn",
    [real_answer, real_one_liner, real_async_one_liner, real_with_nested_stub, real_ending_in_ellipsis, Solution().real_method, len, print, functools.partial(real_one_liner, 2), lambda: ..., lambda x: x, EXEC_NAMESPACE["no_source"], Solution, 42, "def f(): ..."],
    ids=lambda f: getattr(f, "__name__", type(f).__name__),
)
def test_is_stub_false(fn):
    assert is_stub(fn) is False


# --- run_check outcomes --------------------------------------------------------------------


def checker_for(fn, *, timeout: float = DEFAULT_TIMEOUT):
    """A checker shaped like helpers/exercises/nb00.py around a learner's `fn`."""

    async def attempt():
        if is_stub(fn):
            raise NotAttempted
        return await fn([1, 2, 3])

    def verify(value):
        expect(value is not None, "your function returned None: did you forget `return`?")
        expect(value == [2, 4, 6], f"expected [2, 4, 6], got {value}")
        return "all three doubled, in order"

    return run_check("1.1", attempt, verify, timeout=timeout)


async def doubles(xs):
    return [2 * x for x in xs]


async def wrong_order(xs):
    return [2 * x for x in reversed(xs)]


async def forgot_return(xs):
    [2 * x for x in xs]


async def crashes(xs):
    return {}["missing"]


async def hangs(xs):
    await asyncio.sleep(30)


async def still_a_stub(xs):
    ...


async def raises_not_implemented(xs):
    raise NotImplementedError("write me")


async def sync_looking_async(xs):
    await asyncio.sleep(0.01)
    return [x * 2 for x in xs]


def test_pass_prints_one_line(capsys):
    result = asyncio.run(checker_for(doubles))
    assert result == Result("1.1", Outcome.PASSED, "all three doubled, in order")
    assert result.passed
    assert capsys.readouterr().out == "✅ Exercise 1.1 passed: all three doubled, in order\n"


@pytest.mark.parametrize("fn", [still_a_stub, raises_not_implemented, None], ids=["ellipsis", "raise NotImplementedError", "None"])
def test_not_attempted(fn, capsys):
    result = asyncio.run(checker_for(fn))
    assert result.outcome is Outcome.NOT_ATTEMPTED and not result.passed
    assert result.message == STUB_HINT
    out = capsys.readouterr().out
    assert out == f"💡 Exercise 1.1 not attempted yet: {STUB_HINT}\n"
    assert "`...`" in out and "NotImplementedError" in out


def test_not_implemented_raised_by_the_attempt_itself_counts_as_not_attempted(capsys):
    async def attempt():
        return await stub_raise(None, [])

    result = asyncio.run(run_check("2.1", attempt, lambda v: "unreachable"))
    assert result.outcome is Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize(
    ("fn", "words"),
    [(wrong_order, "expected [2, 4, 6], got [6, 4, 2]"), (forgot_return, "returned None: did you forget `return`?")],
)
def test_wrong_answer_prints_what_is_wrong(fn, words, capsys):
    result = asyncio.run(checker_for(fn))
    assert result.outcome is Outcome.WRONG and not result.passed
    assert words in result.message
    assert capsys.readouterr().out == f"❌ Exercise 1.1: {result.message}\n"


def test_crash_is_wrong_naming_the_exception(capsys):
    result = asyncio.run(checker_for(crashes))
    assert result.outcome is Outcome.WRONG
    assert result.message == "your code raised KeyError: 'missing'"
    assert "Traceback" not in capsys.readouterr().out


def test_crash_inside_verify_is_the_checkers_own_failure():
    result = asyncio.run(run_check("1.2", lambda: 5, lambda v: v.upper()))
    assert result.outcome is Outcome.WRONG
    assert result.message.startswith("the checker itself failed (AttributeError")
    assert "please report it" in result.message and "your code" not in result.message


def test_hang_is_wrong_mentioning_the_seconds(capsys):
    started = time.perf_counter()
    result = asyncio.run(checker_for(hangs, timeout=0.2))
    assert time.perf_counter() - started < 5
    assert result.outcome is Outcome.WRONG
    assert "still running after 0.2 s" in result.message
    assert "never finishes" in result.message
    assert capsys.readouterr().out.startswith("❌ Exercise 1.1: your code was still running after 0.2 s")


def test_sync_attempt_and_awaitable_attempt():
    assert asyncio.run(run_check("3.1", lambda: 41 + 1, lambda v: f"got {v}")).message == "got 42"
    assert asyncio.run(checker_for(sync_looking_async)).passed


def test_verify_can_say_not_attempted():
    def verify(value):
        raise NotAttempted

    assert asyncio.run(run_check("3.2", lambda: None, verify)).outcome is Outcome.NOT_ATTEMPTED


def test_default_timeout_is_generous_but_finite():
    assert 5 <= DEFAULT_TIMEOUT <= 60


def test_learners_own_timeout_is_not_blamed_on_the_checker():
    async def attempt():
        await asyncio.wait_for(asyncio.sleep(5), timeout=0.01)

    result = asyncio.run(run_check("4.1", attempt, lambda v: "ok"))
    assert result.outcome is Outcome.WRONG
    assert "20 s" not in result.message and "TimeoutError" in result.message


def test_learners_cancelled_error_is_a_wrong_answer(capsys):
    async def attempt():
        task = asyncio.create_task(asyncio.sleep(5))
        await asyncio.sleep(0)
        task.cancel()
        await task  # forgot to handle the CancelledError

    result = asyncio.run(run_check("4.2", attempt, lambda v: "ok"))
    assert result.outcome is Outcome.WRONG
    assert "CancelledError" in result.message


# --- Result and expect --------------------------------------------------------------------


def test_result_lines():
    assert str(Result("2.3", Outcome.PASSED, "fine")) == "✅ Exercise 2.3 passed: fine"
    assert str(Result("2.3", Outcome.WRONG, "no")) == "❌ Exercise 2.3: no"
    assert str(Result("2.3", Outcome.NOT_ATTEMPTED, STUB_HINT)).startswith("💡 Exercise 2.3 not attempted yet: replace the `...`")
    assert [o.value for o in Outcome] == ["passed", "wrong", "not attempted"]


def test_result_has_no_duplicate_ipython_display(capsys):
    from IPython.core.formatters import DisplayFormatter

    result = asyncio.run(checker_for(doubles))
    printed = capsys.readouterr().out
    assert printed.count("Exercise 1.1") == 1
    assert DisplayFormatter().format(result) == ({}, {}), "IPython must not show the Result again as the cell's value"
    assert result._ipython_display_() is None
    assert capsys.readouterr().out == ""


def test_result_is_frozen():
    result = Result("1.1", Outcome.PASSED, "x")
    with pytest.raises(AttributeError):
        result.message = "y"  # type: ignore[misc]


def test_expect():
    expect(True, "never shown")
    with pytest.raises(Wrong, match="^the message$"):
        expect(False, "the message")
    assert issubclass(Wrong, Exception) and issubclass(NotAttempted, Exception)


# --- hang-proof: nothing the learner writes keeps a check from returning -------------------------

QUICK = {"timeout": 0.5, "block_limit": 1.0}


async def swallows_cancel_forever(xs):
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass  # "carry on"


async def swallows_cancel_then_returns(xs):
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        return [2, 4, 6]  # the right value, but far too late


async def time_sleep_inside(xs):
    time.sleep(60)
    return [2, 4, 6]


async def cpu_loop_inside(xs):
    while True:
        pass


async def catches_everything_around_time_sleep(xs):
    try:
        time.sleep(60)
    except Exception:  # the watchdog's LoopBlocked is not an Exception: this does not swallow it
        pass
    return [2, 4, 6]


async def blocking_helper_task(xs):
    async def heartbeat():
        while True:
            time.sleep(0.05)  # never yields: the loop is stuck in this task

    task = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.2)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)  # hides what happened to the task
    return [2, 4, 6]


def run_timed(fn, *, timeout, block_limit):
    started = time.perf_counter()
    result = asyncio.run(_checker_with(fn, timeout=timeout, block_limit=block_limit))
    return result, time.perf_counter() - started


def _checker_with(fn, *, timeout, block_limit):
    async def attempt():
        return await fn([1, 2, 3])

    return run_check("1.1", attempt, lambda v: "fine", timeout=timeout, block_limit=block_limit)


def test_swallowed_cancellation_is_reported_and_the_task_is_stopped():
    async def main():
        before = asyncio.all_tasks()
        result = await _checker_with(swallows_cancel_forever, **QUICK)
        await asyncio.sleep(0.1)
        left = [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()]
        return result, left

    started = time.perf_counter()
    result, left = asyncio.run(main())  # would never return if the task survived asyncio.run's cleanup
    assert time.perf_counter() - started < 6
    assert result.outcome is Outcome.WRONG
    assert "ignored cancellation" in result.message and "CancelledError" in result.message
    assert left == [], f"the learner's task still runs: {left}"


def test_cancellation_swallowed_then_returning_late_is_too_slow_not_passed():
    result, elapsed = run_timed(swallows_cancel_then_returns, **QUICK)
    assert elapsed < 4
    assert result.outcome is Outcome.WRONG and "still running after 0.5 s" in result.message


@pytest.mark.parametrize(
    "fn", [time_sleep_inside, cpu_loop_inside, catches_everything_around_time_sleep, blocking_helper_task]
)
def test_code_that_blocks_the_loop_is_interrupted_and_named(fn):
    result, elapsed = run_timed(fn, **QUICK)
    assert elapsed < 8, f"the check took {elapsed:.1f} s"
    assert result.outcome is Outcome.WRONG
    assert "blocked the event loop" in result.message and "time.sleep()" in result.message


def test_watchdog_leaves_no_thread_and_restores_the_signal_handler():
    import signal
    import threading

    before = signal.getsignal(signal.SIGUSR1)
    run_timed(time_sleep_inside, **QUICK)
    assert signal.getsignal(signal.SIGUSR1) == before
    assert [t.name for t in threading.enumerate() if t.name == "check-watchdog"] == []


def test_a_check_cancelled_from_outside_cancels_the_attempt_and_propagates():
    seen = []

    async def slow(xs):
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    async def main():
        check = asyncio.create_task(_checker_with(slow, timeout=5, block_limit=5))
        await asyncio.sleep(0.1)
        check.cancel()  # what interrupting the cell does
        with pytest.raises(asyncio.CancelledError):
            await check
        await asyncio.sleep(0)

    asyncio.run(main())
    assert seen == ["cancelled"]


def test_a_checkers_own_exception_is_not_blamed_on_the_learner():
    async def attempt():
        await doubles([1, 2, 3])  # the learner's part works ...
        return {}["checker bug"]  # ... then the checker's own code fails

    result = asyncio.run(run_check("3.1", attempt, lambda v: "ok"))
    assert result.message == "the checker itself failed (KeyError: 'checker bug'); this is not your mistake, please report it"


def test_an_exception_from_inside_the_learners_code_is_theirs():
    async def deep(xs):
        return await asyncio.gather(*(asyncio.sleep(0.01, result=x) for x in xs), crashes(xs))

    result = asyncio.run(checker_for(deep))
    assert result.message == "your code raised KeyError: 'missing'"


def test_a_function_with_the_wrong_parameters_is_told_so():
    async def two_params(client, xs):
        return xs

    result = asyncio.run(checker_for(two_params))
    assert result.outcome is Outcome.WRONG
    assert result.message.startswith("your function could not be called as the exercise asks (TypeError")


def test_a_plain_def_instead_of_async_def_is_told_so():
    def not_async(xs):
        return [2 * x for x in xs]

    result = asyncio.run(checker_for(not_async))
    assert "could not be called as the exercise asks" in result.message and "async def" in result.message


SCRIPT = """
import asyncio, sys, time
sys.path.insert(0, {root!r})
from helpers.checks import run_check

async def blocks(): time.sleep(60)

async def swallows():
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            pass

async def main():
    for fn in (blocks, swallows):
        r = await run_check("9.9", fn, lambda v: "ok", timeout=0.5, block_limit=1)
        print(r.outcome.value, "|", r.message[:40], flush=True)
    print("waiting", flush=True)
    await asyncio.sleep(30)

asyncio.run(main())
"""


def test_in_a_script_with_asyncio_run_and_ctrl_c_still_works(tmp_path):
    """asyncio.run installs its own SIGINT handler: the watchdog must not take it over."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    path = tmp_path / "script.py"
    path.write_text(SCRIPT.format(root=root))
    proc = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        if line.startswith(("wrong", "passed")):
            lines.append(line.strip())
        if line.startswith("waiting"):
            break
    proc.send_signal(signal.SIGINT)  # the learner presses Ctrl+C
    out, err = proc.communicate(timeout=20)
    assert lines == [
        "wrong | your code blocked the event loop for mor",
        "wrong | your code was still running 0.5 s after",
    ], lines
    assert proc.returncode != 0 and "KeyboardInterrupt" in err  # interrupted, as Ctrl+C should


NOTEBOOK_CELLS = [
    """import asyncio, signal, threading, time
from helpers.checks import run_check

async def blocks():
    time.sleep(60)

async def fine():
    await asyncio.sleep(0.05)
    return 1""",
    "await run_check('9.1', blocks, lambda v: 'ok', block_limit=1)",
    "await run_check('9.2', fine, lambda v: 'both ran')",
    "await asyncio.sleep(0.05)\nprint(signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL, "
    "[t.name for t in threading.enumerate() if t.name == 'check-watchdog'])",
]


def test_in_a_real_kernel_blocking_code_is_interrupted_and_results_are_boxes():
    """ipykernel runs cells on its own loop (and turns SIGINT into a cancellation); check there."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    started = time.perf_counter()
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    assert time.perf_counter() - started < 40
    blocked, passed, after = (cell.outputs for cell in nb.cells[1:])
    assert [o["output_type"] for o in blocked] == ["display_data"]
    assert blocked[0]["data"]["text/plain"].startswith("❌ Exercise 9.1: your code blocked the event loop")
    assert "Try again" in blocked[0]["data"]["text/html"]
    assert passed[0]["data"]["text/plain"] == "✅ Exercise 9.2 passed: both ran"
    assert "Passed" in passed[0]["data"]["text/html"]
    assert after[0]["text"] == "True []\n"


def test_the_feedback_box_says_it_in_words_and_escapes_the_message():
    boxes = {o: Result("1.1", o, "<b>5 & 6</b>").to_html() for o in Outcome}
    assert "Passed" in boxes[Outcome.PASSED] and "Try again" in boxes[Outcome.WRONG]
    assert "Not attempted yet" in boxes[Outcome.NOT_ATTEMPTED]
    assert all("&lt;b&gt;5 &amp; 6&lt;/b&gt;" in box for box in boxes.values())
    bundle = Result("1.1", Outcome.WRONG, "no")._repr_mimebundle_()
    assert bundle["text/plain"] == "❌ Exercise 1.1: no" and set(bundle) == {"text/plain", "text/html"}


def test_in_a_real_kernel_interrupt_still_stops_a_running_check():
    """The learner presses Interrupt (SIGINT) while a check waits on a hanging answer: the cell stops
    at once, and the kernel carries on with the next cell."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive(
            "import asyncio\nfrom helpers.checks import run_check\n"
            "async def hangs():\n    await asyncio.sleep(60)",
            timeout=60,
        )
        msg_id = kc.execute("await run_check('9.9', hangs, lambda v: 'ok', timeout=50)")
        time.sleep(1.5)
        started = time.perf_counter()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=20)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert time.perf_counter() - started < 10
        after = kc.execute_interactive("print('kernel alive')", timeout=30)
        assert after["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
