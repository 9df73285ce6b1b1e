"""Every notebook follows the course anatomy and is committed executed.

nbval (run over notebooks/ by the same pytest command) checks that outputs
still match; these tests check what nbval cannot: that a lesson has its
title, objectives, chart, exercises and key points, that it was run top to
bottom in one kernel, that nothing leaked to stderr, and that no code cell
talks to any host but this machine.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))
ALL = LESSONS + SOLUTIONS
URL = re.compile(r"""https?://[^\s'"<>)]+""")
LOOPBACK = re.compile(r"https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])([:/]|$)")
EXERCISE_HEADING = re.compile(r"^###\s+Exercise\s+(\d+)\.(\d+)\b", re.M)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    return "".join(cell["source"])


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code" and source(c).strip()]


def markdown(nb: dict) -> str:
    return "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def printed(nb: dict) -> str:
    """What code cells showed as text: streams, and the text/plain of displays (checker boxes)."""
    parts = []
    for cell in code_cells(nb):
        for out in cell["outputs"]:
            parts.append("".join(out.get("text", "")))
            parts.append("".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def exercises(nb: dict) -> list[str]:
    return [f"{a}.{b}" for a, b in EXERCISE_HEADING.findall(markdown(nb))]


def names(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def test_there_are_lessons() -> None:
    assert LESSONS, "no notebooks found in notebooks/"
    assert LESSONS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", ALL, ids=names(ALL))
def test_executed_top_to_bottom_with_outputs(path: Path) -> None:
    counts = [c["execution_count"] for c in code_cells(load(path))]
    assert counts, "no code cells"
    assert None not in counts, "some code cells were never run: restart the kernel and run all, then commit"
    assert counts == list(range(1, len(counts) + 1)), f"not run top to bottom in one fresh kernel: execution counts {counts}"
    assert any(c["outputs"] for c in code_cells(load(path))), "no outputs committed"


@pytest.mark.parametrize("path", ALL, ids=names(ALL))
def test_no_stderr_and_only_expected_errors(path: Path) -> None:
    for i, cell in enumerate(code_cells(load(path))):
        expected_error = source(cell).startswith("# NBVAL_RAISES_EXCEPTION")
        for out in cell["outputs"]:
            assert not (out["output_type"] == "stream" and out["name"] == "stderr"), f"code cell {i} wrote to stderr: {''.join(out['text'])[:300]}"
            if out["output_type"] == "error":
                assert expected_error, f"code cell {i} raised {out['ename']} but is not marked # NBVAL_RAISES_EXCEPTION"
        if expected_error:
            assert "raises-exception" in cell["metadata"].get("tags", []), f"code cell {i} needs the 'raises-exception' tag so Run All continues past it"
            assert any(o["output_type"] == "error" for o in cell["outputs"]), f"code cell {i} is marked to raise but did not"


@pytest.mark.parametrize("path", ALL, ids=names(ALL))
def test_code_reaches_only_loopback(path: Path) -> None:
    for i, cell in enumerate(code_cells(load(path))):
        for line in source(cell).splitlines():
            if line.lstrip().startswith("#"):
                continue
            for url in URL.findall(line):
                assert LOOPBACK.match(url), f"code cell {i} reaches an outside host ({url}); the course must run offline"


@pytest.mark.parametrize("path", LESSONS, ids=names(LESSONS))
def test_lesson_anatomy(path: Path) -> None:
    nb = load(path)
    number = path.name[:2]
    first = source(nb["cells"][0])
    assert re.match(rf"# {number} · \S", first), f"first cell must be the title '# {number} · Topic'"
    assert re.search(r"\|\s*Teaching\s*\|.*minutes", first) and re.search(r"\|\s*Exercises?\s*\|.*minutes", first), "title cell needs the time table (teaching and exercise minutes)"
    text = markdown(nb)
    assert "## You will learn" in text, "missing '## You will learn'"
    assert "## Key points" in text, "missing '## Key points'"
    charts = [o for c in code_cells(nb) for o in c["outputs"] if "image/png" in o.get("data", {})]
    assert charts, "a lesson needs at least one chart drawn from what it measured"
    found = exercises(nb)
    assert len(found) >= (1 if number == "00" else 2), f"expected exercises ('### Exercise {int(number)}.k: ...'), found {found}"
    assert all(e.split(".")[0] == str(int(number)) for e in found), f"exercise numbers must start with {int(number)}: {found}"
    outputs = printed(nb)
    for e in found:
        assert f"Exercise {e} not attempted yet" in outputs, f"Exercise {e}: the lesson must be committed with the stub unattempted and its check run"
    if LESSONS[-1] != path:
        assert re.search(r"\]\((\d\d_[a-z0-9_]+\.ipynb)\)", text.split("## Key points")[-1]), "Key points should end with a link to the next notebook"


@pytest.mark.parametrize("path", LESSONS, ids=names(LESSONS))
def test_solutions_pass_every_exercise(path: Path) -> None:
    solution = ROOT / "notebooks" / "solutions" / path.name.replace(".ipynb", "_solutions.ipynb")
    assert solution.exists(), f"missing {solution.relative_to(ROOT)}"
    outputs = printed(load(solution))
    for e in exercises(load(path)):
        assert f"✅ Exercise {e} passed" in outputs, f"the solution to Exercise {e} does not pass its check"
    assert "❌" not in outputs and "not attempted" not in outputs


MAX_COLUMNS = 100


@pytest.mark.parametrize("path", ALL, ids=names(ALL))
def test_code_lines_fit_in_100_columns(path: Path) -> None:
    """Longer lines scroll sideways in JupyterLab, hiding the end of an assert's message."""
    long = [
        f"code cell {i}, line {n}: {len(line)} columns: {line[:60]}..."
        for i, cell in enumerate(code_cells(load(path)))
        for n, line in enumerate(source(cell).splitlines(), start=1)
        if len(line) > MAX_COLUMNS
    ]
    assert not long, f"{len(long)} code line(s) over {MAX_COLUMNS} columns:\n" + "\n".join(long)


@pytest.mark.parametrize("path", LESSONS, ids=names(LESSONS))
def test_links_between_notebooks_resolve(path: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+\.ipynb)\)", markdown(load(path))):
        assert (path.parent / target).exists(), f"link to {target} does not resolve"


def lesson_minutes(path: Path) -> int:
    first = source(load(path)["cells"][0])
    teaching = re.search(r"\|\s*Teaching\s*\|\s*(\d+)", first)
    exercise = re.search(r"\|\s*Exercises?\s*\|\s*(\d+)", first)
    return int(teaching.group(1)) + int(exercise.group(1))


def course_map(text: str) -> dict[str, int]:
    """{'03': 65, ...} from a markdown table whose rows start '| NN |' and end '| minutes |'."""
    return {nn: int(minutes) for nn, minutes in re.findall(r"^\| (\d\d) \|.*\| (\d+) \|$", text, re.M)}


@pytest.mark.parametrize("where", ["README.md", "notebooks/00_start_here.ipynb"])
def test_course_maps_match_the_lessons(where: str) -> None:
    path = ROOT / where
    text = path.read_text(encoding="utf-8") if path.suffix == ".md" else markdown(load(path))
    expected = {p.name[:2]: lesson_minutes(p) for p in LESSONS}
    assert course_map(text) == expected, f"the course map in {where} must list every lesson with its teaching + exercise minutes"
