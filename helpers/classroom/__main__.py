"""`python -m helpers.classroom --kernels K NOTEBOOK`: the command line of the classroom check."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager

from helpers.classroom.report import as_json, render
from helpers.classroom.runner import run_classroom

MAX_KERNELS = 200
FILES_PER_KERNEL = 40  # measured: about 27 open descriptors per running kernel (zmq sockets, pipes)


class ArgumentProblem(Exception):
    """Bad input from the instructor; the message says what to do instead."""


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.classroom",
        description="Start K kernels at once, run NOTEBOOK in each (a private copy), and report failures, times and memory.",
        epilog="Exit code: 0 all kernels passed, 1 at least one failed, 2 bad arguments, 130 interrupted (Ctrl+C).",
    )
    parser.add_argument("notebook", type=Path, help="the .ipynb to run, e.g. notebooks/01_blocking_vs_nonblocking.ipynb")
    parser.add_argument("--kernels", "-k", type=int, default=8, metavar="K", help=f"how many kernels to start at once (1-{MAX_KERNELS}; default 8)")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS", help="seconds each kernel may take for the whole notebook (default 300)")
    parser.add_argument("--kernel-name", default="python3", metavar="NAME", help="the Jupyter kernel to use (default python3; see `jupyter kernelspec list`)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure to this JSON file")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the executed copies in a new folder inside this one (to read a failure)")
    return parser.parse_args(argv)


def validate(args: argparse.Namespace) -> None:
    """Raise ArgumentProblem with a helpful message for anything that cannot work."""
    path: Path = args.notebook
    if not path.is_file():
        raise ArgumentProblem(f"{path} is not a file; give the path of a notebook, e.g. notebooks/01_blocking_vs_nonblocking.ipynb")
    if path.suffix != ".ipynb":
        raise ArgumentProblem(f"{path} is not a notebook (.ipynb)")
    try:
        json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ArgumentProblem(f"{path} is not a readable Jupyter notebook (not JSON with a 'cells' list)") from None
    if not 1 <= args.kernels <= MAX_KERNELS:
        raise ArgumentProblem(f"--kernels must be between 1 and {MAX_KERNELS}, got {args.kernels}")
    if not 0 < args.timeout < math.inf:
        raise ArgumentProblem(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    specs = KernelSpecManager().find_kernel_specs()
    if args.kernel_name not in specs:
        raise ArgumentProblem(f"no Jupyter kernel named {args.kernel_name!r}; installed: {', '.join(sorted(specs)) or 'none'}")
    if args.keep is not None and not args.keep.is_dir():
        raise ArgumentProblem(f"--keep needs an existing folder, {args.keep} is not one")
    if args.json is not None and not args.json.parent.is_dir():
        raise ArgumentProblem(f"--json: the folder {args.json.parent} does not exist")


def raise_open_file_limit(kernels: int) -> str:
    """Lift the soft open-file limit to what K kernels need (POSIX); return a warning or ""."""
    try:
        import resource
    except ImportError:  # Windows: no such limit to raise
        return ""
    needed = 100 + FILES_PER_KERNEL * kernels
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return ""
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):
        target = soft
    if target < needed:
        return f"warning: this shell allows {target} open files and {kernels} kernels need about {needed}; raise it (ulimit -n {needed}) if kernels fail to start"
    return ""


def run_interruptibly(start: Callable[[], Awaitable[Any]]) -> Any:
    """Run the coroutine `start()` makes; on Ctrl+C cancel it cleanly and return None.

    The event loop runs in a worker thread because nbclient takes over SIGINT in the
    main thread (and would swallow Ctrl+C); here the main thread catches it, cancels
    the run, and waits while every kernel is shut down.
    """
    state: dict[str, Any] = {}
    ready = threading.Event()

    async def wrapper() -> Any:
        state["loop"], state["task"] = asyncio.get_running_loop(), asyncio.current_task()
        ready.set()
        return await start()

    def target() -> None:
        try:
            state["value"] = asyncio.run(wrapper())
        except BaseException as exc:  # handed to the main thread below
            state["error"] = exc
        finally:
            ready.set()

    worker = threading.Thread(target=target, name="classroom", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        print("interrupted: shutting the kernels down ...", file=sys.stderr, flush=True)
        ready.wait()
        if "loop" in state:
            state["loop"].call_soon_threadsafe(state["task"].cancel)
        worker.join(60)
        return None
    if "error" in state:
        raise state["error"]
    return state.get("value")


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl+C before the kernels started
        print("interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    args = parse(argv)
    try:
        validate(args)
    except ArgumentProblem as problem:
        print(f"python -m helpers.classroom: {problem}", file=sys.stderr)
        return 2
    warning = raise_open_file_limit(args.kernels)
    if warning:
        print(warning, file=sys.stderr)
    print(f"starting {args.kernels} kernel(s) on {args.notebook} (timeout {args.timeout:g} s each) ...", flush=True)
    room = run_interruptibly(
        lambda: run_classroom(args.notebook.resolve(), args.kernels, kernel_name=args.kernel_name, timeout=args.timeout, keep=args.keep)
    )
    if room is None:
        return 130  # interrupted, as a shell reports Ctrl+C
    print(render(room, str(args.notebook)))
    if args.json is not None:
        args.json.write_text(json.dumps(as_json(room, str(args.notebook)), indent=1) + "\n")
        print(f"figures written to {args.json}")
    if args.keep is not None:
        print(f"executed copies kept under {args.keep.resolve()}")
    return 1 if any(not run.ok for run in room.runs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
