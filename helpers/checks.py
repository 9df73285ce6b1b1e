"""Exercise checkers: friendly when not attempted, specific when wrong.

A notebook's check cell calls a checker from helpers/exercises/, which calls
``run_check`` here.  Three outcomes, each one line a learner can act on:

    💡 Exercise 1.1 not attempted yet: replace the `...` in the cell above, then run both cells again.
    ❌ Exercise 1.1: <what is wrong and what to look at>
    ✅ Exercise 1.1 passed: <what the answer did>

A wrong answer prints, it does not raise, so "Run all" in a workshop does not
stop at the first learner's mistake.  The printed line is also what the
solution notebooks' regression test compares.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

DEFAULT_TIMEOUT = 20.0


class Wrong(Exception):
    """Raised by a verifier: the answer ran but is not right. The message says why."""


class NotAttempted(Exception):
    """Raised by a verifier when the stub is still the stub."""


class Outcome(Enum):
    PASSED = "passed"
    WRONG = "wrong"
    NOT_ATTEMPTED = "not attempted"


@dataclass(frozen=True)
class Result:
    exercise: str
    outcome: Outcome
    message: str

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    def __str__(self) -> str:
        if self.outcome is Outcome.PASSED:
            return f"✅ Exercise {self.exercise} passed: {self.message}"
        if self.outcome is Outcome.NOT_ATTEMPTED:
            return f"💡 Exercise {self.exercise} not attempted yet: {self.message}"
        return f"❌ Exercise {self.exercise}: {self.message}"

    def _ipython_display_(self) -> None:
        """Show nothing: run_check already printed the sentence (no duplicate line in notebooks)."""


STUB_HINT = "replace the `...` / `raise NotImplementedError` in the exercise cell, run it, then run this cell again."


def _is_placeholder(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return stmt.value.value is Ellipsis or isinstance(stmt.value.value, str)  # `...` or a docstring
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        target = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(target, ast.Name) and target.id == "NotImplementedError"
    return False


def is_stub(fn: object) -> bool:
    """True if `fn` is missing or its body is only `...`, `pass`, a docstring or `raise NotImplementedError`."""
    if fn is None or fn is Ellipsis:
        return True
    if not callable(fn):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    funcs = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return bool(funcs) and all(_is_placeholder(stmt) for stmt in funcs[0].body)


async def run_check(
    exercise: str,
    attempt: Callable[[], Awaitable[Any] | Any],
    verify: Callable[[Any], str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> Result:
    """Run the learner's `attempt`, then `verify` its value; report one clear outcome.

    `verify` returns the pass message, or raises Wrong / NotAttempted.
    """
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            value = attempt()
            if inspect.isawaitable(value):
                value = await value
        message = verify(value)
        result = Result(exercise, Outcome.PASSED, message)
    except (NotImplementedError, NotAttempted):
        result = Result(exercise, Outcome.NOT_ATTEMPTED, STUB_HINT)
    except Wrong as exc:
        result = Result(exercise, Outcome.WRONG, str(exc))
    except TimeoutError as exc:
        if deadline.expired():
            message = f"your code was still running after {timeout:g} s; is something awaited that never finishes, or a blocking call inside a coroutine?"
        else:  # the learner's own timeout fired: that is their code's behaviour, not ours
            message = f"your code raised TimeoutError{': ' + str(exc) if str(exc) else ''} (a timeout inside your code expired)"
        result = Result(exercise, Outcome.WRONG, message)
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # the cell itself was interrupted: let cancellation through
        result = Result(exercise, Outcome.WRONG, "your code raised CancelledError: did it await a task that had been cancelled (and not handle that)?")
    except Exception as exc:  # the learner's code crashed: name the error, keep the traceback out of the way
        result = Result(exercise, Outcome.WRONG, f"your code raised {type(exc).__name__}: {exc}")
    from helpers import progress  # lazily; record() never raises, so a check never fails for it
    progress.record(result)
    print(result)
    return result


def expect(condition: bool, message: str) -> None:
    """Verifier shorthand: raise Wrong(message) unless condition holds."""
    if not condition:
        raise Wrong(message)
