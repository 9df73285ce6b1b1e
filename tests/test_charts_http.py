"""Notebook 09's chart functions: they draw what they are given and refuse bad input clearly."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from helpers import charts

SPANS = [{"start": 0.01 * i, "conn": 10 + i % 3} for i in range(9)]


def test_connections_renumbers_connections_per_panel():
    fig = charts.connections({"shared": SPANS, "per request": [{"start": 0.0, "conn": 99}]})
    assert isinstance(fig, Figure)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles == ["shared: 9 requests on 3 connection(s)", "per request: 1 requests on 1 connection(s)"]
    assert sorted({int(y) for y in fig.axes[0].collections[0].get_offsets()[:, 1]}) == [1, 2, 3]


def test_arrivals_same_bins_and_peak_in_title():
    fig = charts.arrivals({"burst": [0.0] * 10 + [0.5], "spread": [0.1 * i for i in range(11)]}, bin_seconds=0.1, limit=(5, 0.5))
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert titles[0].startswith("burst: 11 arrivals, peak 10 per 100 ms")
    assert "peak 2 per 100 ms" in titles[1] or "peak 1 per 100 ms" in titles[1]
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()


def test_attempts_histogram_counts_each_value():
    fig = charts.attempts_histogram([1, 1, 1, 2, 4])
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [3, 1, 0, 1]


def test_curve_draws_each_series():
    fig = charts.curve([1, 2, 3], {"a": [1.0, 2.0, 4.0], "b": [1.0, 1.0, 1.0]}, xlabel="n", ylabel="ms")
    assert len(fig.axes[0].get_lines()) == 2
    assert fig.axes[0].get_ylim()[0] == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda: charts.connections({}),
        lambda: charts.connections({"a": []}),
        lambda: charts.arrivals({"a": []}),
        lambda: charts.arrivals({"a": [0.1]}, bin_seconds=0),
        lambda: charts.attempts_histogram([]),
        lambda: charts.attempts_histogram([0, 1]),
        lambda: charts.curve([1, 2], {"a": [1.0]}),
        lambda: charts.curve([], {}),
    ],
)
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
