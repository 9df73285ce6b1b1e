"""The benchmark command runs end to end and writes the JSON it promises.

Targets are machine-dependent, so these tests check only that each figure is
measured and plausible; `python -m helpers.bench` itself reports the targets.
"""

from __future__ import annotations

import json

import pytest

from helpers import bench


def test_bench_writes_every_figure(tmp_path, lab):
    out = tmp_path / "bench.json"
    bench.main(["--requests", "3000", "--skip-notebook", "--out", str(out)])
    results = json.loads(out.read_text())["results"]
    assert results["api_throughput_req_per_s"] > 500
    assert 0.5 < results["demo_efficiency_httpx"] <= 1.05
    assert 0.5 < results["demo_efficiency_aiohttp"] <= 1.05
    assert 0 < results["recorder_overhead_us_per_span"] < 200
    assert results["notebook_00_seconds"] is None


def test_bench_refuses_too_few_requests(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--requests", "10"])
    assert "at least 3000" in capsys.readouterr().err


def test_bench_leaves_running_services_running(tmp_path, lab):
    bench.main(["--requests", "3000", "--skip-notebook", "--out", str(tmp_path / "b.json")])
    assert lab.running, "the benchmark stopped services it did not start"
