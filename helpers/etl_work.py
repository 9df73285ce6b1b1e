"""The capstone's CPU-heavy transform, in a module so worker processes can import it.

A process pool started with "spawn" (or "forkserver", the default on Linux from
Python 3.14) imports the function it runs by name in a fresh interpreter, so it
cannot live in a notebook cell.  Everything here is plain, synchronous Python on
purpose: it holds the GIL, which is exactly why it belongs in a process, not a
thread.
"""

from __future__ import annotations

import hashlib
import os
import signal

ROUNDS = 300  # pure-Python work per record: about 0.1 ms, enough to matter over 10,000 records


def usable_cpus() -> int:
    """CPUs this process may run on: process_cpu_count() on 3.13+, the affinity mask before."""
    counter = getattr(os, "process_cpu_count", None)  # new in 3.13, respects affinity
    if counter is not None:
        return counter() or 1
    if hasattr(os, "sched_getaffinity"):  # Linux and some Unixes
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def pool_workers(cap: int = 4) -> int:
    """Worker processes for the transform: min(usable CPUs, cap), at least 1."""
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError(f"cap must be a whole number >= 1, got {cap!r}")
    return max(1, min(usable_cpus(), cap))


def ignore_sigint() -> None:
    """Pool initializer: Ctrl+C goes to the whole process group; only the parent should react.

    Without this, a terminal's Ctrl+C kills the workers mid-batch and the parent's
    drain fails with BrokenProcessPool instead of finishing the records in flight.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def score(title: str, value: int, rounds: int = ROUNDS) -> int:
    """A deterministic 0-999 score: a pure-Python mixing loop (holds the GIL throughout)."""
    h = value & 0xFFFFFFFF
    for _ in range(rounds):
        for ch in title:
            h = (h * 31 + ord(ch)) & 0xFFFFFFFF
    return h % 1000


def transform(records: list[dict]) -> list[dict]:
    """Turn enriched records into database rows: a score, a digest, a normalised title.

    Each record needs 'source', 'id', 'title' and 'value'; the output rows carry the
    columns of the capstone's `results` table.  Same input, same output, always.
    """
    rows = []
    for r in records:
        title = " ".join(str(r["title"]).split())
        rows.append(
            {
                "source": str(r["source"]),
                "id": int(r["id"]),
                "title": title[:200],
                "score": score(title, int(r["value"])),
                "digest": hashlib.sha256(f"{r['source']}:{r['id']}:{title}".encode()).hexdigest(),
            }
        )
    return rows
