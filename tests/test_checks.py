"""Exercise checking (helpers/checks.py): outcomes, printed lines, is_stub."""

from __future__ import annotations

import asyncio
import functools
import time

import pytest

from helpers.checks import DEFAULT_TIMEOUT, STUB_HINT, NotAttempted, Outcome, Result, Wrong, expect, is_stub, run_check

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


def test_crash_inside_verify_is_reported_too():
    result = asyncio.run(run_check("1.2", lambda: 5, lambda v: v.upper()))
    assert result.outcome is Outcome.WRONG
    assert "AttributeError" in result.message


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
