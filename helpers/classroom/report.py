"""Turn a classroom run into the table and summary an instructor reads (and JSON to keep)."""

from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass
from datetime import datetime, timezone

import psutil

from helpers.classroom.memory import MB
from helpers.classroom.runner import Classroom


@dataclass(frozen=True)
class Summary:
    kernels: int
    failures: int
    median_seconds: float
    max_seconds: float
    kernel_mb: float  # the largest kernel peak
    services_mb: float
    others_mb: float
    per_learner_mb: float  # the largest kernel + services + children peak of one learner (RSS)
    per_learner_pss_mb: float  # the same, as PSS (shared pages counted once)
    peak_total_mb: float  # every learner at the same moment (PSS)
    cpu_seconds_median: float
    wall_seconds: float
    load_max: float | None
    cpus: int


def summarise(room: Classroom) -> Summary:
    runs = room.runs
    seconds = [r.seconds for r in runs] or [0.0]
    return Summary(
        kernels=len(runs),
        failures=sum(not r.ok for r in runs),
        median_seconds=statistics.median(seconds),
        max_seconds=max(seconds),
        kernel_mb=max((r.usage.kernel_peak for r in runs), default=0) / MB,
        services_mb=max((r.usage.services_peak for r in runs), default=0) / MB,
        others_mb=max((r.usage.others_peak for r in runs), default=0) / MB,
        per_learner_mb=max((r.usage.total_peak for r in runs), default=0) / MB,
        per_learner_pss_mb=max((r.usage.pss_peak for r in runs), default=0) / MB,
        peak_total_mb=room.peak_total / MB,
        cpu_seconds_median=statistics.median([r.usage.cpu_seconds for r in runs] or [0.0]),
        wall_seconds=room.seconds,
        load_max=room.load_max,
        cpus=room.cpus,
    )


def render(room: Classroom, notebook: str) -> str:
    """The per-kernel table, then the summary, as plain text."""
    header = f"{'kernel':>6}  {'result':<6}  {'seconds':>7}  {'kernel MB':>9}  {'services MB':>11}  {'children MB':>11}  {'CPU s':>6}  first error"
    lines = [f"Classroom check: {len(room.runs)} kernels at once running {notebook}", "", header, "-" * len(header)]
    for r in room.runs:
        u = r.usage
        lines.append(
            f"{r.index:>6}  {'ok' if r.ok else 'FAILED':<6}  {r.seconds:>7.1f}  {u.kernel_peak / MB:>9.0f}  "
            f"{u.services_peak / MB:>11.0f}  {u.others_peak / MB:>11.0f}  {u.cpu_seconds:>6.1f}  {r.error}".rstrip()
        )
    s = summarise(room)
    load = f"{s.load_max:.1f}" if s.load_max is not None else "n/a"
    lines += [
        "",
        f"failures: {s.failures} of {s.kernels}",
        f"seconds per kernel: median {s.median_seconds:.1f}, max {s.max_seconds:.1f} (whole classroom {s.wall_seconds:.1f})",
        f"peak memory per learner: {s.per_learner_mb:.0f} MB RSS (kernel {s.kernel_mb:.0f}, services {s.services_mb:.0f}, "
        f"other children {s.others_mb:.0f}; largest of each), {s.per_learner_pss_mb:.0f} MB PSS",
        f"peak memory of all {s.kernels} learner{'s' if s.kernels != 1 else ''} at once: {s.peak_total_mb:.0f} MB PSS (shared pages counted once)",
        f"CPU per learner: median {s.cpu_seconds_median:.1f} s; host: {s.cpus} CPUs, highest 1-min load average {load}",
    ]
    return "\n".join(lines)


def as_json(room: Classroom, notebook: str) -> dict:
    """Everything measured, with when and where, for the guide's sizing table."""
    s = summarise(room)
    return {
        "notebook": notebook,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {"cpus": s.cpus, "memory_mb": round(psutil.virtual_memory().total / MB), "python": platform.python_version(), "platform": platform.platform()},
        "summary": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in s.__dict__.items()},
        "kernels": [
            {
                "kernel": r.index,
                "ok": r.ok,
                "error": r.error,
                "seconds": round(r.seconds, 2),
                "kernel_mb": round(r.usage.kernel_peak / MB, 1),
                "services_mb": round(r.usage.services_peak / MB, 1),
                "children_mb": round(r.usage.others_peak / MB, 1),
                "tree_rss_mb": round(r.usage.total_peak / MB, 1),
                "tree_pss_mb": round(r.usage.pss_peak / MB, 1),
                "cpu_seconds": round(r.usage.cpu_seconds, 2),
            }
            for r in room.runs
        ],
    }
