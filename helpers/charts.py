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


def _seconds(t: float) -> str:
    """'0.30 s', or '3.5 ms' below 0.1 s: a 4 ms wall time must not print as '0.00 s'."""
    return f"{t:.2f} s" if t >= 0.1 else f"{t * 1000:.1f} ms"


def _clear_of_ideal(ax, ideal: float | None, note: str) -> None:
    """Widen the time axis so the right-aligned note above the plot ends right of the ideal line."""
    if ideal is None:
        return
    share = min(0.5, 0.0095 * len(note) + 0.05)  # the note's width as a share of the axes, plus a gap
    left, right = ax.get_xlim()
    needed = left + (ideal - left) / (1 - share)
    if needed > right:
        ax.set_xlim(left, needed)


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
    note = f"wall time {_seconds(total)}"
    if baseline and total > 0:
        note += f" · speedup ×{baseline / total:.1f} vs {baseline:.2f} s"
    _clear_of_ideal(ax, ideal, note)
    _annotate(ax, note)
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_xlabel("time (s)")
    return fig


def compare(panels: Mapping[str, Sequence[Span]], *, title: str = "Comparison", ideal: float | None = None, ideal_label: str = "ideal", speedup: bool = True) -> Figure:
    """Timelines stacked on one time axis; each panel shows its wall time and (unless speedup=False,
    for panels that are not faster versions of the same work) its speedup over the first."""
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
        note = f"wall time {_seconds(total)}" + (f" · speedup ×{first / total:.1f}" if speedup and i and total > 0 else "")
        _clear_of_ideal(ax, ideal, note)
        _annotate(ax, note)
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


def _label_number(value: float) -> str:
    """2 decimals for small values (0.21 s), none for big ones (11306 req/s): as precise as useful."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}"


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
        ax.text(v, i, f" {_label_number(v)} {unit}", va="center", fontsize=9)
    if reference is not None:
        ax.axvline(reference, color=IDEAL_COLOR, linestyle="--", linewidth=1.5, label=f"{reference_label} {_label_number(reference)} {unit}")
        ax.legend(loc="lower right", frameon=True, framealpha=0.9)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    right = max(list(values.values()) + [reference or 0])
    ax.set_xlim(0, right * 1.18 if right > 0 else 1)
    ax.set_xlabel(xlabel or unit)
    ax.set_title(title, loc="left", fontsize=11)
    return fig


def rates(
    values: Mapping[str, float],
    *,
    title: str = "Throughput",
    unit: str = "rows/s",
    log: bool = True,
    notes: Mapping[str, str] | None = None,
) -> Figure:
    """Horizontal bars of measured rates (rows/s, tx/s), on a log axis by default.

    Strategies that differ by orders of magnitude (one row per transaction vs
    one executemany) are unreadable on a linear axis; `notes` adds a short text
    per bar, e.g. how many lock errors that run met.
    """
    if not values or any(not math.isfinite(v) or v < 0 for v in values.values()):
        raise ValueError("rates() needs a dict of label -> finite, non-negative number")
    if log and any(v <= 0 for v in values.values()):
        raise ValueError("rates(log=True) needs positive numbers; pass log=False to show a zero")
    notes = dict(notes or {})
    unknown = set(notes) - set(values)
    if unknown:
        raise ValueError(f"notes for labels that have no value: {sorted(unknown)}")
    fig, (ax,) = _figure(_height_for(len(values)))
    _styled(ax)
    labels = list(values)
    numbers = list(values.values())
    ax.barh(labels, numbers, color=[PALETTE[i % len(PALETTE)] for i in range(len(labels))], height=0.6)
    for i, (label, v) in enumerate(values.items()):
        extra = f"  ({notes[label]})" if label in notes else ""
        ax.text(v, i, f" {v:,.0f} {unit}{extra}", va="center", fontsize=9)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    top = max(numbers) or 1.0
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(numbers) / 2, top * 20)  # room on the right for the value labels
    else:
        ax.set_xlim(0, top * 1.6)
    ax.set_xlabel(f"{unit}{' (log scale)' if log else ''}")
    ax.set_title(title, loc="left", fontsize=11)
    return fig


def outcomes(spans: Sequence[Span], outcome: Mapping[str, str], *, title: str = "Timeline", ideal: float | None = None) -> Figure:
    """A timeline whose bars say how each span ended: `outcome` maps a span's name to a word such as
    "won" or "cancelled"; each word gets its own colour and legend entry, and "cancelled" bars are
    hatched, so a winner and the requests cut short at the same moment do not look alike."""
    if not spans:
        raise ValueError("outcomes() got no spans: record some work with rec.span(...) first")
    missing = [s.name for s in spans if s.name not in outcome]
    if missing:
        raise ValueError(f"outcomes() needs an outcome for every span; missing {missing}")
    fig, (ax,) = _figure(_height_for(len(spans)))
    origin = min(s.start for s in spans)
    _draw_timeline(ax, spans, origin, ideal)
    words = list(dict.fromkeys(outcome[s.name] for s in spans))
    colour = {w: PALETTE[i % len(PALETTE)] for i, w in enumerate(words)}
    for bar, span in zip(ax.patches, spans):
        word = outcome[span.name]
        bar.set_facecolor(colour[word])
        if word == "cancelled":
            bar.set_hatch("///")
            bar.set_edgecolor("white")
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor=colour[w], hatch="///" if w == "cancelled" else None, edgecolor="white") for w in words]
    labels = list(words)
    if ideal is not None:
        handles.append(ax.get_legend().legend_handles[0])
        labels.append(ax.get_legend().get_texts()[0].get_text())
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    note = f"wall time {_seconds(wall_time(list(spans)))}"
    _clear_of_ideal(ax, ideal, note)
    _annotate(ax, note)
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_xlabel("time (s)")
    return fig


# --- notebook 10: what the website's request log saw (appended) ---

STATUS_COLORS = {"2xx": PALETTE[0], "3xx redirect": PALETTE[1], "4xx": PALETTE[5], "other": PALETTE[3]}


def _status_class(status: int | None) -> str:
    if status is not None and 200 <= status < 300:
        return "2xx"
    if status is not None and 300 <= status < 400:
        return "3xx redirect"
    if status is not None and 400 <= status < 500:
        return "4xx"
    return "other"


def crawl_log(hits: Sequence[Mapping], *, title: str = "What the website saw", delay: float | None = None) -> Figure:
    """Two panels from the site's request log (helpers.scrape_log): one bar per request, coloured
    by status, and the gap before each request compared with the crawl delay."""
    done = sorted((h for h in hits if h.get("end") is not None), key=lambda h: h["start"])
    if not done:
        raise ValueError("crawl_log() got no finished requests: crawl something, then pass site_log(lab).hits")
    n = len(done)
    with plt.rc_context(STYLE):
        fig, (top, bottom) = plt.subplots(2, 1, figsize=(WIDTH, _height_for(n) + 2.0), sharex=True, layout="constrained",
                                          gridspec_kw={"height_ratios": [_height_for(n), 2.0]})
    plt.close(fig)
    origin = done[0]["start"]
    classes = [_status_class(h["status"]) for h in done]
    visible = 0.004 * (done[-1]["end"] - origin)
    top.barh(range(n), [max(h["end"] - h["start"], visible) for h in done], left=[h["start"] - origin for h in done],
             color=[STATUS_COLORS[c] for c in classes], height=0.7)
    top.set_ylim(n - 0.5, -0.5)
    if n <= MAX_LABELLED_BARS:
        top.set_yticks(range(n), [h["path"] if len(h["path"]) <= 32 else h["path"][:31] + "…" for h in done], fontsize=8)
    else:
        top.set_yticks([])
        top.set_ylabel(f"{n} requests")
    for label, color in STATUS_COLORS.items():
        if label in classes:
            top.barh([0], [0], color=color, label=label)
    top.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    top.set_title(f"{title}: {n} requests in {done[-1]['end'] - origin:.2f} s", loc="left", fontsize=11)
    gaps = [(b["start"] - origin, (b["start"] - a["start"]) * 1000) for a, b in zip(done, done[1:])]
    bottom.plot([t for t, _ in gaps], [g for _, g in gaps], linestyle="none", marker="o", markersize=4, color=PALETTE[0], label="gap before each request")
    if delay is not None:
        bottom.axhline(delay * 1000, color=IDEAL_COLOR, linestyle="--", linewidth=1.5, label=f"crawl delay {delay * 1000:.0f} ms")
    bottom.set_ylim(bottom=0, top=max([g for _, g in gaps] + [(delay or 0) * 1000]) * 1.3 + 1)
    bottom.set(xlabel="time since the first request (s)", ylabel="gap (ms)")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    _styled(top)
    _styled(bottom)
    return fig


def loop_lag_compare(series: Mapping[str, Sequence[LagSample]], *, title: str = "Event-loop lag (how late a 10 ms heartbeat woke up)") -> Figure:
    """loop_lag() with the legend under the plot: a tall spike at any time stays visible."""
    fig = loop_lag(series, title=title)
    ax = fig.axes[0]
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(series), frameon=False)
    return fig


# --- notebook 09: connections, arrivals, attempts, curves -------------------------------


def connections(panels: Mapping[str, Sequence[Mapping]], *, title: str = "Which connection served each request") -> Figure:
    """One dot per request: when the server saw it (x) and which connection carried it (y).

    `panels` maps a label to gauge spans (dicts with "start" and "conn"); connections are
    renumbered 1, 2, ... per panel in order of first use, so panels compare at a glance.
    """
    if not panels or any(not spans for spans in panels.values()):
        raise ValueError("connections() needs a dict of label -> non-empty list of gauge spans")
    fig, axes = _figure(1.2 + 1.9 * len(panels), rows=len(panels), sharex=False)
    for i, (ax, (label, spans)) in enumerate(zip(axes, panels.items())):
        numbers: dict = {}
        ys = [numbers.setdefault(s.get("conn"), len(numbers) + 1) for s in spans]
        ax.scatter([s["start"] for s in spans], ys, s=14, color=PALETTE[i % len(PALETTE)])
        ax.set_ylim(0, max(ys) + 1)
        ax.set_ylabel("connection")
        ax.set_title(f"{label}: {len(spans)} requests on {len(numbers)} connection(s)", loc="left", fontsize=10)
        ax.set_xlabel("time at the server (s)")
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    return fig


def arrivals(panels: Mapping[str, Sequence[float]], *, bin_seconds: float = 0.025, title: str = "Arrivals at the server", limit: tuple[int, float] | None = None) -> Figure:
    """Histogram of request arrival times per panel (same bins, same axes), peak bin annotated.

    `limit=(n, seconds)` draws the server's allowance as arrivals per bin (n * bin / seconds).
    """
    if not panels or bin_seconds <= 0 or any(not times for times in panels.values()):
        raise ValueError("arrivals() needs a dict of label -> non-empty list of arrival times, and bin_seconds > 0")
    end = max(max(times) for times in panels.values())
    n_bins = max(1, math.ceil(end / bin_seconds + 1e-9))
    edges = [i * bin_seconds for i in range(n_bins + 1)]
    fig, axes = _figure(1.0 + 1.8 * len(panels), rows=len(panels))
    top = 0
    for i, (ax, (label, times)) in enumerate(zip(axes, panels.items())):
        counts, _, _ = ax.hist(times, bins=edges, color=PALETTE[i % len(PALETTE)], edgecolor="white", linewidth=0.4)
        peak = int(max(counts))
        top = max(top, peak)
        ax.set_title(f"{label}: {len(times)} arrivals, peak {peak} per {bin_seconds * 1000:g} ms", loc="left", fontsize=10)
        ax.set_ylabel("arrivals")
        if limit:
            ax.axhline(limit[0] * bin_seconds / limit[1], color=IDEAL_COLOR, linestyle="--", linewidth=1.2, label="the server's limit, spread evenly")
            ax.legend(loc="upper right", frameon=True, framealpha=0.9, fontsize=8)
    for ax in axes:
        ax.set_ylim(0, top * 1.15 + 1)
    axes[-1].set_xlabel("time since the first request (s)")
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    return fig


def attempts_histogram(attempts: Sequence[int], *, title: str = "Attempts per request") -> Figure:
    """How many calls needed 1, 2, 3, ... attempts (a log scale shows the rare long tails)."""
    if not attempts or any(a < 1 for a in attempts):
        raise ValueError("attempts_histogram() needs a non-empty list of attempt counts (each >= 1)")
    top = max(attempts)
    xs = list(range(1, top + 1))
    counts = [sum(1 for a in attempts if a == x) for x in xs]
    fig, (ax,) = _figure(3.0)
    ax.bar(xs, counts, color=PALETTE[0], width=0.7)
    for x, c in zip(xs, counts):
        ax.text(x, c, str(c), ha="center", va="bottom", fontsize=9)
    ax.set_yscale("log")
    ax.set_ylim(0.5, max(counts) * 3)
    ax.set_xticks(xs)
    ax.set(xlabel="attempts needed", ylabel="calls (log scale)")
    ax.set_title(title, loc="left", fontsize=11)
    return fig


def curve(xs: Sequence[float], series: Mapping[str, Sequence[float]], *, title: str = "Curve", xlabel: str = "x", ylabel: str = "y") -> Figure:
    """Lines with markers, one per series, over shared x values (starting at y = 0)."""
    if not xs or not series or any(len(ys) != len(xs) for ys in series.values()):
        raise ValueError("curve() needs x values and a dict of label -> y values of the same length")
    fig, (ax,) = _figure(3.4)
    for i, (label, ys) in enumerate(series.items()):
        ax.plot(list(xs), list(ys), marker="o", color=PALETTE[i % len(PALETTE)], linewidth=1.8, label=label)
        ax.annotate(f"{ys[-1]:.2f}", (xs[-1], ys[-1]), textcoords="offset points", xytext=(6, 0), va="center", fontsize=9)
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, max(xs) * 1.1)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.legend(loc="upper left", frameon=True, framealpha=0.9)
    ax.set_title(title, loc="left", fontsize=11)
    return fig


# --- notebook 13 (capstone ETL): a pipeline dashboard -----------------------------------


def _stage_rates(samples: Sequence[Mapping[str, float]], stage: str, window: float) -> tuple[list[float], list[float]]:
    """Items/s of one stage from its cumulative counter, over a sliding window (smooths 100 ms ticks)."""
    times = [s["t"] for s in samples]
    counts = [s[f"n_{stage}"] for s in samples]
    xs, ys, j = [], [], 0
    for i, t in enumerate(times):
        while times[j] < t - window:
            j += 1
        span = t - times[j] if j < i else 0.0
        xs.append(t)
        ys.append((counts[i] - counts[j]) / span if span > 0 else 0.0)
    return xs, ys


def etl_dashboard(
    samples: Sequence[Mapping[str, float]],
    *,
    stages: Sequence[str],
    queues: Sequence[str],
    limit: float | None = None,
    window: float = 0.5,
    title: str = "ETL pipeline dashboard",
) -> Figure:
    """Four panels over time: items/s per stage, queue depths, requests in flight, loop lag.

    `samples` are dicts with 't' (s), 'n_<stage>' (cumulative items), 'q_<queue>'
    (depth), 'in_flight' and 'lag' (s), taken every ~0.1 s while the pipeline ran.
    `limit` draws the rate limit (items/s) on the first panel: the physical ceiling.
    """
    needed = {"t", "in_flight", "lag"} | {f"n_{s}" for s in stages} | {f"q_{q}" for q in queues}
    if len(samples) < 2 or not stages or any(not needed <= set(s) for s in samples):
        raise ValueError(f"etl_dashboard() needs at least 2 samples, each with the keys {sorted(needed)}")
    fig, axes = _figure(8.2, rows=4)
    t = [s["t"] for s in samples]
    for i, stage in enumerate(stages):
        xs, ys = _stage_rates(samples, stage, window)
        axes[0].plot(xs, ys, color=PALETTE[i % len(PALETTE)], linewidth=1.6, label=stage)
    if limit is not None:
        axes[0].axhline(limit, color=IDEAL_COLOR, linestyle="--", linewidth=1.2, label=f"rate limit {limit:g} requests/s")
    axes[0].set_ylabel("items/s")
    axes[0].set_ylim(bottom=0)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
    for i, name in enumerate(queues):
        axes[1].plot(t, [s[f"q_{name}"] for s in samples], color=PALETTE[i % len(PALETTE)], linewidth=1.4, label=name)
    axes[1].set_ylabel("queue depth")
    axes[1].set_ylim(bottom=0)
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=9)
    axes[2].step(t, [s["in_flight"] for s in samples], where="post", color=PALETTE[4], linewidth=1.4)
    axes[2].set_ylabel("requests\nin flight")
    axes[2].set_ylim(bottom=0)
    axes[3].plot(t, [s["lag"] * 1000 for s in samples], color=PALETTE[5], linewidth=1.2)
    axes[3].set_ylabel("loop lag (ms)")
    axes[3].set_ylim(bottom=0)
    axes[3].set_xlabel("time since the pipeline started (s)")
    axes[0].set_xlim(0, max(t))
    fig.suptitle(title, x=0.01, ha="left", fontsize=11)
    return fig
