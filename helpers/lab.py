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
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from helpers.tempdir import kernel_tempdir

START_TIMEOUT = 30.0  # seconds; a cold start on a busy classroom server takes ~1 s


class LabError(RuntimeError):
    """The services could not be started or reached; the message says what to try."""


@dataclass(frozen=True)
class GaugeReading:
    """What the server saw: one span per request, times in seconds since the gauge reset."""

    spans: list[dict]
    peak: int
    in_flight: int

    @property
    def count(self) -> int:
        return len(self.spans)

    @property
    def connections(self) -> int:
        """How many different client connections carried the recorded requests."""
        return len({s.get("conn") for s in self.spans if s.get("conn") is not None})

    def in_flight_series(self) -> tuple[list[float], list[int]]:
        """Step series (times, requests in flight) for charts.in_flight()."""
        events = sorted([(s["start"], 1) for s in self.spans] + [(s["end"], -1) for s in self.spans if s["end"] is not None], key=lambda e: (e[0], e[1]))
        times, levels, level = [0.0], [0], 0
        for t, delta in events:
            level += delta
            times.append(t)
            levels.append(level)
        return times, levels


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
        """Every request since the last reset, as the server saw it."""
        snap = self._call("GET", "/gauge")
        return GaugeReading(spans=snap["spans"], peak=snap["peak"], in_flight=snap["in_flight"])

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
            [sys.executable, "-m", "helpers.services", "--api-port", "0", "--site-port", "0", "--lifeline"],
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
    return _lab


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
