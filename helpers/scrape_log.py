"""Read the website's request log: what a crawler really did, as the server saw it.

    reset_site_log(lab)
    ... crawl ...
    log = site_log(lab)
    log.duplicates(), log.peak(), log.gaps(), log.in_flight_series()

The log lives in the service process (helpers/services/hitlog.py) and is served at
/_hits, a path no page links to and robots.txt disallows.  Paths are compared the
way a careful crawler compares URLs: query parameters in sorted order (the server
never sees #fragments).
"""

from __future__ import annotations

import json
import urllib.request
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from helpers.lab import in_flight_steps
from helpers.services.hitlog import HITS_PATH


class SiteLogError(RuntimeError):
    """The site's log could not be read; the message says what to do."""


def _call(lab, method: str) -> dict:
    request = urllib.request.Request(lab.site + HITS_PATH, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except OSError as exc:
        raise SiteLogError(f"the website at {lab.site} did not answer ({exc}); run `lab = await helpers.lab.start()` again") from None


def canonical_path(path_qs: str) -> str:
    """'/list?sort=a&order=b' -> '/list?order=b&sort=a': one spelling per page."""
    parts = urlsplit(path_qs)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + ("?" + query if query else "")


@dataclass(frozen=True)
class SiteLog:
    """Every request the website answered since the last reset, oldest first."""

    hits: list[dict]
    dropped: int

    def paths(self, *, status: int | None = None) -> list[str]:
        """Canonical paths requested, in order (only those answered with `status`, if given)."""
        return [canonical_path(h["path"]) for h in self.hits if status is None or h["status"] == status]

    def duplicates(self) -> dict[str, int]:
        """Paths requested more than once (canonical spelling) -> how many times."""
        return {path: n for path, n in Counter(self.paths()).items() if n > 1}

    def under(self, prefix: str) -> list[dict]:
        """The hits whose path starts with `prefix`."""
        return [h for h in self.hits if h["path"].startswith(prefix)]

    def starts(self) -> list[float]:
        return sorted(h["start"] for h in self.hits)

    def gaps(self) -> list[float]:
        """Seconds between one request's arrival and the next's."""
        starts = self.starts()
        return [b - a for a, b in zip(starts, starts[1:])]

    def in_flight_series(self) -> tuple[list[float], list[int]]:
        """Step series (times, requests in flight) for charts.in_flight()."""
        return in_flight_steps(self.hits)

    def peak(self) -> int:
        """Most requests the site was answering at the same moment."""
        return max(self.in_flight_series()[1])


def reset_site_log(lab) -> None:
    """Forget every logged request; the log's clock restarts at 0."""
    _call(lab, "DELETE")


def site_log(lab) -> SiteLog:
    """What the website answered since the last reset_site_log(lab)."""
    snap = _call(lab, "GET")
    return SiteLog(hits=snap["hits"], dropped=snap["dropped"])
