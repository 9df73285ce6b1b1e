"""charts.rates(): the rows-per-second chart of notebook 11."""

from __future__ import annotations

import math

import pytest
from matplotlib.figure import Figure

from helpers import charts


def test_log_scale_by_default_with_labels_and_notes():
    fig = charts.rates({"per row": 150.0, "executemany": 70_000.0}, title="Inserts", notes={"per row": "200 rows"})
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    texts = [t.get_text() for t in ax.texts]
    assert " 150 rows/s  (200 rows)" in texts and " 70,000 rows/s" in texts
    assert [t.get_text() for t in ax.get_yticklabels()] == ["per row", "executemany"]
    low, high = ax.get_xlim()
    assert low < 150 and high > 70_000  # every bar and its label fit
    assert ax.get_title(loc="left") == "Inserts"


def test_linear_scale_allows_zero_and_other_units():
    fig = charts.rates({"busy_timeout 0": 0.0, "WAL": 120.0}, unit="tx/s", log=False)
    (ax,) = fig.axes
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "tx/s"
    assert ax.get_xlim()[0] == 0


@pytest.mark.parametrize(
    "values, kwargs, message",
    [
        ({}, {}, "needs a dict"),
        ({"a": math.nan}, {}, "finite"),
        ({"a": -1.0}, {"log": False}, "non-negative"),
        ({"a": 0.0}, {}, "log=False"),
        ({"a": 1.0}, {"notes": {"b": "x"}}, "no value"),
    ],
)
def test_bad_input_says_what_is_wrong(values, kwargs, message):
    with pytest.raises(ValueError, match=message):
        charts.rates(values, **kwargs)
