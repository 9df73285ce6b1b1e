"""Charts (helpers/charts.py): the right marks, labelled axes, helpful errors, no warnings, no leaked figures."""

from __future__ import annotations

import gc
import io
import warnings

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from helpers import charts
from helpers.timing import LagSample, Span


@pytest.fixture(autouse=True)
def strict():
    """Any warning is an error (it would be stderr in a notebook), and no figure may stay open in pyplot."""
    plt.close("all")
    gc.collect()  # garbage from earlier tests (e.g. unclosed pipes) must not warn inside the strict block below
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    assert plt.get_fignums() == [], "a chart left a figure open in pyplot (it would be shown twice in a notebook)"


def render(fig: Figure) -> Figure:
    """Draw the figure the way a notebook does (layout and text warnings happen only at draw time)."""
    assert isinstance(fig, Figure)
    fig.savefig(io.BytesIO(), format="png")
    assert plt.get_fignums() == []
    return fig


def spans(n: int, *, step: float = 0.1, duration: float = 0.3, group: str | None = None, origin: float = 0.0) -> list[Span]:
    return [Span(f"task {i}", origin + i * step, origin + i * step + duration, "MainThread", f"Task-{i}", group) for i in range(n)]


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def legend_texts(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_backend_is_non_interactive():
    assert matplotlib.get_backend().lower() in ("agg", "module://matplotlib_inline.backend_inline")


# --- timeline ---------------------------------------------------------------------------------


def test_timeline_bars_labels_and_wall_time():
    fig = render(charts.timeline(spans(5, origin=2.0), title="Five tasks"))
    (ax,) = fig.axes
    assert len(ax.patches) == 5
    assert "s" in ax.get_xlabel() and "time" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"task {i}" for i in range(5)]
    assert ax.get_title(loc="left") == "Five tasks"
    starts = sorted(p.get_x() for p in ax.patches)
    assert starts[0] == pytest.approx(0.0)  # measured from the first span, not from the recorder's zero
    assert texts(ax) == ["wall time 0.70 s"]
    assert ax.get_lines() == [] and ax.get_legend() is None  # no ideal line unless asked


def test_timeline_ideal_line_and_speedup_annotation():
    fig = render(charts.timeline(spans(4), ideal=0.3, baseline=1.2))
    (ax,) = fig.axes
    (ideal,) = ax.get_lines()
    assert list(ideal.get_xdata()) == [0.3, 0.3]
    assert legend_texts(ax) == ["ideal 0.30 s"]
    (note,) = texts(ax)
    assert "wall time 0.60 s" in note
    assert "speedup ×2.0 vs 1.20 s" in note


def test_timeline_colours_by_group():
    data = spans(2, group="sequential") + spans(2, group="concurrent", origin=1.0)
    (ax,) = render(charts.timeline(data)).axes
    colours = [p.get_facecolor() for p in ax.patches]
    assert colours[0] == colours[1] and colours[2] == colours[3] and colours[0] != colours[2]


def test_timeline_many_spans_hides_names():
    (ax,) = render(charts.timeline(spans(100, step=0.01))).axes
    assert len(ax.patches) == 100
    assert ax.get_ylabel() == "100 tasks"
    assert list(ax.get_yticks()) == []


def test_timeline_rejects_no_spans():
    with pytest.raises(ValueError, match=r"timeline\(\) got no spans: record some work with rec\.span"):
        charts.timeline([])


# --- compare ----------------------------------------------------------------------------------


def test_compare_panels_share_time_axis_with_speedup():
    panels = {"sequential": spans(3, step=0.3, duration=0.3), "concurrent": spans(3, step=0.0, duration=0.3)}
    fig = render(charts.compare(panels, title="Same work", ideal=0.3))
    top, bottom = fig.axes
    assert len(top.patches) == 3 and len(bottom.patches) == 3
    assert top.get_title(loc="left") == "sequential" and bottom.get_title(loc="left") == "concurrent"
    assert "s" in bottom.get_xlabel() and "time" in bottom.get_xlabel()
    assert top.get_shared_x_axes().joined(top, bottom)
    assert texts(top) == ["wall time 0.90 s"]
    (note,) = texts(bottom)
    assert note.startswith("wall time 0.30 s") and "×3.0" in note  # the speedup over the first panel
    assert fig.get_suptitle() == "Same work"
    for ax in (top, bottom):
        (line,) = ax.get_lines()
        assert list(line.get_xdata()) == [0.3, 0.3]


@pytest.mark.parametrize("panels", [{}, {"a": []}, {"a": spans(2), "b": []}])
def test_compare_rejects_empty_input(panels):
    with pytest.raises(ValueError, match=r"compare\(\) needs a dict of label -> non-empty list of spans"):
        charts.compare(panels)


# --- in_flight --------------------------------------------------------------------------------


def test_in_flight_lines_peaks_and_limit():
    series = {"unbounded": ([0.0, 0.1, 0.2, 0.5], [0, 10, 0, 0]), "Semaphore(3)": ([0.0, 0.1, 0.4, 0.7], [0, 3, 3, 0])}
    (ax,) = render(charts.in_flight(series, limit=3)).axes
    assert len(ax.get_lines()) == 3
    assert legend_texts(ax) == ["unbounded (peak 10)", "Semaphore(3) (peak 3)", "limit 3"]
    assert "s" in ax.get_xlabel() and "time" in ax.get_xlabel()
    assert ax.get_ylabel() == "requests in flight"
    assert ax.get_ylim()[0] == 0


def test_in_flight_from_a_gauge_reading():
    from helpers.lab import GaugeReading

    reading = GaugeReading(spans=[{"path": "/a", "start": 0.1, "end": 0.4, "status": 200}, {"path": "/b", "start": 0.2, "end": 0.3, "status": 200}], peak=2, in_flight=0)
    (ax,) = render(charts.in_flight({"gather": reading.in_flight_series()})).axes
    assert legend_texts(ax) == ["gather (peak 2)"]


def test_in_flight_rejects_no_series():
    with pytest.raises(ValueError, match=r"in_flight\(\) needs a dict of label -> \(times, levels\)"):
        charts.in_flight({})


# --- loop_lag ---------------------------------------------------------------------------------


def test_loop_lag_stems_in_milliseconds():
    idle = [LagSample(at=i * 0.01, lag=0.0005) for i in range(10)]
    blocked = [LagSample(at=0.01, lag=0.0), LagSample(at=0.22, lag=0.2), LagSample(at=0.23, lag=0.001)]
    (ax,) = render(charts.loop_lag({"await asyncio.sleep": idle, "time.sleep": blocked})).axes
    assert ax.get_xlabel() == "time (s)"
    assert ax.get_ylabel() == "lag (ms)"
    assert legend_texts(ax) == ["await asyncio.sleep (worst 0 ms)", "time.sleep (worst 200 ms)"]
    assert len(ax.collections) == 2  # one set of stems per series
    markers = ax.get_lines()
    assert len(markers) == 2
    assert max(markers[1].get_ydata()) == pytest.approx(200)


def test_loop_lag_with_an_empty_series_still_draws():
    (ax,) = render(charts.loop_lag({"nothing yet": []})).axes
    assert legend_texts(ax) == ["nothing yet (worst 0 ms)"]


def test_loop_lag_rejects_no_series():
    with pytest.raises(ValueError, match=r"loop_lag\(\) needs a dict of label -> list of LagSample"):
        charts.loop_lag({})


# --- scaling ----------------------------------------------------------------------------------


def test_scaling_measured_against_ideal_capped_at_cores():
    (ax,) = render(charts.scaling([1, 2, 4, 8], [4.0, 2.1, 1.9, 2.0], cores=2)).axes
    ideal, measured = ax.get_lines()
    assert list(ideal.get_ydata()) == [1, 2, 2, 2]
    assert list(measured.get_ydata()) == pytest.approx([1.0, 4.0 / 2.1, 4.0 / 1.9, 2.0])
    assert legend_texts(ax) == ["ideal (2 cores)", "measured"]
    assert texts(ax) == ["×1.0", "×1.9", "×2.1", "×2.0"]
    assert ax.get_xlabel() == "workers" and ax.get_ylabel() == "speedup"
    assert [int(t) for t in ax.get_xticks()] == [1, 2, 4, 8]


def test_scaling_without_cores_ideal_is_n():
    (ax,) = render(charts.scaling([1, 2, 3], [3.0, 1.5, 1.0])).axes
    assert list(ax.get_lines()[0].get_ydata()) == [1, 2, 3]
    assert legend_texts(ax)[0] == "ideal"


@pytest.mark.parametrize(("workers", "seconds"), [([], []), ([2, 4], [1.0, 0.5]), ([1, 2], [1.0]), ([1], [1.0, 2.0])])
def test_scaling_rejects_bad_lists(workers, seconds):
    with pytest.raises(ValueError, match=r"scaling\(\) needs matching lists starting with 1 worker"):
        charts.scaling(workers, seconds)


@pytest.mark.parametrize("seconds", [[1.0, 0.0], [0.0, 1.0], [1.0, -0.5]])
def test_scaling_rejects_non_positive_times(seconds):
    with pytest.raises(ValueError, match="scaling"):
        charts.scaling([1, 2], seconds)


# --- queue_depth ------------------------------------------------------------------------------


def test_queue_depth_step_and_maxsize():
    samples = [(0.0, 0), (0.1, 3), (0.2, 5), (0.4, 2), (0.6, 0)]
    (ax,) = render(charts.queue_depth(samples, maxsize=5)).axes
    step, limit = ax.get_lines()
    assert list(step.get_xdata()) == [0.0, 0.1, 0.2, 0.4, 0.6]
    assert list(step.get_ydata()) == [0, 3, 5, 2, 0]
    assert list(limit.get_ydata()) == [5, 5]
    assert legend_texts(ax) == ["items waiting", "maxsize 5"]
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "queue size"


def test_queue_depth_without_maxsize():
    (ax,) = render(charts.queue_depth([(0.0, 1)])).axes
    assert len(ax.get_lines()) == 1


def test_queue_depth_rejects_no_samples():
    with pytest.raises(ValueError, match=r"queue_depth\(\) needs a list of \(seconds, qsize\) samples"):
        charts.queue_depth([])


# --- bars -------------------------------------------------------------------------------------


def test_bars_values_labels_and_reference():
    values = {"sequential": 2.0, "gather": 0.25, "TaskGroup": 0.26}
    (ax,) = render(charts.bars(values, title="Ten requests", reference=0.2)).axes
    assert len(ax.patches) == 3
    assert [p.get_width() for p in ax.patches] == [2.0, 0.25, 0.26]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(values)
    assert texts(ax) == [" 2.00 s", " 0.25 s", " 0.26 s"]
    assert legend_texts(ax) == ["ideal 0.20 s"]
    assert ax.get_xlabel() == "s"
    assert ax.get_xlim()[1] > 2.0  # room for the value labels
    assert ax.get_title(loc="left") == "Ten requests"


def test_bars_with_another_unit():
    (ax,) = render(charts.bars({"threads": 120.0, "asyncio": 30.0}, unit="MB", reference=100, reference_label="budget")).axes
    assert ax.get_xlabel() == "MB"
    assert texts(ax) == [" 120 MB", " 30.00 MB"]  # no decimals from 100 up: 11306 req/s, not 11305.60
    assert legend_texts(ax) == ["budget 100 MB"]


@pytest.mark.parametrize("values", [{}, {"a": float("nan")}, {"a": 1.0, "b": float("inf")}, {"a": float("-inf")}])
def test_bars_rejects_empty_or_non_finite(values):
    with pytest.raises(ValueError, match=r"bars\(\) needs a dict of label -> finite number"):
        charts.bars(values)


def test_bars_all_zero_draws_without_warning():
    render(charts.bars({"errors with retry": 0.0, "errors with backoff": 0.0}, unit="errors"))


# --- all of them ------------------------------------------------------------------------------

ALL = {
    "timeline": lambda: charts.timeline(spans(3), ideal=0.3, baseline=1.0),
    "compare": lambda: charts.compare({"a": spans(2), "b": spans(2)}),
    "in_flight": lambda: charts.in_flight({"x": ([0.0, 0.1], [0, 1])}, limit=2),
    "loop_lag": lambda: charts.loop_lag({"x": [LagSample(0.01, 0.0)]}),
    "scaling": lambda: charts.scaling([1, 2], [1.0, 0.6], cores=2),
    "queue_depth": lambda: charts.queue_depth([(0.0, 1), (0.1, 0)], maxsize=2),
    "bars": lambda: charts.bars({"a": 1.0}, reference=0.5),
}


@pytest.mark.parametrize("name", list(ALL))
def test_every_chart_is_a_closed_white_figure_with_a_title_and_time_in_seconds(name):
    fig = render(ALL[name]())
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    axes = fig.axes
    titled = [ax.get_title(loc="left") for ax in axes] + [fig.get_suptitle()]
    assert any(titled), "every chart has a title"
    xlabel = axes[-1].get_xlabel()
    assert xlabel, "the x axis is labelled"
    if name not in ("scaling",):
        assert "s" in xlabel.split("(")[-1] or xlabel in ("s",), xlabel  # seconds on time axes
    # the same call again gives an equivalent figure (no state leaks between calls)
    again = render(ALL[name]())
    assert [len(ax.patches) for ax in again.axes] == [len(ax.patches) for ax in axes]
    assert [len(ax.get_lines()) for ax in again.axes] == [len(ax.get_lines()) for ax in axes]


def test_charts_do_not_change_global_rc_params():
    before = dict(plt.rcParams)
    render(charts.timeline(spans(2)))
    render(charts.bars({"a": 1.0}))
    assert dict(plt.rcParams) == before
