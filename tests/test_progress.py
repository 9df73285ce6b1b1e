"""helpers.progress: what a learner sees, what is stored, and that it never breaks a check."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import progress
from helpers.checks import NotAttempted, Outcome, Result, Wrong, run_check

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "data" / "progress.json"
    monkeypatch.setenv(progress.ENV_FILE, str(path))
    return path


def _lesson(folder: Path, name: str, *headings: str) -> None:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": [f"{h}\n" for h in headings]}]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def _check(exercise: str, value) -> Result:
    """A real run_check whose verdict depends on `value` (None: stub, "ok": pass, else wrong)."""

    def attempt():
        if value is None:
            raise NotAttempted
        return value

    def verify(got):
        if got != "ok":
            raise Wrong(f"expected 'ok', got {got!r}")
        return "ok"

    return asyncio.run(run_check(exercise, attempt, verify))


def test_the_test_suite_never_writes_to_a_real_home():
    configured = Path(os.environ[progress.ENV_FILE])
    assert not configured.resolve().is_relative_to(Path.home().resolve() / ".local")
    assert configured.name == "progress.json"


def test_default_location_is_the_platform_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(progress.ENV_FILE, raising=False)
    monkeypatch.delenv(progress.UNDER_PYTEST, raising=False)  # as in a learner's kernel
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert progress.progress_file() == tmp_path / "asyncio-course" / "progress.json"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert progress.progress_file() == Path.home() / ".local" / "share" / "asyncio-course" / "progress.json"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert progress.progress_file() == Path.home() / "Library" / "Application Support" / "asyncio-course" / "progress.json"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert progress.progress_file() == tmp_path / "Local" / "asyncio-course" / "progress.json"


def test_a_pytest_run_without_a_progress_file_records_nothing(monkeypatch, tmp_path, capsys):
    """nbval's kernels inherit PYTEST_CURRENT_TEST even when tests/conftest.py was not loaded."""
    monkeypatch.delenv(progress.ENV_FILE, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert os.environ[progress.UNDER_PYTEST] and progress.progress_file() is None
    assert _check("1.1", "ok").passed
    assert capsys.readouterr().out.startswith("✅ Exercise 1.1 passed")
    assert list(tmp_path.rglob("*")) == [] and progress.load() == {}
    assert "not kept: a pytest run" in str(progress.report(tmp_path))


def test_catalogue_reads_every_exercise_heading_of_the_lessons():
    exercises = progress.catalogue(ROOT / "notebooks")
    ids = [e.id for e in exercises]
    assert ids[0] == "0.1" and "3.3" in ids and "8.2" in ids
    assert ids == sorted(ids, key=lambda x: tuple(map(int, x.split("."))))
    assert len(ids) == len(set(ids)) >= 18
    first = exercises[0]
    assert first.notebook == "00_start_here" and first.title == "names, all at once"


def test_a_new_lesson_appears_without_a_code_change(tmp_path, store):
    _lesson(tmp_path, "01_a.ipynb", "### Exercise 1.1: one", "### Exercise 1.2: two")
    _lesson(tmp_path, "12_new.ipynb", "## Exercises", "### Exercise 12.1: brand new")
    _lesson(tmp_path / "solutions", "01_a_solutions.ipynb", "### Exercise 1.1: one")
    (tmp_path / "99_broken.ipynb").write_text("{not json")
    assert [(e.id, e.notebook) for e in progress.catalogue(tmp_path)] == [("1.1", "01_a"), ("1.2", "01_a"), ("12.1", "12_new")]


def test_check_results_are_recorded_and_shown(tmp_path, store, capsys):
    _lesson(tmp_path, "01_a.ipynb", "### Exercise 1.1: one", "### Exercise 1.2: two", "### Exercise 1.3: three")
    _check("1.1", "wrong")
    _check("1.1", "ok")
    _check("1.1", "wrong")  # passed once: stays passed
    _check("1.2", "wrong")
    _check("1.2", "also wrong")
    _check("1.3", None)  # not attempted is not a try
    stored = json.loads(store.read_text())["exercises"]
    assert set(stored) == {"1.1", "1.2"}
    assert stored["1.1"]["tries"] == 3 and stored["1.1"]["passed"] and stored["1.1"]["last_outcome"] == "wrong"
    assert stored["1.2"]["tries"] == 2 and not stored["1.2"]["passed"]
    table = {r.exercise: r for r in progress.rows(tmp_path)}
    assert table["1.1"].status == progress.PASSED
    assert table["1.2"].status == progress.TRIED and table["1.2"].tries == 2 and table["1.2"].last_try
    assert table["1.3"].status == progress.NOT_TRIED and table["1.3"].last_try == ""
    capsys.readouterr()
    progress.show(tmp_path)  # no IPython kernel here: plain text
    text = capsys.readouterr().out
    assert "1.2 two" in text and "tried, not yet passed" in text and "not tried" in text
    assert "1 of 3 exercises passed, 1 tried but not yet passed" in text
    page = progress.report(tmp_path)._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") == 4 and "not tried" in page


def test_recorded_exercises_missing_from_the_notebooks_still_show(tmp_path, store):
    _lesson(tmp_path, "01_a.ipynb", "### Exercise 1.1: one")
    _check("42.1", "ok")
    assert [(r.exercise, r.status) for r in progress.rows(tmp_path)] == [("1.1", "not tried"), ("42.1", "passed")]


def test_a_corrupt_file_is_reported_kept_aside_and_replaced(store, capsys):
    store.parent.mkdir(parents=True)
    store.write_text('{"exercises": {"1.1": ')
    result = _check("1.1", "ok")
    out = capsys.readouterr().out
    assert result.passed
    assert out.startswith("note: your progress file") and "unreadable" in out and "✅ Exercise 1.1 passed" in out
    assert json.loads(store.read_text())["exercises"]["1.1"]["passed"] is True
    assert [p.name.split("-")[0] for p in store.parent.glob("progress.json.corrupt-*")] == ["progress.json.corrupt"]


@pytest.mark.parametrize(
    "content, status",
    [
        ('["a list"]', progress.NOT_TRIED),
        ('{"exercises": {"1.1": "nonsense"}}', progress.NOT_TRIED),
        ("", progress.NOT_TRIED),
        ('{"exercises": {"1.1": {"tries": "many", "last_try": 5, "passed": false}}}', progress.NOT_TRIED),
        ('{"exercises": {"1.1": {"tries": 2, "last_try": "yesterday", "passed": false}}}', progress.TRIED),
    ],
)
def test_odd_but_parseable_files_never_crash(store, content, status, capsys, tmp_path):
    store.parent.mkdir(parents=True)
    store.write_text(content)
    _lesson(tmp_path, "01_a.ipynb", "### Exercise 1.1: one")
    assert progress.rows(tmp_path)[0].status == status
    assert "1.1 one" in str(progress.report(tmp_path))
    _check("1.1", "ok")
    assert progress.rows(tmp_path)[0].status == progress.PASSED


def test_an_unwritable_progress_file_never_breaks_a_check(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(progress.ENV_FILE, str(blocker / "sub" / "progress.json"))  # a folder under a file
    result = _check("1.1", "wrong")
    out = capsys.readouterr().out.splitlines()
    assert result.outcome is Outcome.WRONG
    assert len(out) == 2 and out[0].startswith("note: this result was not saved") and out[1].startswith("❌ Exercise 1.1")


def test_running_a_solutions_notebook_in_jupyterlab_records_nothing(store, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/REPO/notebooks/solutions/03_gather_solutions.ipynb")
    assert _check("3.1", "ok").passed and not store.exists()
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/ada/REPO/notebooks/03_gather.ipynb")
    assert _check("3.1", "ok").passed and json.loads(store.read_text())["exercises"]["3.1"]["passed"]


def test_record_ignores_anything_that_is_not_a_result(store):
    for junk in (None, "text", 42, Result("", Outcome.PASSED, "x")):
        progress.record(junk)
    assert not store.exists()


def test_a_lock_held_too_long_skips_the_record_instead_of_hanging(store, monkeypatch, capsys):
    monkeypatch.setattr(progress, "LOCK_WAIT", 0.2)
    monkeypatch.setattr(progress, "_try_lock", lambda handle: False)
    progress.record(Result("1.1", Outcome.PASSED, "x"))
    assert "was not saved" in capsys.readouterr().out and not store.exists()


def test_two_processes_writing_at_once_lose_nothing(store):
    script = textwrap.dedent(
        """
        import sys
        from helpers import progress
        from helpers.checks import Outcome, Result
        for i in range(60):
            progress.record(Result(sys.argv[1] if i % 2 else "9.9", Outcome.WRONG, "x"))
        """
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    writers = [subprocess.Popen([sys.executable, "-c", script, ex], env=env, stdout=subprocess.PIPE, text=True) for ex in ("7.1", "7.2")]
    outputs = [w.communicate(timeout=120)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0] and outputs == ["", ""]
    stored = json.loads(store.read_text())["exercises"]
    assert {k: v["tries"] for k, v in stored.items()} == {"7.1": 30, "7.2": 30, "9.9": 60}
    assert not list(store.parent.glob(".progress-*")), "temporary files left behind"


def test_command_line_shows_and_resets(store, tmp_path, monkeypatch, capsys):
    progress.record(Result("1.1", Outcome.PASSED, "x"))
    monkeypatch.setenv(progress.ENV_NOTEBOOKS, str(tmp_path / "none"))
    assert progress.main([]) == 0
    assert "1.1" in capsys.readouterr().out
    assert progress.main(["--reset"]) == 0
    assert not store.exists() and "progress cleared" in capsys.readouterr().out
