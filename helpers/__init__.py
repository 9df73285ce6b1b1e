"""Plumbing for the hands-on asyncio course.

    import helpers
    lab = await helpers.lab.start()        # local JSON API + website, in a child process
    rec = helpers.timing.Recorder()        # spans of work
    helpers.charts.timeline(rec.spans)     # the signature chart
    db = helpers.db.create_demo_db()       # a fresh SQLite file

The asyncio being taught is always written in the notebooks; this package only
holds what would distract from it.
"""

from helpers import charts, checks, db, lab, timing, work

__all__ = ["charts", "checks", "db", "lab", "timing", "work"]
