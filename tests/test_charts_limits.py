"""The 05/06/08 chart fixes: limit lines that do not hide what they mark, and labelled bar axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from helpers import charts  # noqa: E402


def axes_of(fig):
    fig.canvas.draw()
    axes = fig.axes
    plt.close(fig)
    return axes


def test_in_flight_limit_line_is_behind_the_series_and_in_no_series_colour():
    series = {"Semaphore(5)": ([0.0, 0.1, 0.5], [0, 5, 0]), "Semaphore(10)": ([0.0, 0.1, 0.3], [0, 10, 0])}
    (ax,) = axes_of(charts.in_flight(series, limit=5))
    *steps, limit = ax.get_lines()
    assert all(limit.get_zorder() < step.get_zorder() for step in steps)
    assert to_hex(limit.get_color()) not in {c.lower() for c in charts.PALETTE} | {charts.IDEAL_COLOR.lower()}


def test_queue_depth_leaves_room_above_the_maxsize_plateau_for_the_legend():
    samples = [(0.0, 0), (0.1, 5), (0.2, 5), (0.3, 0)]
    (ax,) = axes_of(charts.queue_depth(samples, maxsize=5))
    step, limit = ax.get_lines()
    assert limit.get_zorder() < step.get_zorder()
    assert ax.get_ylim()[1] >= 5 * 1.4  # the legend sits in the headroom, not on the plateau


def test_bars_can_say_what_was_measured():
    (ax,) = axes_of(charts.bars({"a": 1.0, "b": 2.0}, xlabel="wall time per round (s)"))
    assert ax.get_xlabel() == "wall time per round (s)"
    (ax,) = axes_of(charts.bars({"a": 1.0}))
    assert ax.get_xlabel() == "s"  # unchanged default


def test_scaling_draws_the_ideal_over_a_near_ideal_measurement():
    (ax,) = axes_of(charts.scaling([1, 2], [1.0, 0.5], cores=2))
    ideal, measured = ax.get_lines()
    assert ideal.get_zorder() > measured.get_zorder()
