"""Exercise checkers: friendly when not attempted, specific when wrong, never stuck.

A notebook's check cell calls a checker from helpers/exercises/, which calls
``run_check`` here.  Three outcomes, each one line a learner can act on:

    💡 Exercise 1.1 not attempted yet: replace the `...` in the cell above, then run ...
    ❌ Exercise 1.1: <what is wrong and what to look at>
    ✅ Exercise 1.1 passed: <what the answer did>

In JupyterLab the line is shown as a coloured box (green "Passed", amber "Not
attempted yet", red "Try again": words, so it reads without an emoji font); the
plain line travels with it as text/plain, which is what terminals, nbval and
the structure tests read.  A wrong answer prints, it does not raise, so "Run
all" in a workshop does not stop at the first learner's mistake.

No learner code can hang a check (see ``run_check``):

* an await that never finishes: the attempt runs as its own task with a deadline;
* a swallowed CancelledError: after the deadline the task is cancelled and gets
  a short grace; if it is still running, the check says so and returns;
* a coroutine that never yields (time.sleep, a CPU loop): the loop stops turning,
  so no deadline can fire; a watchdog thread notices and interrupts the main
  thread with a signal whose handler raises ``LoopBlocked`` into the blocking code
  (see ``_Watchdog``).  SIGINT is left alone: the learner's Interrupt still works.

A checker's own bug is never reported as the learner's mistake: an exception
counts as the learner's only if it passed through the learner's code.
"""

from __future__ import annotations

import ast
import asyncio
import html
import inspect
import signal
import sysconfig
import textwrap
import threading
import time
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

DEFAULT_TIMEOUT = 20.0
CANCEL_GRACE = 2.0  # seconds a cancelled attempt gets to finish before we say it ignored cancellation
BLOCK_LIMIT = 5.0  # seconds without one turn of the event loop before the watchdog interrupts
WATCHDOG_SIGNAL = getattr(signal, "SIGUSR1", None)  # not SIGINT: that one stays the learner's


class Wrong(Exception):
    """Raised by a verifier: the answer ran but is not right. The message says why."""


class NotAttempted(Exception):
    """Raised by a verifier when the stub is still the stub."""


class LoopBlocked(BaseException):
    """Raised by the watchdog into code that stopped the event loop from turning.

    A BaseException (like CancelledError), so `except Exception:` in a learner's
    answer does not swallow it.
    """


class Outcome(Enum):
    PASSED = "passed"
    WRONG = "wrong"
    NOT_ATTEMPTED = "not attempted"


# (label, colour of the border, background) per outcome: words first, the symbol is a bonus
_STYLE = {
    Outcome.PASSED: ("Passed", "#1a7f37", "#e9f7ec"),
    Outcome.NOT_ATTEMPTED: ("Not attempted yet", "#9a6700", "#fff8e1"),
    Outcome.WRONG: ("Try again", "#cf222e", "#fdecec"),
}


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

    def to_html(self) -> str:
        """The coloured feedback box: readable with or without an emoji font."""
        label, colour, background = _STYLE[self.outcome]
        return (
            f'<div style="border-left: 6px solid {colour}; background: {background}; color: #1f2328; '
            f'padding: 8px 12px; margin: 4px 0; border-radius: 4px; font-family: sans-serif">'
            f'<strong style="color: {colour}">Exercise {html.escape(self.exercise)} · {label}</strong>'
            f"<br>{html.escape(self.message)}</div>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": str(self), "text/html": self.to_html()}

    def _ipython_display_(self) -> None:
        """Show nothing: run_check already showed the result (no duplicate box in notebooks)."""


STUB_HINT = (
    "replace the `...` / `raise NotImplementedError` in the exercise cell, run it, "
    "then run this cell again."
)


def show(result: Result) -> None:
    """Display the result: a coloured box plus the plain line in Jupyter, the line elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # plain Python: the line is all there is
        print(result)
        return
    if get_ipython() is None:
        print(result)
    else:
        display(result._repr_mimebundle_(), raw=True)


# --- is_stub -------------------------------------------------------------------------------


def _is_placeholder(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        value = stmt.value.value
        return value is Ellipsis or isinstance(value, str)  # `...` or a docstring
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        target = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(target, ast.Name) and target.id == "NotImplementedError"
    return False


def is_stub(fn: object) -> bool:
    """True if `fn` is missing or its body is only `...`, `pass`, a docstring or NotImplementedError."""
    if fn is None or fn is Ellipsis:
        return True
    if not callable(fn):
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return False
    funcs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return bool(funcs) and all(_is_placeholder(stmt) for stmt in funcs[0].body)


# --- whose exception is it? ---------------------------------------------------------------

_HELPERS = Path(__file__).resolve().parent
_LIBRARIES = tuple(
    {Path(sysconfig.get_paths()[k]).resolve() for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def _is_library_file(filename: str) -> bool:
    if filename.startswith("<frozen"):
        return True
    path = Path(filename)
    if not path.is_absolute():
        return False  # "<ipython-input-...>", "<string>": code typed by the learner
    try:
        path = path.resolve()
    except OSError:
        return False
    return path.is_relative_to(_HELPERS) or any(path.is_relative_to(lib) for lib in _LIBRARIES)


def _passed_through_learner(exc: BaseException, ours: set[types.CodeType]) -> bool:
    """Did `exc` unwind through a frame of the learner's code (not helpers/, not a library)?"""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:  # the exception, its causes and (for groups) its members
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code not in ours and not _is_library_file(code.co_filename):
                return True
            tb = tb.tb_next
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
    return False


def _describe(exc: BaseException) -> str:
    text = str(exc).split("\n")[0]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _blame(exc: BaseException, ours: set[types.CodeType]) -> str:
    """The sentence for an unexpected exception: the learner's, or the checker's own bug."""
    if _passed_through_learner(exc, ours):
        return f"your code raised {_describe(exc)}"
    if isinstance(exc, TypeError) and any(
        word in str(exc) for word in ("argument", "not callable", "can't be used in 'await'")
    ):  # the checker could not even call the learner's function the way the exercise says
        return (
            f"your function could not be called as the exercise asks ({_describe(exc)}): "
            "keep the name, the parameters and `async def` of the exercise cell"
        )
    return f"the checker itself failed ({_describe(exc)}); this is not your mistake, please report it"


# --- the watchdog for code that never yields ------------------------------------------------


class _Watchdog:
    """Interrupts the main thread when the event loop has not turned for `limit` seconds.

    A ticker task notes the time at every turn of the loop.  A daemon thread
    compares; when the loop has been stuck too long it sends WATCHDOG_SIGNAL to
    the main thread.  The signal interrupts time.sleep and is handled between
    two bytecodes of a CPU loop; the handler raises LoopBlocked there, inside
    the blocking coroutine, whose task then ends with it.  The handler only
    raises while the loop is stuck and a coroutine is running (so never inside
    the loop's own machinery, which would stop the kernel's loop), and the
    previous handler is restored afterwards.  Where signals cannot be used (a
    loop outside the main thread, Windows), the watchdog does nothing.
    """

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.fired = 0
        self.last_tick = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ticker: asyncio.Task | None = None
        self._previous: Any = None

    def _usable(self) -> bool:
        return (
            WATCHDOG_SIGNAL is not None
            and hasattr(signal, "pthread_kill")
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(WATCHDOG_SIGNAL) in (signal.SIG_DFL, None)  # not nested, not taken
        )

    def _stuck(self) -> bool:
        return time.monotonic() - self.last_tick > self.limit

    async def _tick(self) -> None:
        while True:
            self.last_tick = time.monotonic()
            await asyncio.sleep(0.05)

    def _watch(self, main: int) -> None:
        while not self._stop.wait(0.1):
            if self._stuck() and self.fired < 3:
                self.fired += 1
                self.last_tick = time.monotonic()  # give the interrupted code `limit` s before the next
                signal.pthread_kill(main, WATCHDOG_SIGNAL)

    def _handler(self, signum: int, frame: types.FrameType | None) -> None:
        if self._stop.is_set() or not _inside_a_coroutine(frame):
            return
        raise LoopBlocked(f"the event loop did not turn for {self.limit:g} s")

    def __enter__(self) -> _Watchdog:
        if not self._usable():
            return self
        self._previous = signal.signal(WATCHDOG_SIGNAL, self._handler)
        self._ticker = asyncio.get_running_loop().create_task(self._tick())
        main = threading.main_thread().ident
        self._thread = threading.Thread(target=self._watch, args=(main,), name="check-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            signal.signal(WATCHDOG_SIGNAL, self._previous if self._previous is not None else signal.SIG_DFL)
        if self._ticker is not None:
            self._ticker.cancel()


def _inside_a_coroutine(frame: types.FrameType | None) -> bool:
    """True if a coroutine's frame is on the stack: we are inside a task's step, not the loop's code."""
    flags = inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE | inspect.CO_ASYNC_GENERATOR
    while frame is not None:
        if frame.f_code.co_flags & flags:
            return True
        frame = frame.f_back
    return False


# --- run_check ------------------------------------------------------------------------------


def abandon(task: asyncio.Task) -> None:
    """Stop a task that swallows every CancelledError, so it does not run on in the kernel.

    Closing its coroutine throws GeneratorExit at the await where it sits, which
    `except CancelledError` does not catch; the task then ends at its next step.
    """
    try:
        task.get_coro().close()
    except BaseException:  # noqa: BLE001 - e.g. "coroutine ignored GeneratorExit": nothing more to do
        pass
    task.cancel()


def _quiet(task: asyncio.Task) -> None:
    """Retrieve a finished task's exception so asyncio logs nothing to stderr about it."""
    if not task.cancelled():
        task.exception()


BLOCKED = (
    "your code blocked the event loop for more than {limit:g} s: nothing else could run. "
    "time.sleep() or a long computation inside a coroutine stops everything; "
    "wait with `await asyncio.sleep(...)` instead"
)
IGNORED_CANCEL = (
    "your code was still running {timeout:g} s after the check started and then ignored "
    "cancellation (did it catch CancelledError and carry on?). Catch it only to clean up, then "
    "re-raise"
)
TOO_SLOW = (
    "your code was still running after {timeout:g} s; is something awaited that never finishes, "
    "or a blocking call inside a coroutine?"
)


async def _call(attempt: Callable[[], Awaitable[Any] | Any]) -> Any:
    value = attempt()
    if inspect.isawaitable(value):
        value = await value
    return value


async def _judge(
    exercise: str,
    attempt: Callable[[], Awaitable[Any] | Any],
    verify: Callable[[Any], str],
    timeout: float,
    block_limit: float,
) -> Result:
    ours = {getattr(f, "__code__", None) for f in (attempt, verify)} - {None}

    def wrong(message: str) -> Result:
        return Result(exercise, Outcome.WRONG, message)

    with _Watchdog(block_limit) as watchdog:
        task = asyncio.ensure_future(_call(attempt))
        task.add_done_callback(_quiet)
        try:
            await asyncio.wait([task], timeout=timeout)
            late = not task.done()
            if late:
                task.cancel()
                await asyncio.wait([task], timeout=CANCEL_GRACE)
        except asyncio.CancelledError:  # the cell itself was interrupted: stop the attempt, let it through
            task.cancel()
            raise
        fired = watchdog.fired
    if fired:
        return wrong(BLOCKED.format(limit=block_limit))
    if late and not task.done():
        abandon(task)
    if late:
        return wrong((TOO_SLOW if task.done() else IGNORED_CANCEL).format(timeout=timeout))
    if task.cancelled():
        return wrong(
            "your code raised CancelledError: did it await a task that had been cancelled "
            "(and not handle that)?"
        )
    exc = task.exception()
    if exc is None:
        try:
            return Result(exercise, Outcome.PASSED, verify(task.result()))
        except (NotImplementedError, NotAttempted):
            return Result(exercise, Outcome.NOT_ATTEMPTED, STUB_HINT)
        except Wrong as wrong_answer:
            return wrong(str(wrong_answer))
        except Exception as error:  # noqa: BLE001 - a verifier must not crash; say whose fault
            return wrong(_blame(error, ours))
    if isinstance(exc, (NotImplementedError, NotAttempted)):
        return Result(exercise, Outcome.NOT_ATTEMPTED, STUB_HINT)
    if isinstance(exc, Wrong):
        return wrong(str(exc))
    if isinstance(exc, LoopBlocked):
        return wrong(BLOCKED.format(limit=block_limit))
    if isinstance(exc, TimeoutError) and _passed_through_learner(exc, ours):
        detail = f": {exc}" if str(exc) else ""
        return wrong(f"your code raised TimeoutError{detail} (a timeout inside your code expired)")
    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
        raise exc
    return wrong(_blame(exc, ours))


async def run_check(
    exercise: str,
    attempt: Callable[[], Awaitable[Any] | Any],
    verify: Callable[[Any], str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    block_limit: float = BLOCK_LIMIT,
) -> Result:
    """Run the learner's `attempt`, then `verify` its value; show one clear outcome.

    `verify` returns the pass message, or raises Wrong / NotAttempted.  Whatever
    the learner's code does (hang, ignore cancellation, block the loop, raise),
    this returns within about timeout + CANCEL_GRACE (+ block_limit) seconds.
    """
    result = await _judge(exercise, attempt, verify, timeout, block_limit)
    from helpers import progress  # lazily; record() never raises, so a check never fails for it

    progress.record(result)
    show(result)
    return result


def expect(condition: bool, message: str) -> None:
    """Verifier shorthand: raise Wrong(message) unless condition holds."""
    if not condition:
        raise Wrong(message)
