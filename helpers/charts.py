"""Charts drawn from what a notebook just measured.

Every function returns a matplotlib Figure; make it the last line of a cell
(or pass it to ``display``) to show it.  One palette (Okabe-Ito, safe for
colour-blind readers), a white background so figures read the same in light
and dark JupyterLab themes, seconds on every time axis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt  # pyplot also wires up Jupyter's inline display of figures
from matplotlib.figure import Figure

from helpers.timing import LagSample, Span, wall_time

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#555555", "#F0E442"]  # no vermillion: it marks the ideal
IDEAL_COLOR = "#D55E00"
LIMIT_COLOR = "#333333"  # a limit line (in_flight, queue_depth): no series has this colour
WIDTH = 9.0
MAX_LABELLED_BARS = 30

STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "axes.edgecolor": "#333333",
    "axes.labelcolor": "#222222",
    "text.color": "#222222",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 10,
}


def _figure(height: float, rows: int = 1, sharex: bool = True) -> tuple[Figure, list]:
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, 1, figsize=(WIDTH, height), sharex=sharex, squeeze=False, layout="constrained")
    plt.close(fig)  # we hand the figure back; pyplot must not also show it at the end of the cell
    return fig, [ax for row in axes for ax in row]


def _styled(ax) -> None:
    ax.grid(True, color=STYLE["grid.color"], linewidth=STYLE["grid.linewidth"])
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _colors_for(spans: Sequence[Span]) -> list[str]:
    groups = list(dict.fromkeys(s.group for s in spans))
    return [PALETTE[groups.index(s.group) % len(PALETTE)] for s in spans]


def _draw_timeline(ax, spans: Sequence[Span], origin: float, ideal: float | None, color: str | None = None, ideal_label: str = "ideal") -> None:
    n = len(spans)
    colors = [color] * n if color else _colors_for(spans)
    visible = 0.004 * (max(s.end for s in spans) - origin)  # a 1 ms request still shows as a sliver
    ax.barh(range(n), [max(s.duration, visible) for s in spans], left=[s.start - origin for s in spans], color=colors, height=0.7)
    ax.set_ylim(n - 0.5, -0.5)  # first span on top
    if n <= MAX_LABELLED_BARS:
        ax.set_yticks(range(n), [s.name for s in spans])
    else:
        ax.set_ylabel(f"{n} tasks")
        ax.set_yticks([])
    if ideal is not None:
        ax.axvline(ideal, color=IDEAL_COLOR, linestyle="--", linewidth=1.5, label=f"{ideal_label} {ideal:.2f} s")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)  # beside the plot: never hides a bar
    _styled(ax)


def _annotate(ax, text: str) -> None:
    ax.text(0.995, 1.01, text, transform=ax.transAxes, ha="right", va="bottom", fontsize=9, color="#222222")


def _height_for(n_bars: int) -> float:
    return min(5.0, max(2.2, 0.8 + 0.22 * min(n_bars, MAX_LABELLED_BARS)))


def timeline(spans: Sequence[Span], *, title: str = "Timeline", ideal: float | None = None, baseline: float | None = None, ideal_label: str = "ideal") -> Figure:
    """One bar per span over time, optional reference line at `ideal` seconds (labelled `ideal_label`,
    e.g. "deadline") and speedup against `baseline` seconds."""
    if not spans:
        raise ValueError("timeline() got no spans: record some work with rec.span(...) first")
    fig, (ax,) = _figure(_height_for(len(spans)))
    origin = min(s.start for s in spans)
    _draw_timeline(ax, spans, origin, ideal, ideal_label=ideal_label)
    total = wall_time(list(spans))
    note = f"wall time {total:.2f} s"
    if baseline and total > 0:
        note += f" · speedup ×{baseline / total:.1f} vs {baseline:.2f} s"
    _annotate(ax, note)
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_xlabel("time (s)")
    return fig


def compare(panels: Mapping[str, Sequence[Span]], *, title: str = "Comparison", ideal: float | None = None, ideal_label: str = "ideal") -> Figure:
    """Timelines stacked on one time axis; each panel shows its wall time and speedup over the first."""
    if not panels or any(not spans for spans in panels.values()):
        raise ValueError("compare() needs a dict of label -> non-empty list of spans")
    heights = [_height_for(len(s)) * 0.75 for s in panels.values()]
    fig, axes = _figure(min(9.0, sum(heights) + 0.6), rows=len(panels))
    first = wall_time(list(next(iter(panels.values()))))
    for i, (ax, (label, spans)) in enumerate(zip(axes, panels.items())):
        origin = min(s.start for s in spans)
        _draw_timeline(ax, spans, origin, ideal, color=PALETTE[i % len(PALETTE)], ideal_label=ideal_label)
        total = wall_time(list(spans))
        ax.set_title(label, loc="left", fontsize=10)
        _annotate(ax, f"wall time {total:.2f} s" + (f" · speedup ×{first / total:.1f}" if i and total > 0 else ""))
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    return fig


def in_flight(series: Mapping[str, tuple[Sequence[float], Sequence[int]]], *, title: str = "Requests in flight at the server", limit: int | None = None) -> Figure:
    """Step chart of concurrent requests over time, one line per label (from GaugeReading.in_flight_series())."""
    if not series:
        raise ValueError("in_flight() needs a dict of label -> (times, levels)")
    fig, (ax,) = _figure(3.2)
    for i, (label, (times, levels)) in enumerate(series.items()):
        ax.step(times, levels, where="post", color=PALETTE[i % len(PALETTE)], linewidth=1.8, label=f"{label} (peak {max(levels)})", zorder=3)
    if limit is not None:  # behind the series and in no series' colour: the plateau it marks stays visible
        ax.axhline(limit, color=LIMIT_COLOR, linestyle=(0, (1, 2)), linewidth=1.0, label=f"limit {limit}", zorder=2)
    ax.set(xlabel="time since gauge reset (s)", ylabel="requests in flight")
    top = max([max(levels) for _, levels in series.values()] + [limit or 0])
    ax.set_ylim(0, top * 1.4 + 1)  # headroom so the legend never covers a plateau
    ax.legend(loc="upper right", frameon=True, framealpha=0.9)
    ax.set_title(title, loc="left", fontsize=11)
    return fig


def loop_lag(series: Mapping[str, Sequence[LagSample]], *, title: str = "Event-loop lag (how late a 10 ms heartbeat woke up)") -> Figure:
    """Lag of the heartbeat over time in milliseconds, one line per label."""
    if not series:
        raise ValueError("loop_lag() needs a dict of label -> list of LagSample")
    fig, (ax,) = _figure(3.2)
    for i, (label, samples) in enumerate(series.items()):
        worst = max((s.lag for s in samples), default=0.0)
        color = PALETTE[i % len(PALETTE)]
        at, lag_ms = [s.at for s in samples], [s.lag * 1000 for s in samples]
        ax.vlines(at, 0, lag_ms, color=color, linewidth=1.4)  # a stem per heartbeat: lag is per wake-up, not a continuum
        ax.plot(at, lag_ms, linestyle="none", marker="o", markersize=3, color=color, label=f"{label} (worst {worst * 1000:.0f} ms)")
    ax.set(xlabel="time (s)", ylabel="lag (ms)")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper right", frameon=True, framealpha=0.9)
    ax.set_title(title, loc="left", fontsize=11)
    return fig


def scaling(workers: Sequence[int], seconds: Sequence[float], *, title: str = "Speedup by number of workers", cores: int | None = None) -> Figure:
    """Measured speedup (time with 1 worker / time with n) against the ideal n, capped at `cores`."""
    if len(workers) != len(seconds) or not workers or workers[0] != 1:
        raise ValueError("scaling() needs matching lists starting with 1 worker, e.g. [1, 2, 4] and their times")
    if any(not (s > 0 and math.isfinite(s)) for s in seconds):
        raise ValueError(f"scaling() needs positive measured times in seconds, got {list(seconds)}")
    base = seconds[0]
    fig, (ax,) = _figure(3.4)
    ideal = [min(n, cores) if cores else n for n in workers]
    # on top of the measured line: a near-ideal measurement must not hide the reference it is compared with
    ax.plot(workers, ideal, color=IDEAL_COLOR, linestyle="--", label="ideal" + (f" ({cores} cores)" if cores else ""), zorder=4)
    speedups = [base / s for s in seconds]
    ax.plot(workers, speedups, color=PALETTE[0], marker="o", linewidth=2, label="measured")
    for n, s in zip(workers, speedups):
        ax.annotate(f"×{s:.1f}", (n, s), textcoords="offset points", xytext=(0, 7), ha="center", fontsize=9, zorder=5,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})  # readable over the ideal line
    ax.set(xlabel="workers", ylabel="speedup")
    ax.set_xticks(list(workers))
    ax.set_ylim(0, max(max(ideal), max(speedups)) * 1.2)
    ax.legend(loc="upper left", frameon=True, framealpha=0.9)
    ax.set_title(title, loc="left", fontsize=11)
    return fig


def queue_depth(samples: Sequence[tuple[float, int]], *, maxsize: int | None = None, title: str = "Queue depth over time") -> Figure:
    """Items waiting in a queue over time, from (seconds, qsize) samples."""
    if not samples:
        raise ValueError("queue_depth() needs a list of (seconds, qsize) samples")
    fig, (ax,) = _figure(3.2)
    ax.step([t for t, _ in samples], [d for _, d in samples], where="post", color=PALETTE[0], linewidth=1.8, label="items waiting", zorder=3)
    if maxsize:  # behind the series, so the plateau at maxsize stays visible
        ax.axhline(maxsize, color=LIMIT_COLOR, linestyle=(0, (1, 2)), linewidth=1.0, label=f"maxsize {maxsize}", zorder=2)
    ax.set(xlabel="time (s)", ylabel="queue size")
    top = max([d for _, d in samples] + [maxsize or 0])
    ax.set_ylim(0, top * 1.4 + 1)  # headroom so the legend never covers a plateau
    ax.legend(loc="upper right", frameon=True, framealpha=0.9)
    ax.set_title(title, loc="left", fontsize=11)
    return fig


def bars(values: Mapping[str, float], *, title: str = "Comparison", unit: str = "s", reference: float | None = None, reference_label: str = "ideal", xlabel: str | None = None) -> Figure:
    """Horizontal bars for a few named measurements, with an optional reference line.

    `xlabel` says what was measured, e.g. "time per round (s)"; without it the axis shows the unit.
    """
    if not values or any(not math.isfinite(v) for v in values.values()):
        raise ValueError("bars() needs a dict of label -> finite number")
    fig, (ax,) = _figure(_height_for(len(values)))
    labels = list(values)
    ax.barh(labels, list(values.values()), color=[PALETTE[i % len(PALETTE)] for i in range(len(labels))], height=0.6)
    for i, v in enumerate(values.values()):
        ax.text(v, i, f" {v:.2f} {unit}", va="center", fontsize=9)
    if reference is not None:
        ax.axvline(reference, color=IDEAL_COLOR, linestyle="--", linewidth=1.5, label=f"{reference_label} {reference:.2f} {unit}")
        ax.legend(loc="lower right", frameon=True, framealpha=0.9)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    right = max(list(values.values()) + [reference or 0])
    ax.set_xlim(0, right * 1.18 if right > 0 else 1)
    ax.set_xlabel(xlabel or unit)
    ax.set_title(title, loc="left", fontsize=11)
    return fig
