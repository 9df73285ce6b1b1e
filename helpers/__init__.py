"""Plumbing for the hands-on asyncio course.

    import helpers
    lab = await helpers.lab.start()        # local JSON API + website, in a child process
    rec = helpers.timing.Recorder()        # spans of work
    helpers.charts.timeline(rec.spans)     # the signature chart
    db = helpers.db.create_demo_db()       # a fresh SQLite file

The asyncio being taught is always written in the notebooks; this package only
holds what would distract from it.  Submodules load on first use, so a worker
process that imports only ``helpers.work`` does not pay for matplotlib.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["charts", "checks", "db", "lab", "progress", "timing", "work"]


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"helpers.{name}")
    raise AttributeError(f"module 'helpers' has no attribute {name!r}; it offers {', '.join(__all__)}")
