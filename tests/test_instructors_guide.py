"""docs/instructors.md stays in step with the lessons it schedules.

The guide's lesson table repeats each notebook's teaching and exercise minutes
and prerequisites; when a lesson changes, this test says which row to update.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = (ROOT / "docs" / "instructors.md").read_text(encoding="utf-8")
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def title_table(path: Path) -> tuple[int, int]:
    first = "".join(json.loads(path.read_text(encoding="utf-8"))["cells"][0]["source"])
    teaching = re.search(r"\| Teaching \| (\d+) minutes", first)
    exercise = re.search(r"\| Exercises? \| (\d+) minutes", first)
    assert teaching and exercise, f"{path.name}: no Teaching/Exercise minutes in the title table"
    return int(teaching[1]), int(exercise[1])


def guide_rows() -> dict[str, tuple[int, int, int]]:
    """{'03': (teaching, exercises, total)} from the guide's lesson table."""
    rows = re.findall(r"^\| (\d\d) \| [^|]+ \| (\d+) \| (\d+) \([^)]*\) \| \*\*(\d+)\*\* \|", GUIDE, re.M)
    return {nn: (int(t), int(e), int(total)) for nn, t, e, total in rows}


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_guide_lists_each_lesson_with_its_own_minutes(path: Path) -> None:
    teaching, exercise = title_table(path)
    row = guide_rows().get(path.name[:2])
    assert row == (teaching, exercise, teaching + exercise), (
        f"docs/instructors.md: the row for {path.name} should read Teaching {teaching}, Exercises {exercise}, "
        f"total {teaching + exercise} (it reads {row}); update the schedules too"
    )


def test_the_guide_teaches_02_before_03() -> None:
    row = next((line for line in GUIDE.splitlines() if line.startswith("| 03 | gather and friends |")), "")
    assert row.rstrip().endswith("| **02** |"), f"the guide's row for 03 must name 02 as what it needs first: {row!r}"
    three_hour = GUIDE.split("### 3-hour workshop", 1)[1].split("###", 1)[0]
    assert three_hour.index("**02 ") < three_hour.index("**03 ")


def test_the_nbgitpuller_link_opens_notebook_00_inside_the_cloned_folder() -> None:
    link = re.search(r"https://HUB\.example\.org/hub/user-redirect/git-pull\?\S+?(?=\s|`|$)", GUIDE, re.M)
    assert link, "the guide should show the nbgitpuller link"
    query = parse_qs(urlparse(link[0]).query)
    assert query["repo"] == ["https://github.com/OWNER/REPO"]
    assert query["urlpath"] == ["lab/tree/REPO/notebooks/00_start_here.ipynb"]
    assert query["branch"] == ["main"]
    assert (ROOT / "notebooks" / "00_start_here.ipynb").exists()


def test_the_offline_install_commands_include_setuptools() -> None:
    assert 'pip download "setuptools>=77" -d wheelhouse' in GUIDE
    assert "pip install --no-index --find-links wheelhouse -r requirements.txt" in GUIDE
    build = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'requires = ["setuptools>=77"]' in build, "the wheelhouse commands name the build requirement of pyproject.toml"


def test_the_link_snippet_in_the_guide_prints_the_link_the_guide_shows(capsys) -> None:
    snippet = re.search(r"```python\n(from urllib.parse import.*?)```", GUIDE, re.S)
    assert snippet, "the guide should show how to build the link in Python"
    exec(snippet[1], {})
    printed = capsys.readouterr().out.strip()
    assert f"\n{printed}\n" in GUIDE, "the link printed by the snippet should appear verbatim in the guide"
