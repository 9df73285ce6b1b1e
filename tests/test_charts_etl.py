"""The capstone's dashboard chart: draws what it is given and refuses what it cannot draw."""

import pytest
from matplotlib.figure import Figure

from helpers import charts

STAGES = ("extract", "enrich")
QUEUES = ("raw",)


def samples(n: int = 20) -> list[dict]:
    return [{"t": i * 0.1, "n_extract": 100 * i, "n_enrich": 50 * i, "q_raw": i % 5, "in_flight": i % 7, "lag": 0.001 * i} for i in range(n)]


def test_dashboard_has_four_panels_and_the_limit_line() -> None:
    fig = charts.etl_dashboard(samples(), stages=STAGES, queues=QUEUES, limit=500)
    assert isinstance(fig, Figure)
    axes = fig.get_axes()
    assert len(axes) == 4
    assert [line.get_label() for line in axes[0].get_lines()] == ["extract", "enrich", "rate limit 500 requests/s"]


def test_stage_rates_come_from_the_counters() -> None:
    xs, ys = charts._stage_rates(samples(), "enrich", window=0.5)
    assert ys[0] == 0.0
    assert ys[-1] == pytest.approx(500.0)  # 50 items per 0.1 s
    assert len(xs) == len(ys) == 20


@pytest.mark.parametrize("bad", [[], samples(1), [{"t": 0.0}, {"t": 0.1}]])
def test_dashboard_rejects_data_it_cannot_draw(bad: list) -> None:
    with pytest.raises(ValueError, match="etl_dashboard"):
        charts.etl_dashboard(bad, stages=STAGES, queues=QUEUES)
