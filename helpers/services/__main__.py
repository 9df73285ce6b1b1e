"""``python -m helpers.services``: run the course's services in a terminal.

Instructors use it to show the services on a projector or to poke them with
curl; notebooks do not need it (``await helpers.lab.start()`` starts its own).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from helpers.services.server import serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.services", description=__doc__.splitlines()[0])
    parser.add_argument("--api-port", type=int, default=8000, help="port for the JSON API (0 = any free port; default 8000)")
    parser.add_argument("--site-port", type=int, default=8001, help="port for the website (0 = any free port; default 8001)")
    parser.add_argument("--lifeline", action="store_true", help=argparse.SUPPRESS)  # used by helpers.lab
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)  # the kernel's pid
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.api_port, args.site_port, args.lifeline, args.parent_pid))
    except KeyboardInterrupt:
        print("\nStopped.")
    except OSError as exc:
        print(f"Could not start the services: {exc}.\nIs another copy already running? Try other ports, e.g. --api-port 0 --site-port 0.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
