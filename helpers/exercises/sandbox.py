"""Run a learner's coroutine so that a checker can always finish and clean up.

Why not just `await learner(...)` under `asyncio.timeout()`?  A timeout works by
cancelling the awaiting task; a learner's code that swallows CancelledError
keeps running, and the checker hangs with it.  Here the learner's coroutine
runs in its own task and the checker only *waits* for it (`asyncio.wait` does
not need the task's cooperation), so the checker regains control at the
deadline whatever the code does with cancellation.  Afterwards every task the
learner's code started and left behind is found, reported and cancelled, so
nothing keeps running (or prints "Task exception was never retrieved") after
the check has printed its verdict.

A coroutine that blocks the event loop (time.sleep, a CPU loop) cannot be
interrupted from inside the loop; that case is caught by the loop-lag
measurements of the checkers and by run_check's own guard.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from helpers.checks import Wrong

CANCEL_GRACE = 0.5  # seconds a cancelled task gets to finish before we call it stubborn


@dataclass
class Run:
    """What happened when the learner's coroutine ran."""

    value: Any = None
    finished: bool = False  # returned or raised before the deadline
    error: BaseException | None = None
    left_running: list[asyncio.Task] = field(default_factory=list)  # tasks not done at return
    cancel_pending: int = 0  # of those, how many had been cancelled but not awaited
    ignored_cancel: bool = False  # the learner's task (or one of its tasks) would not stop


_LEARNER: contextvars.ContextVar[list | None] = contextvars.ContextVar("learner_tasks", default=None)


def _recording_factory(previous: Callable | None) -> Callable:
    """A task factory that notes every task created from the learner's code (and its tasks).

    The marker is a context variable set only inside the learner's task, and
    tasks inherit a copy of their creator's context, so tasks the kernel or
    the checker create at the same time are never mistaken for the learner's.
    """

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Future:
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        record = _LEARNER.get() if "context" not in kwargs else kwargs["context"].get(_LEARNER)
        if record is not None:
            record.append(task)
        return task

    return factory


def _cancel_requested(task: asyncio.Task) -> bool:
    """True if someone called task.cancel() and the task has not finished yet."""
    return task.cancelling() > 0 or getattr(task, "_must_cancel", False)


def _force_close(task: asyncio.Task) -> None:
    """Last resort for a task that ignores cancel(): close its coroutine, then cancel the task.

    close() raises GeneratorExit at the await where the coroutine is suspended
    (an `except CancelledError:` does not catch it), so its `finally:` blocks
    run; the task's next step then finds a closed coroutine and ends cancelled.
    """
    coro = task.get_coro()
    try:
        if coro is not None and hasattr(coro, "close"):
            coro.close()
    except RuntimeError:  # "coroutine ignored GeneratorExit": nothing more we can do from here
        pass
    task.cancel()


async def stop_tasks(tasks: list[asyncio.Task], grace: float = CANCEL_GRACE) -> bool:
    """Cancel `tasks`, wait up to `grace` s, retrieve their outcomes. True if all stopped when asked.

    Tasks that swallow the cancellation are closed by force, so nothing keeps
    running after a check; the return value still reports them as stubborn.
    """
    tasks = [t for t in tasks if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=grace)
    stubborn = [t for t in tasks if not t.done()]
    for task in stubborn:
        _force_close(task)
    if stubborn:
        await asyncio.wait(stubborn, timeout=grace)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "Task exception was never retrieved" later
    return not stubborn


async def run_learner(make: Callable[[], Awaitable[Any]], timeout: float) -> Run:
    """Run `make()` as its own task for at most `timeout` s, then clean up after it.

    The snapshot of leftovers is taken the moment the learner's code returns,
    before anything else runs, so a task that was cancelled but not awaited
    is still seen as running (it would finish a moment later).
    """
    created: list[asyncio.Task] = []
    leftovers: list[asyncio.Task] = []
    run = Run()

    async def body() -> Any:
        _LEARNER.set(created)
        try:
            return await make()
        finally:  # runs in the same step as the return: nothing else has run yet
            leftovers.extend(t for t in created if not t.done())

    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()
    loop.set_task_factory(_recording_factory(previous))
    task = asyncio.create_task(body(), name="learner-code")  # made in our context: not recorded
    try:
        await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:  # the check cell itself was interrupted: stop the learner's code too
        loop.set_task_factory(previous)
        await stop_tasks([task, *created])
        raise
    if task.done():
        run.finished = True
        if task.cancelled():
            run.error = asyncio.CancelledError()
        elif task.exception() is not None:
            run.error = task.exception()
        else:
            run.value = task.result()
        run.left_running = list(leftovers)
        run.cancel_pending = sum(_cancel_requested(t) for t in leftovers)
        stopped = await stop_tasks([*created])
    else:
        stopped = await stop_tasks([task, *created])
        run.left_running = [t for t in created if t is not task]
    loop.set_task_factory(previous)
    run.ignored_cancel = not stopped
    return run


def raise_error(run: Run) -> None:
    """Re-raise the learner's own exception so run_check names it (a TimeoutError included)."""
    if run.error is not None:
        raise run.error


STUBBORN = (
    " Something ignored cancellation: never catch CancelledError (or BaseException, or use a bare"
    " `except:`) without re-raising it."
)


def not_finished(name: str, timeout: float, run: Run, hint: str) -> Wrong:
    """The Wrong to raise when the learner's code did not finish within `timeout`."""
    if run.ignored_cancel:  # the likeliest cause of the hang, and the one to fix first
        return Wrong(
            f"{name} was still running after {timeout:g} s, and it ignored cancellation: never catch CancelledError "
            "(or BaseException, or use a bare `except:`) without re-raising it. A task that swallows it cannot be "
            "stopped, and whoever awaits it (gather, TaskGroup, a timeout) waits forever"
        )
    return Wrong(f"{name} was still running after {timeout:g} s. {hint}")


def is_response(value: object) -> bool:
    """A Response object of httpx, aiohttp or requests, by type name (no imports needed)."""
    return type(value).__name__ in {"Response", "ClientResponse"}


RESPONSE_HINT = "return response.json(), not the Response"
