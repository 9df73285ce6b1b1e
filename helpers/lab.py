"""Start, find and stop the course's local services from a notebook.

    lab = await helpers.lab.start()
    lab.api            # 'http://127.0.0.1:PORT'  (the JSON API)
    lab.site           # 'http://127.0.0.1:PORT'  (the website)
    lab.reset_gauge(); ...; lab.gauge().peak

The services run in a child process, so blocking code in the notebook
(time.sleep, a sync client, a CPU loop) never stalls the server and never
distorts what a lesson measures.  The child holds the read end of a pipe whose
write end only this process has; when this process ends for any reason the
pipe closes and the child exits (see helpers/services/server.py).

A process this kernel forks (a fork-context ProcessPoolExecutor worker) would
inherit that write end and keep the pipe open after the kernel dies, so a
fork hook closes it in every forked child.  The same hook makes a direct child
of the kernel exit once the kernel is gone: a pool worker orphaned by SIGKILL
(idle culler, OOM killer) waits forever for work that never comes, holding
memory on a shared classroom server.  Exiting is all such a worker can still do.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from helpers.tempdir import kernel_tempdir

START_TIMEOUT = 30.0  # seconds; a cold start on a busy classroom server takes ~1 s


class LabError(RuntimeError):
    """The services could not be started or reached; the message says what to try."""


def in_flight_steps(spans: list[dict]) -> tuple[list[float], list[int]]:
    """Step series (times, requests in flight) from records with "start" and "end" (None: running).

    At equal times an end counts before a start, so back-to-back requests never look overlapping.
    """
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans if s["end"] is not None])
    times, levels, level = [0.0], [0], 0
    for t, delta in events:
        level += delta
        times.append(t)
        levels.append(level)
    return times, levels


@dataclass(frozen=True)
class GaugeReading:
    """What the server saw: one span per request, times in seconds since the gauge reset."""

    spans: list[dict]
    peak: int
    in_flight: int
    dropped: int = 0  # requests beyond the gauge's 20,000 spans: counted in peak, not in spans

    @property
    def count(self) -> int:
        return len(self.spans)

    @property
    def connections(self) -> int:
        """How many different client connections carried the recorded requests."""
        return len({s.get("conn") for s in self.spans if s.get("conn") is not None})

    def in_flight_series(self) -> tuple[list[float], list[int]]:
        """Step series (times, requests in flight) for charts.in_flight()."""
        return in_flight_steps(self.spans)


@dataclass
class Lab:
    """Handle on the running services of this kernel."""

    api: str
    site: str
    pid: int
    process: subprocess.Popen = field(repr=False)
    log: Path = field(repr=False)

    def url(self, path: str) -> str:
        """Full URL of an API path, e.g. lab.url('/delay/0.2')."""
        return self.api + (path if path.startswith("/") else "/" + path)

    def _call(self, method: str, path: str) -> dict:
        request = urllib.request.Request(self.url(path), method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.load(response)
        except OSError as exc:
            raise LabError(f"the services at {self.api} did not answer ({exc}); run `lab = await helpers.lab.start()` again") from None

    def reset_gauge(self) -> None:
        """Forget all recorded requests; the gauge clock restarts at 0."""
        self._call("DELETE", "/gauge")

    def gauge(self) -> GaugeReading:
        """Every request since the last reset, as the server saw it (read page by page)."""
        for _ in range(5):  # a reset between two pages would mix two runs: start again
            first = snap = self._call("GET", "/gauge")
            spans = list(snap["spans"])
            while snap.get("next") is not None and snap.get("generation") == first.get("generation"):
                snap = self._call("GET", f"/gauge?start={snap['next']}")
                spans.extend(snap["spans"])
            if snap.get("generation") == first.get("generation"):
                return GaugeReading(spans=spans, peak=snap["peak"], in_flight=snap["in_flight"], dropped=snap.get("dropped", 0))
        raise LabError("the gauge was reset while it was being read, five times running; read it again")

    def reset_limited(self) -> None:
        """Forget every /limited/{key} window (so the next request per key starts a fresh one)."""
        self._call("DELETE", "/limited")

    def reset_flaky(self) -> None:
        """Forget how often each /flaky/{key} was tried."""
        self._call("DELETE", "/flaky")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def memory_mb(self) -> float | None:
        """Resident memory of the service process (Linux only; None elsewhere)."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def stop(self) -> None:
        """Stop the services: close the lifeline, then make sure."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()

    def __str__(self) -> str:
        return f"JSON API at {self.api}, website at {self.site}"


_lab: Lab | None = None
_lock = threading.Lock()


def _child_env() -> dict[str, str]:
    """Make sure the child imports this very helpers package, installed or not."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _read_ready_line(process: subprocess.Popen, timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline().decode()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else ""


def start_blocking() -> Lab:
    """Start the services (or return the running ones) without an event loop."""
    with _lock:
        return current() or _spawn()


_owner: int | None = None


def _discard(process: subprocess.Popen) -> None:
    """Kill a child that failed to start and close its pipes (no orphan, no ResourceWarning)."""
    if process.poll() is None:
        process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe:
            pipe.close()


def _spawn() -> Lab:
    global _lab, _owner
    log = kernel_tempdir() / "services.log"
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console window flashing up on Windows
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "helpers.services", "--api-port", "0", "--site-port", "0", "--lifeline", "--parent-pid", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env=_child_env(),
            creationflags=flags,
            # Own session on POSIX: the kernel's shutdown signals its process group and would wait
            # for us; the lifeline pipe is what stops the services, on every OS.
            start_new_session=os.name == "posix",
        )
    line = _read_ready_line(process, START_TIMEOUT)
    try:
        ready = json.loads(line)
        _lab = Lab(api=ready["api"], site=ready["site"], pid=ready["pid"], process=process, log=log)
    except (ValueError, KeyError, TypeError):
        exited = process.poll() is not None
        _discard(process)
        detail = log.read_text(errors="replace").strip()[-2000:] or line.strip() or "(no output)"
        what = "(the process exited at once)" if exited else f"within {START_TIMEOUT:g} s"
        raise LabError(f"the local services did not start {what}. Their log says:\n{detail}") from None
    _owner = os.getpid()
    _install_fork_hook()
    return _lab


ORPHAN_POLL = 0.5  # seconds between a forked child's checks that the kernel is still there


def _exit_when_orphaned(kernel: int) -> None:
    """Runs in a daemon thread of a forked child: exit once the kernel that forked us is gone."""
    while os.getppid() == kernel:
        time.sleep(ORPHAN_POLL)
    os._exit(1)  # the kernel is gone: nobody will read this process's results


def _point_at_devnull(fd: int) -> None:
    """Release the pipe behind `fd` but keep the number valid (the file object closes it later)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _after_fork_in_child() -> None:
    """Drop the inherited lifeline in a forked child, and tie a direct child's life to the kernel."""
    lab, owner = _lab, _owner  # current() is None here already: _owner is the kernel's pid
    if lab is None or owner is None:
        return
    for pipe in (lab.process.stdin, lab.process.stdout):
        try:
            if pipe is not None and not pipe.closed:
                _point_at_devnull(pipe.fileno())
        except (OSError, ValueError):
            pass
    if os.getppid() == owner:
        threading.Thread(target=_exit_when_orphaned, args=(owner,), name="orphan-watch", daemon=True).start()


_fork_hook_installed = False


def _install_fork_hook() -> None:
    global _fork_hook_installed
    if hasattr(os, "register_at_fork") and not _fork_hook_installed:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_hook_installed = True


def current() -> Lab | None:
    """This kernel's running services, or None if they are not running."""
    if _lab is not None and _lab.running and _owner == os.getpid():
        return _lab
    return None


async def start() -> Lab:
    """Start the services for this kernel, or return the ones already running."""
    return await asyncio.to_thread(start_blocking)


def stop() -> None:
    """Stop this kernel's services (they also stop by themselves when the kernel exits)."""
    global _lab
    with _lock:
        if _lab is not None and _owner == os.getpid():
            _lab.stop()
        _lab = None


atexit.register(stop)
