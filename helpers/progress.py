"""Learner progress: which exercises passed, kept on the learner's own machine.

    from helpers import progress
    progress.show()          # a table: passed / tried, not yet passed / not tried

Every check cell records its result here (``run_check`` calls ``record``), so a
learner studying alone can see where they stopped, across all notebooks.  The
list of exercises is read from the notebooks' ``### Exercise N.k: ...`` headings,
so a new lesson appears without a code change.

The record is one small JSON file in the user's data folder (see
``progress_file``), or wherever ``COURSE_PROGRESS_FILE`` points.  Nothing leaves
the machine.  Writes are atomic (a temporary file renamed over the old one) and
serialised by a lock file, so two kernels checking at once lose nothing.  A
corrupt file is reported once, kept aside, and replaced; recording never raises,
because a check must never fail for a reason that is not the learner's.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ENV_FILE = "COURSE_PROGRESS_FILE"
ENV_NOTEBOOKS = "COURSE_NOTEBOOKS_DIR"
UNDER_PYTEST = "PYTEST_CURRENT_TEST"
APP_DIR = "asyncio-course"
FORMAT = 1
LOCK_WAIT = 2.0  # seconds; after that a result is not recorded rather than a check held up
EXERCISE_HEADING = re.compile(r"^###\s+Exercise\s+(\d+)\.(\d+)\s*:?\s*(.*?)\s*$", re.MULTILINE)

_thread_lock = threading.Lock()


# ----------------------------------------------------------------------------- where


def progress_file() -> Path | None:
    """The JSON file: $COURSE_PROGRESS_FILE, else the platform's per-user data folder.

    None inside a pytest run that did not set COURSE_PROGRESS_FILE: pytest sets
    PYTEST_CURRENT_TEST, and the kernels nbval starts inherit it, so running a
    notebook under nbval never touches the real progress file.

    Linux: $XDG_DATA_HOME (default ~/.local/share)/asyncio-course/progress.json;
    macOS: ~/Library/Application Support/asyncio-course/progress.json;
    Windows: %LOCALAPPDATA%\\asyncio-course\\progress.json.
    """
    override = os.environ.get(ENV_FILE)
    if override:
        return Path(override).expanduser()
    if UNDER_PYTEST in os.environ:  # a test run (or an nbval kernel it started) with no file set
        return None
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_DIR / "progress.json"


def notebooks_dir() -> Path:
    """The lessons folder: $COURSE_NOTEBOOKS_DIR, else notebooks/ next to this package."""
    override = os.environ.get(ENV_NOTEBOOKS)
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parent.parent / "notebooks"


# ----------------------------------------------------------------------------- what


@dataclass(frozen=True)
class Exercise:
    """One exercise as the notebooks announce it."""

    id: str  # "3.2"
    title: str
    notebook: str  # "03_gather"


def _sort_key(exercise_id: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in exercise_id.split("."))
    except ValueError:
        return (10**6,)


def catalogue(folder: Path | None = None) -> list[Exercise]:
    """Every "### Exercise N.k: title" heading in the lessons (solutions excluded), in order."""
    folder = folder or notebooks_dir()
    found: dict[str, Exercise] = {}
    for path in sorted(folder.glob("[0-9]*.ipynb")):
        try:
            cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        except (OSError, ValueError):
            continue  # a notebook being saved or broken must not stop the table
        for cell in cells:
            if cell.get("cell_type") != "markdown":
                continue
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            for match in EXERCISE_HEADING.finditer(text):
                exercise_id = f"{int(match[1])}.{int(match[2])}"
                found.setdefault(exercise_id, Exercise(exercise_id, match[3], path.stem))
    return sorted(found.values(), key=lambda e: _sort_key(e.id))


# ----------------------------------------------------------------------------- the file


def _empty() -> dict[str, Any]:
    return {"format": FORMAT, "exercises": {}}


def _note(message: str) -> None:
    """A one-line note in the cell's output; never an exception."""
    with contextlib.suppress(Exception):
        print(f"note: {message}")


def _read(path: Path) -> dict[str, Any]:
    """The stored record; a corrupt one is reported, kept aside as *.corrupt-TIME, and replaced."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _empty()
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("exercises"), dict):
            raise ValueError("not a progress record")
        return data
    except ValueError:
        aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        _note(f"your progress file {path} was unreadable; kept it as {aside.name} and started a new one")
        return _empty()


def _write(path: Path, data: dict[str, Any]) -> None:
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on path + '.lock' (other kernels wait, at most LOCK_WAIT s)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _thread_lock, open(path.with_name(path.name + ".lock"), "a+b") as lock_file:
        deadline = time.monotonic() + LOCK_WAIT
        while not _try_lock(lock_file):
            if time.monotonic() > deadline:
                raise TimeoutError(f"another process held {lock_file.name} for {LOCK_WAIT:g} s")
            time.sleep(0.01)
        try:
            yield
        finally:
            _unlock(lock_file)


def _try_lock(handle: Any) -> bool:
    try:
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(handle: Any) -> None:
    with contextlib.suppress(OSError):
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _in_solutions_notebook() -> bool:
    """True in a kernel JupyterLab started for a *_solutions.ipynb: reading answers is not passing.

    jupyter_server gives each kernel JPY_SESSION_NAME, the notebook's path when it started.
    """
    return Path(os.environ.get("JPY_SESSION_NAME", "")).name.endswith("_solutions.ipynb")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record(result: Any) -> None:
    """Remember one check result (a helpers.checks.Result). Never raises.

    "Not attempted" is not a try, so it is not stored, and neither is anything
    run in a solutions notebook.  Once an exercise has passed it stays passed;
    the last try's time and outcome are kept too.
    """
    try:
        outcome = getattr(getattr(result, "outcome", None), "value", None)
        exercise = str(getattr(result, "exercise", ""))
        if outcome not in ("passed", "wrong") or not exercise or _in_solutions_notebook():
            return
        path = progress_file()
        if path is None:
            return
        with _locked(path):
            data = _read(path)
            entry = data["exercises"].get(exercise)
            if not isinstance(entry, dict):
                entry = data["exercises"][exercise] = {"tries": 0, "passed": False}
            tries = entry.get("tries")
            entry["tries"] = (tries if isinstance(tries, int) else 0) + 1
            entry["last_try"] = _now()
            entry["last_outcome"] = outcome
            if outcome == "passed":
                entry.setdefault("first_passed", entry["last_try"])
                entry["passed"] = True
            _write(path, data)
    except Exception as exc:  # a full disk, a read-only home, a lock held too long: the check goes on
        _note(f"this result was not saved to your progress file ({type(exc).__name__}: {exc})")


def load() -> dict[str, dict[str, Any]]:
    """The stored results by exercise id (empty if nothing was recorded yet)."""
    path = progress_file()
    if path is None:
        return {}
    try:
        with _locked(path):
            return dict(_read(path)["exercises"])
    except (OSError, TimeoutError) as exc:
        _note(f"could not read your progress file {path} ({exc})")
        return {}


def reset() -> Path | None:
    """Forget every result (the file is removed); returns the path that was cleared."""
    path = progress_file()
    if path is None:
        return None
    with _locked(path):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return path


# ----------------------------------------------------------------------------- the table


PASSED, TRIED, NOT_TRIED = "passed", "tried, not yet passed", "not tried"


@dataclass(frozen=True)
class Row:
    exercise: str
    title: str
    notebook: str
    status: str
    tries: int
    last_try: str  # local time "2026-11-25 18:04", or "" if never tried


def _local_time(stamp: object) -> str:
    """An ISO time stamp from the file, shown in the learner's time zone ("" if missing or odd)."""
    if not isinstance(stamp, str) or not stamp:
        return ""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp[:16]


def rows(folder: Path | None = None) -> list[Row]:
    """One row per exercise in the notebooks, plus any recorded exercise no notebook lists."""
    stored = load()
    table: list[Row] = []
    known = catalogue(folder)
    for exercise in known + [Exercise(x, "", "") for x in sorted(stored, key=_sort_key) if x not in {e.id for e in known}]:
        entry = stored.get(exercise.id)
        entry = entry if isinstance(entry, dict) else {}
        tries = entry.get("tries") if isinstance(entry.get("tries"), int) else 0
        status = PASSED if entry.get("passed") else TRIED if tries else NOT_TRIED
        table.append(Row(exercise.id, exercise.title, exercise.notebook, status, tries, _local_time(entry.get("last_try"))))
    return table


@dataclass(frozen=True)
class Report:
    """The progress table: HTML in JupyterLab, plain text in a terminal."""

    rows: list[Row]
    path: Path | None

    @property
    def summary(self) -> str:
        passed = sum(r.status == PASSED for r in self.rows)
        tried = sum(r.status == TRIED for r in self.rows)
        return f"{passed} of {len(self.rows)} exercises passed, {tried} tried but not yet passed"

    @property
    def where(self) -> str:
        return f"kept in {self.path}" if self.path else "not kept: a pytest run without COURSE_PROGRESS_FILE"

    def __str__(self) -> str:
        headers = ("exercise", "notebook", "status", "tries", "last try")
        body = [(f"{r.exercise} {r.title}".strip(), r.notebook, r.status, str(r.tries), r.last_try) for r in self.rows]
        widths = [max(len(h), *(len(line[i]) for line in body)) if body else len(h) for i, h in enumerate(headers)]
        widths[0] = min(widths[0], 48)
        fmt = "  ".join(f"{{:{w}.{w}}}" for w in widths)
        lines = [fmt.format(*headers).rstrip(), fmt.format(*("-" * w for w in widths))]
        lines += [fmt.format(*line).rstrip() for line in body]
        lines.append(f"{self.summary}  ({self.where})")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = {PASSED: "#1a7f37", TRIED: "#b35900", NOT_TRIED: "inherit"}
        cells = "".join(
            f"<tr><td>{html.escape(r.exercise)}</td><td style='text-align:left'>{html.escape(r.title)}</td>"
            f"<td style='text-align:left'>{html.escape(r.notebook)}</td>"
            f"<td style='text-align:left;color:{colour[r.status]}'>{html.escape(r.status)}</td>"
            f"<td>{r.tries}</td><td>{html.escape(r.last_try)}</td></tr>"
            for r in self.rows
        )
        head = "".join(f"<th>{h}</th>" for h in ("exercise", "title", "notebook", "status", "tries", "last try"))
        return (
            f"<table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
            f"<p>{html.escape(self.summary)} <small>({html.escape(self.where)})</small></p>"
        )


def report(folder: Path | None = None) -> Report:
    """The table as an object (render it, print it, or read .rows)."""
    return Report(rows(folder), progress_file())


def show(folder: Path | None = None) -> None:
    """Display the table: HTML in a notebook, plain text elsewhere."""
    table = report(folder)
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell":
        from IPython.display import display

        display(table)
    else:
        print(table)


def main(argv: list[str] | None = None) -> int:
    """`python -m helpers.progress [--reset]`: print the table, or forget every result."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.progress", description="Show (or reset) your exercise progress.")
    parser.add_argument("--reset", action="store_true", help="forget every recorded result")
    args = parser.parse_args(argv)
    if args.reset:
        print(f"progress cleared ({reset() or 'nothing is kept during a pytest run'})")
    else:
        show()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
