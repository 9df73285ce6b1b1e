"""python -m helpers.classroom: K kernels at once on a notebook; failures, times, memory, exit codes.

Small on purpose (2 kernels, tiny notebooks): it runs real kernels, which costs a
few seconds each on a busy machine.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from helpers.classroom.__main__ import main, raise_open_file_limit
from helpers.classroom.memory import MB, TreeUsage
from helpers.classroom.report import render, summarise
from helpers.classroom.runner import Classroom, KernelRun, first_line

CHILD = "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'b = bytearray(60_000_000); import time; time.sleep(1.5)'], check=True)"


def notebook(folder: Path, name: str, *sources: str, tagged: int | None = None) -> Path:
    nb = new_notebook(cells=[new_markdown_cell("# a test notebook")] + [new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if tagged is not None:
        nb.cells[tagged].metadata["tags"] = ["raises-exception"]
    path = folder / name
    nbformat.write(nb, path)
    return path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(out: str) -> list[list[str]]:
    table = out.split("-" * 20, 1)[1].split("\n\n", 1)[0]
    return [line.split(None, 7) for line in table.strip("-\n").splitlines()]


def test_two_kernels_pass_and_are_measured_without_touching_the_notebook(tmp_path, capsys):
    source = notebook(
        tmp_path,
        "lesson.ipynb",
        "import helpers\nlab = await helpers.lab.start()\nprint(lab.memory_mb() > 5)",
        CHILD,
        "raise KeyError('an expected error')",
        "import os\nassert os.environ['COURSE_PROGRESS_FILE'].endswith('kernel-01/progress.json') or "
        "os.environ['COURSE_PROGRESS_FILE'].endswith('kernel-02/progress.json')",
        tagged=3,
    )
    before = source.read_bytes()
    code, out, err = run(capsys, "--kernels", "2", "--json", str(tmp_path / "room.json"), str(source))
    assert code == 0, out + err
    assert [r[:2] for r in rows(out)] == [["1", "ok"], ["2", "ok"]]
    assert "failures: 0 of 2" in out and err == ""
    assert source.read_bytes() == before, "the learner's notebook was written"
    figures = json.loads((tmp_path / "room.json").read_text())
    assert figures["summary"]["failures"] == 0 and len(figures["kernels"]) == 2
    for kernel in figures["kernels"]:
        assert 20 < kernel["kernel_mb"] < 1000, kernel
        assert 10 < kernel["services_mb"] < 500, kernel  # the helpers.services child
        assert kernel["children_mb"] > 50, kernel  # the 60 MB subprocess
        assert kernel["cpu_seconds"] > 0.1 and kernel["seconds"] > 1.4
    summary = figures["summary"]
    assert summary["per_learner_mb"] >= summary["kernel_mb"] + summary["services_mb"]
    assert summary["per_learner_mb"] > summary["per_learner_pss_mb"] > 20  # shared pages counted once
    assert summary["peak_total_mb"] >= summary["per_learner_pss_mb"]
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]


def test_a_failing_notebook_fails_with_its_first_error_and_exit_code_1(tmp_path, capsys):
    source = notebook(tmp_path, "broken.ipynb", "print('fine')", "raise ValueError('boom in the second cell')\nprint('x')", "print('never')")
    code, out, _ = run(capsys, "-k", "2", str(source))
    assert code == 1
    assert [r[:2] for r in rows(out)] == [["1", "FAILED"], ["2", "FAILED"]]
    assert out.count("In [2]: ValueError: boom in the second cell") == 2
    assert "failures: 2 of 2" in out


def test_a_wrong_check_counts_as_a_failure(tmp_path, capsys):
    source = notebook(tmp_path, "checks.ipynb", "print('✅ Exercise 1.1 passed: yes')\nprint('❌ Exercise 1.2: return response.json(), not the Response')")
    code, out, _ = run(capsys, "-k", "1", str(source))
    assert code == 1 and "❌ Exercise 1.2: return response.json(), not the Response" in out


def test_the_per_kernel_timeout_stops_a_hanging_notebook(tmp_path, capsys):
    source = notebook(tmp_path, "hang.ipynb", "import time\ntime.sleep(120)")
    code, out, _ = run(capsys, "-k", "2", "--timeout", "6", str(source))
    assert code == 1 and out.count("not finished within the per-kernel timeout of 6 s") == 2
    assert all(6 <= float(r[2]) < 30 for r in rows(out))


def test_keep_leaves_the_executed_copies_for_reading(tmp_path, capsys):
    source = notebook(tmp_path, "tiny.ipynb", "print(6 * 7)")
    keep = tmp_path / "kept"
    keep.mkdir()
    code, out, _ = run(capsys, "-k", "1", "--keep", str(keep), str(source))
    copies = list(keep.glob("classroom-*/kernel-01/tiny.ipynb"))
    assert code == 0 and len(copies) == 1
    assert nbformat.read(copies[0], as_version=4).cells[1].outputs[0]["text"] == "42\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["-k", "0", "{nb}"], "--kernels must be between 1 and 200, got 0"),
        (["-k", "500", "{nb}"], "--kernels must be between 1 and 200"),
        (["--timeout", "0", "{nb}"], "--timeout must be a positive number"),
        (["--timeout", "inf", "{nb}"], "--timeout must be a positive number"),
        (["--timeout", "nan", "{nb}"], "--timeout must be a positive number"),
        (["{tmp}/missing.ipynb"], "is not a file; give the path of a notebook"),
        (["{tmp}/text.txt"], "is not a notebook (.ipynb)"),
        (["{tmp}/bad.ipynb"], "is not a readable Jupyter notebook"),
        (["--kernel-name", "no-such-kernel", "{nb}"], "no Jupyter kernel named 'no-such-kernel'; installed:"),
        (["--keep", "{tmp}/nowhere", "{nb}"], "--keep needs an existing folder"),
        (["--json", "{tmp}/nowhere/x.json", "{nb}"], "--json: the folder"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_exit_code_2(tmp_path, capsys, args, message):
    nb = notebook(tmp_path, "ok.ipynb", "1")
    (tmp_path / "text.txt").write_text("hello")
    (tmp_path / "bad.ipynb").write_text("{ not json")
    code, out, err = run(capsys, *[a.format(nb=nb, tmp=tmp_path) for a in args])
    assert code == 2 and message in err and out == ""
    assert len(err.strip().splitlines()) == 1, err


def test_argparse_errors_also_exit_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--kernels", "many", "x.ipynb"])
    assert stop.value.code == 2 and "invalid int value: 'many'" in capsys.readouterr().err


def test_summary_and_table_from_known_figures():
    def kernel_run(index, ok, seconds, kernel, services, others, error=""):
        total = (kernel + services + others) * MB
        usage = TreeUsage(kernel_peak=kernel * MB, services_peak=services * MB, others_peak=others * MB, total_peak=total, pss_peak=total // 2, cpu_seconds=index)
        return KernelRun(index, ok=ok, error=error, seconds=seconds, usage=usage)

    room = Classroom(
        [kernel_run(1, True, 4.0, 110, 37, 0), kernel_run(2, False, 9.0, 120, 40, 200, "In [3]: AssertionError: slow"), kernel_run(3, True, 5.0, 100, 35, 0)],
        seconds=9.5,
        peak_total=600 * MB,
        load_max=3.25,
        cpus=2,
    )
    s = summarise(room)
    assert (s.failures, s.median_seconds, s.max_seconds) == (1, 5.0, 9.0)
    assert (s.kernel_mb, s.services_mb, s.others_mb, s.per_learner_mb, s.per_learner_pss_mb, s.peak_total_mb) == (120, 40, 200, 360, 180, 600)
    text = render(room, "nb.ipynb")
    assert "     2  FAILED      9.0        120           40          200     2.0  In [3]: AssertionError: slow" in text
    assert "failures: 1 of 3" in text and "median 5.0, max 9.0" in text and "load average 3.2" in text


def test_first_line_is_short_and_skips_blank_lines():
    assert first_line("\n\n  hello\nworld") == "hello"
    assert len(first_line("x" * 500)) == 120


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT, as Ctrl+C in a terminal does")
def test_ctrl_c_stops_every_kernel_and_exits_130(tmp_path):
    source = notebook(tmp_path, "hang.ipynb", "import time\ntime.sleep(120)")
    check = subprocess.Popen([sys.executable, "-m", "helpers.classroom", "-k", "2", str(source)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(check.pid)
    deadline = time.monotonic() + 60
    while len([p for p in parent.children() if "ipykernel" in " ".join(p.cmdline())]) < 2:
        assert time.monotonic() < deadline and check.poll() is None, "the kernels did not start"
        time.sleep(0.2)
    kernels = parent.children(recursive=True)
    time.sleep(1)  # let them reach the sleeping cell
    check.send_signal(signal.SIGINT)
    out, err = check.communicate(timeout=60)
    assert check.returncode == 130, out + err
    assert err.strip() == "interrupted: shutting the kernels down ...", err
    gone, alive = psutil.wait_procs(kernels, timeout=10)
    assert not alive, f"left running: {alive}"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX open-file limit")
def test_the_open_file_limit_is_raised_for_many_kernels(monkeypatch):
    import resource

    limits = {"now": (1024, 4096)}
    monkeypatch.setattr(resource, "getrlimit", lambda which: limits["now"])
    monkeypatch.setattr(resource, "setrlimit", lambda which, value: limits.update(now=value))
    assert raise_open_file_limit(20) == "" and limits["now"] == (1024, 4096)  # 900 needed: enough already
    assert raise_open_file_limit(60) == "" and limits["now"] == (2500, 4096)
    warning = raise_open_file_limit(200)
    assert limits["now"] == (4096, 4096) and "ulimit -n 8100" in warning
