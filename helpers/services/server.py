"""Run the API and the website in one asyncio loop, on two loopback ports.

This module is what the child process runs.  When started by a notebook it
watches a *lifeline*: its stdin is a pipe whose other end only the kernel
holds.  When the kernel exits, however it exits (even SIGKILL, even on
Windows), the OS closes that pipe, the read returns EOF, and the server shuts
down.  That is portable where POSIX signals or prctl tricks are not.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass

from aiohttp import web

from helpers.services.api import build_api_app
from helpers.services.gauge import Gauge
from helpers.services.site import build_site_app

HOST = "127.0.0.1"  # loopback only: nothing in the course is reachable from the network


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
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, HOST, port, backlog=1024)
        await site.start()
        runners.append(runner)
        ports.append(site._server.sockets[0].getsockname()[1])  # the real port when 0 was asked
    return Running(api_port=ports[0], site_port=ports[1], runners=runners)


async def wait_for_lifeline_eof() -> None:
    """Return when stdin reaches EOF, i.e. when the parent process is gone."""
    # A blocking read in a thread works for pipes on every OS (selectors do not on Windows).
    await asyncio.to_thread(sys.stdin.buffer.read)


async def parent_gone_posix(poll: float = 1.0) -> None:
    """Backup for POSIX: the parent pid changes when we are re-parented."""
    parent = os.getppid()
    while os.getppid() == parent:
        await asyncio.sleep(poll)


async def serve(api_port: int, site_port: int, lifeline: bool) -> None:
    running = await start_servers(api_port, site_port)
    ready = {"api": f"http://{HOST}:{running.api_port}", "site": f"http://{HOST}:{running.site_port}", "pid": os.getpid()}
    if lifeline:
        print(json.dumps(ready), flush=True)  # the one line the parent waits for
        watchers = [asyncio.ensure_future(wait_for_lifeline_eof())]
        if os.name == "posix":
            watchers.append(asyncio.ensure_future(parent_gone_posix()))
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
