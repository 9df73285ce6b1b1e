"""Chart fixes for notebooks 03/04: ms wall times, no misleading speedup, the wall-time note clear of
the ideal line, and outcomes() telling a winner from the requests cancelled at the same moment."""

from __future__ import annotations

import io

import pytest
from matplotlib.figure import Figure

from helpers import charts
from helpers.timing import Span


def render(fig: Figure) -> Figure:
    fig.savefig(io.BytesIO(), format="png")  # draws everything: layout errors surface here
    return fig


def span(name: str, start: float, end: float, group: str = "") -> Span:
    return Span(name, start, end, "MainThread", None, group)


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_seconds_switches_to_milliseconds_below_a_tenth():
    assert charts._seconds(0.3) == "0.30 s"
    assert charts._seconds(0.0032) == "3.2 ms"
    assert charts._seconds(0.1) == "0.10 s"


def test_compare_prints_ms_and_can_leave_out_the_speedup():
    slow = [span("a", 0, 0.5)]
    fast = [span("b", 0, 0.0035)]
    fig = render(charts.compare({"slow": slow, "fast": fast}, speedup=False))
    notes = [t for ax in fig.axes for t in texts(ax)]
    assert notes == ["wall time 0.50 s", "wall time 3.5 ms"]
    fig = render(charts.compare({"slow": slow, "fast": fast}))
    assert any("speedup ×" in t for ax in fig.axes for t in texts(ax))


def test_timeline_note_ends_right_of_the_ideal_line():
    fig = render(charts.timeline([span("a", 0, 0.31), span("b", 0, 0.1)], ideal=0.3))
    ax = fig.axes[0]
    left, right = ax.get_xlim()
    note = texts(ax)[0]
    share = (0.3 - left) / (right - left)
    assert share < 1 - 0.0085 * len(note), (share, right)


def test_outcomes_colours_and_hatches_by_outcome_with_a_legend():
    spans = [span("A", 0, 0.11), span("B", 0, 0.1), span("C", 0, 0.11)]
    fig = render(charts.outcomes(spans, {"A": "cancelled", "B": "won", "C": "cancelled"}, ideal=0.1))
    ax = fig.axes[0]
    bars = ax.patches[:3]
    assert bars[0].get_facecolor() == bars[2].get_facecolor() != bars[1].get_facecolor()
    assert bars[0].get_hatch() == "///" and not bars[1].get_hatch()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["cancelled", "won", "ideal 0.10 s"]


def test_outcomes_needs_an_outcome_for_every_span():
    with pytest.raises(ValueError, match="missing"):
        charts.outcomes([span("A", 0, 1)], {})
    with pytest.raises(ValueError, match="no spans"):
        charts.outcomes([], {})
