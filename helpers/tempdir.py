"""One private temporary directory per kernel (per Python process).

Sixty learners on one classroom server each get their own directory, so their
databases and logs never collide, and it is removed when the kernel exits.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "asyncio-course-"
_dir: Path | None = None
_owner_pid: int | None = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, and belongs to someone else
        return True
    return True


def remove_orphans() -> None:
    """Delete directories left by kernels that were killed (atexit never ran for them).

    POSIX only: on Windows os.kill(pid, 0) would not be a harmless probe.
    """
    if os.name != "posix":
        return
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        pid = path.name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdecimal() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def kernel_tempdir() -> Path:
    """The directory for this process, created on first use."""
    global _dir, _owner_pid
    if _dir is None or _owner_pid != os.getpid():  # a forked child gets its own
        remove_orphans()
        _dir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
        _owner_pid = os.getpid()
        atexit.register(shutil.rmtree, _dir, True)
    return _dir
