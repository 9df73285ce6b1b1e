"""helpers.exercises.sandbox: the learner's code runs in its own task; the checker always gets control back."""

from __future__ import annotations

import asyncio

from helpers.exercises.sandbox import RESPONSE_HINT, is_response, not_finished, run_learner, stop_tasks


def test_a_value_comes_back_with_nothing_left_running():
    async def learner():
        await asyncio.sleep(0.01)
        return 42

    run = asyncio.run(run_learner(learner, timeout=2))
    assert run.finished and run.value == 42 and run.error is None
    assert run.left_running == [] and not run.ignored_cancel


def test_the_learners_exception_is_kept_not_raised():
    async def learner():
        raise KeyError("boom")

    run = asyncio.run(run_learner(learner, timeout=2))
    assert run.finished and isinstance(run.error, KeyError)


def test_a_task_cancelled_but_not_awaited_is_seen_and_then_stopped():
    async def main():
        started = []

        async def learner():
            worker = asyncio.create_task(asyncio.sleep(10))
            started.append(worker)
            await asyncio.sleep(0)
            worker.cancel()  # ...and returns without awaiting it
            return "done"

        run = await run_learner(learner, timeout=2)
        return run, started[0]

    run, worker = asyncio.run(main())
    assert run.value == "done" and run.left_running == [worker] and run.cancel_pending == 1
    assert worker.done()  # cleaned up by the sandbox


def test_code_that_swallows_cancellation_cannot_hang_the_checker():
    async def main():
        async def learner():
            while True:
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    pass  # the classic mistake

        loop = asyncio.get_running_loop()
        started = loop.time()
        run = await run_learner(learner, timeout=0.2)
        return run, loop.time() - started, asyncio.all_tasks() - {asyncio.current_task()}

    run, took, still_there = asyncio.run(main())  # asyncio.run itself would hang if the task survived
    assert not run.finished and run.ignored_cancel
    assert took < 2, took
    assert not still_there
    assert "ignored cancellation" in str(not_finished("f", 0.2, run, "hint"))


def test_tasks_created_by_other_code_at_the_same_time_are_not_the_learners():
    async def main():
        async def bystander():
            await asyncio.sleep(0.5)

        async def learner():
            await asyncio.sleep(0.05)
            return 1

        async def start_bystander_later():
            await asyncio.sleep(0.01)
            return asyncio.create_task(bystander())

        later = asyncio.create_task(start_bystander_later())
        run = await run_learner(learner, timeout=2)
        other = await later
        alive = not other.done()
        other.cancel()
        return run, alive

    run, alive = asyncio.run(main())
    assert run.left_running == [] and alive  # the kernel's (or checker's) own tasks are left alone


def test_stop_tasks_reports_stubborn_ones():
    async def main():
        async def stubborn():
            while True:
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    continue

        task = asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        stopped = await stop_tasks([task], grace=0.1)
        return stopped, task.done()

    stopped, done = asyncio.run(main())
    assert stopped is False and done is True


def test_response_objects_are_recognised_by_type_name():
    class Response:
        pass

    class ClientResponse:
        pass

    assert is_response(Response()) and is_response(ClientResponse())
    assert not is_response({"a": 1}) and not is_response(None)
    assert RESPONSE_HINT == "return response.json(), not the Response"
