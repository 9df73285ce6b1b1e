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

_dir: Path | None = None
_owner_pid: int | None = None


def kernel_tempdir() -> Path:
    """The directory for this process, created on first use."""
    global _dir, _owner_pid
    if _dir is None or _owner_pid != os.getpid():  # a forked child gets its own
        _dir = Path(tempfile.mkdtemp(prefix=f"asyncio-course-{os.getpid()}-"))
        _owner_pid = os.getpid()
        atexit.register(shutil.rmtree, _dir, True)
    return _dir
