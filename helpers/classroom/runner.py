"""Run one notebook in K fresh kernels at the same time, and watch their process trees.

Each kernel gets its own temporary folder holding a copy of the notebook (the
learner's file is never written) and is its working directory.  nbclient runs
the cells exactly as "Run all" would: cells tagged ``raises-exception`` may
raise, any other error stops that kernel.  A check cell that prints a ❌ line
also counts as a failure, because checks print rather than raise.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from helpers.classroom.memory import TreeUsage

SAMPLE_EVERY = 0.25  # seconds between memory samples
STOP_WAIT = 15.0  # seconds for nbclient to notice a killed kernel before we cancel it
WRONG_MARK = "❌"


@dataclass
class KernelRun:
    """What happened in one kernel."""

    index: int
    ok: bool = False
    error: str = ""  # the first line of what went wrong
    seconds: float = 0.0  # from starting the kernel until it is shut down after the last cell
    pid: int | None = None
    usage: TreeUsage = field(default_factory=TreeUsage)
    client: NotebookClient | None = field(default=None, repr=False)
    current: int = 0  # the tree's PSS at the last sample


@dataclass
class Classroom:
    """All runs, and what the whole host went through while they ran."""

    runs: list[KernelRun]
    seconds: float  # wall time for the whole classroom
    peak_total: int  # the largest sum of every tree's PSS at one sampling moment (RSS off Linux)
    load_max: float | None  # the highest 1-minute load average seen (None where unavailable)
    cpus: int


def first_line(text: str, limit: int = 120) -> str:
    """The first non-empty line of `text`, shortened to `limit` characters."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def wrong_check_line(notebook: nbformat.NotebookNode) -> str:
    """The first ❌ line a check cell printed, or ""."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            for line in str(text).splitlines():
                if line.lstrip().startswith(WRONG_MARK):
                    return first_line(line)
    return ""


def where_it_failed(notebook: nbformat.NotebookNode) -> str:
    """'In [n]: ' for the first cell with an unexpected error output, as JupyterLab numbers it."""
    for cell in notebook.cells:
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            continue
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            return f"In [{cell.get('execution_count') or '?'}]: "
    return ""


def _pid(client: NotebookClient) -> int | None:
    provisioner = getattr(client.km, "provisioner", None) if client.km is not None else None
    return getattr(provisioner, "pid", None)


def _describe(error: BaseException) -> str:
    if isinstance(error, DeadKernelError):
        return f"the kernel died: {first_line(error)}"
    if isinstance(error, CellExecutionError):
        return first_line(f"{error.ename}: {error.evalue}")
    return first_line(f"{type(error).__name__}: {error}")


async def run_one(run: KernelRun, source: Path, workdir: Path, kernel_name: str, timeout: float) -> KernelRun:
    """Execute a private copy of `source` in a new kernel; never raises."""
    index = run.index
    folder = workdir / f"kernel-{index:02d}"
    folder.mkdir()
    copy = folder / source.name
    shutil.copyfile(source, copy)
    notebook = nbformat.read(copy, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=None,  # no per-cell limit: the whole run is limited below
        startup_timeout=max(1, math.ceil(timeout)),
        kernel_name=kernel_name,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(folder)}},
    )
    run.client = client
    started = time.perf_counter()
    log = open(folder / "kernel-stderr.log", "wb")  # the kernel's own warnings stay out of the table
    # The kernel's exercise results go to its own folder, not to the instructor's progress file.
    env = dict(os.environ, COURSE_PROGRESS_FILE=str(folder / "progress.json"))
    execution = asyncio.create_task(client.async_execute(stderr=log, env=env))
    try:
        # Not asyncio.timeout(): cancelling nbclient mid-cell turns into DeadKernelError and can
        # race its own cleanup.  Out of time (or on Ctrl+C) we kill the kernel process instead;
        # nbclient then ends the run through its ordinary "kernel died" path.
        done, _ = await asyncio.wait({execution}, timeout=timeout)
        if done:
            execution.result()
            run.error = wrong_check_line(notebook)
            run.ok = not run.error
        else:
            await _stop(client, execution)
            run.error = f"not finished within the per-kernel timeout of {timeout:g} s"
    except Exception as exc:  # the notebook failed: that is the finding, not a crash of this tool
        run.error = where_it_failed(notebook) + _describe(exc)
    finally:
        run.seconds = time.perf_counter() - started
        if not execution.done():  # we were cancelled (Ctrl+C)
            await _stop(client, execution)
        run.pid = run.pid or _pid(client)
        if run.pid:
            run.usage.sample(run.pid)  # a last look before the kernel is gone
        await _make_sure_it_stopped(client)
        atexit.unregister(client._cleanup_kernel)  # nbclient's exit hook, in case it was left
        run.client = None
        log.close()
    with contextlib.suppress(OSError):
        nbformat.write(notebook, copy)  # the executed copy, for --keep
    return run


def _load() -> float | None:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        return None


async def _watch(runs: list[KernelRun], host: dict[str, float]) -> None:
    """Sample every kernel's tree, all in one pass, until cancelled."""
    while True:
        total = 0
        for run in runs:
            if run.client is not None:
                run.pid = run.pid or _pid(run.client)
                if run.pid:
                    with contextlib.suppress(Exception):  # a failed sample must not end the watch
                        run.current = await asyncio.to_thread(run.usage.sample, run.pid)
            total += run.current if run.client is not None else 0
        host["peak_total"] = max(host["peak_total"], total)
        load = _load()
        if load is not None:
            host["load_max"] = max(host.get("load_max", 0.0), load)
        await asyncio.sleep(SAMPLE_EVERY)


async def _stop(client: NotebookClient, execution: asyncio.Task) -> None:
    """Kill the kernel process and let nbclient notice; cancel only if that takes too long."""
    provisioner = getattr(client.km, "provisioner", None) if client.km is not None else None
    if provisioner is not None:
        with contextlib.suppress(Exception):
            await provisioner.kill()
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(asyncio.shield(execution), STOP_WAIT)
    if not execution.done():
        execution.cancel()
        with contextlib.suppress(BaseException):
            await execution


async def _make_sure_it_stopped(client: NotebookClient) -> None:
    """nbclient shuts its kernel down; if a timeout interrupted that, finish the job."""
    km = client.km
    if km is None:
        return
    with contextlib.suppress(Exception):
        if await km.is_alive():
            await km.shutdown_kernel(now=True)
        await km.cleanup_resources()


async def run_classroom(
    source: Path, kernels: int, *, kernel_name: str = "python3", timeout: float = 300.0, keep: Path | None = None
) -> Classroom:
    """Start `kernels` kernels at once on copies of `source`; report each run and the host's peaks."""
    workdir = Path(tempfile.mkdtemp(prefix="classroom-", dir=keep))
    runs = [KernelRun(i + 1) for i in range(kernels)]
    host: dict[str, float] = {"peak_total": 0}
    watcher = asyncio.create_task(_watch(runs, host))
    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:  # on Ctrl+C it waits until every kernel is stopped
            for run in runs:
                group.create_task(run_one(run, source, workdir, kernel_name, timeout))
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return Classroom(runs, time.perf_counter() - started, int(host["peak_total"]), host.get("load_max"), os.cpu_count() or 1)
