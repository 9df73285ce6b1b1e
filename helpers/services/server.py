"""Run the API and the website in one asyncio loop, on two loopback ports.

This module is what the child process runs.  When started by a notebook it
watches a *lifeline*: its stdin is a pipe whose other end only the kernel
holds.  When the kernel exits, however it exits (even SIGKILL, even on
Windows), the OS closes that pipe, the read returns EOF, and the server shuts
down.  That is portable where POSIX signals or prctl tricks are not.

Two things can keep that pipe open after the kernel is gone: a process the
kernel forked (a fork-context ProcessPoolExecutor worker inherits the write
end; helpers.lab closes it in forked children, but a fork made below Python
cannot be seen), and nothing else.  So on POSIX the server also polls its
parent pid, and the pipe is read in a *daemon* thread that never delays exit:
``asyncio.to_thread`` would make ``asyncio.run`` wait for a read that never
returns, leaving a process with closed ports that never exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from dataclasses import dataclass

from aiohttp import web

from helpers.services.api import build_api_app
from helpers.services.gauge import Gauge
from helpers.services.site import build_site_app

HOST = "127.0.0.1"  # loopback only: nothing in the course is reachable from the network
# Seconds that requests still in flight (a /delay/10, a 100-line /stream) get to finish when the
# services stop; aiohttp's default of 60 s would keep a dead kernel's services alive that long.
SHUTDOWN_TIMEOUT = 1.0


@dataclass
class Running:
    api_port: int
    site_port: int
    runners: list[web.AppRunner]

    async def stop(self) -> None:
        for runner in self.runners:
            await runner.cleanup()


async def start_servers(api_port: int = 0, site_port: int = 0) -> Running:
    """Start both apps; port 0 asks the OS for a free port."""
    gauge = Gauge()
    ports = []
    runners = []
    for app, port in ((build_api_app(gauge), api_port), (build_site_app(gauge), site_port)):
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        site = web.TCPSite(runner, HOST, port, backlog=1024)
        await site.start()
        runners.append(runner)
        ports.append(site._server.sockets[0].getsockname()[1])  # the real port when 0 was asked
    return Running(api_port=ports[0], site_port=ports[1], runners=runners)


async def wait_for_lifeline_eof() -> None:
    """Return when stdin reaches EOF, i.e. when the parent process is gone."""
    # A blocking read in a thread works for pipes on every OS (selectors do not on Windows).
    # A daemon thread, not asyncio.to_thread: if the pipe never closes (someone else still holds
    # its write end), the executor's shutdown would wait for this read forever.
    loop = asyncio.get_running_loop()
    eof = asyncio.Event()

    def read_until_eof() -> None:
        try:  # os.read on the fd: a buffered read would hold a lock that interpreter exit waits for
            while os.read(sys.stdin.fileno(), 65536):
                pass
        except (OSError, ValueError):
            pass  # a closed or broken stdin means the same: the parent is gone
        try:
            loop.call_soon_threadsafe(eof.set)
        except RuntimeError:
            pass  # the loop already closed: the server is exiting anyway

    threading.Thread(target=read_until_eof, name="lifeline", daemon=True).start()
    await eof.wait()


async def parent_gone_posix(parent: int, poll: float = 1.0) -> None:
    """Backup for POSIX: the parent pid changes when we are re-parented.

    `parent` is the kernel's pid as the kernel itself gave it (--parent-pid): read here with
    os.getppid(), a kernel killed before this line ran would make init look like the parent.
    """
    while os.getppid() == parent:
        await asyncio.sleep(poll)


async def serve(api_port: int, site_port: int, lifeline: bool, parent_pid: int | None = None) -> None:
    parent = parent_pid or os.getppid()
    running = await start_servers(api_port, site_port)
    ready = {"api": f"http://{HOST}:{running.api_port}", "site": f"http://{HOST}:{running.site_port}", "pid": os.getpid()}
    if lifeline:
        print(json.dumps(ready), flush=True)  # the one line the parent waits for
        watchers = [asyncio.ensure_future(wait_for_lifeline_eof())]
        if os.name == "posix":
            watchers.append(asyncio.ensure_future(parent_gone_posix(parent)))
        await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
        for w in watchers:
            w.cancel()
    else:
        print(f"JSON API:  {ready['api']}/   (GET / lists the endpoints)")
        print(f"Website:   {ready['site']}/")
        print(f"Gauge:     {ready['api']}/gauge")
        print("Press Ctrl+C to stop.", flush=True)
        await asyncio.Event().wait()
    await running.stop()
