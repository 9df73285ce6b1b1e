"""charts.crawl_log (notebook 10): what the website's request log saw, drawn."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from helpers import charts


def hits(n: int, status: int = 200) -> list[dict]:
    return [{"path": f"/wiki/x/page/{i}", "start": 0.1 * i, "end": 0.1 * i + 0.02, "status": status} for i in range(n)]


def test_crawl_log_draws_bars_and_gaps():
    data = hits(5) + [{"path": "/old/1", "start": 0.55, "end": 0.56, "status": 301}, {"path": "/gone", "start": 0.65, "end": 0.66, "status": 404}]
    fig = charts.crawl_log(data, delay=0.1, title="A crawl")
    assert isinstance(fig, Figure)
    top, bottom = fig.axes
    assert len(top.patches) >= 7
    assert "7 requests" in top.get_title(loc="left")
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert labels == ["2xx", "3xx redirect", "4xx"]
    assert "crawl delay 100 ms" in [t.get_text() for t in bottom.get_legend().get_texts()]
    gap_points = bottom.lines[0].get_ydata()
    assert len(gap_points) == 6 and round(float(gap_points[0])) == 100


def test_crawl_log_hides_labels_for_many_requests():
    fig = charts.crawl_log(hits(40))
    assert fig.axes[0].get_yticks().size == 0
    assert "40 requests" in fig.axes[0].get_ylabel()


def test_crawl_log_skips_unfinished_and_rejects_nothing():
    with pytest.raises(ValueError, match="no finished requests"):
        charts.crawl_log([{"path": "/", "start": 0.0, "end": None, "status": None}])
    with pytest.raises(ValueError):
        charts.crawl_log([])


def test_crawl_log_orders_by_start():
    data = list(reversed(hits(3)))
    fig = charts.crawl_log(data)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["/wiki/x/page/0", "/wiki/x/page/1", "/wiki/x/page/2"]


def test_loop_lag_compare_puts_the_legend_below_the_plot():
    from helpers.timing import LagSample

    series = {"inline": [LagSample(0.01, 0.0), LagSample(0.5, 0.45)], "thread": [LagSample(0.01, 0.002)]}
    fig = charts.loop_lag_compare(series)
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["inline (worst 450 ms)", "thread (worst 2 ms)"]
    fig.canvas.draw()
    assert legend.get_window_extent().y1 <= fig.axes[0].get_window_extent().y0, "legend sits below the axes"
