"""Every notebook names the same kernel.

JupyterLab shows a notebook's kernelspec display name and offers to switch
when it differs from the installed one; a mix of "Python 3" and
"Python 3 (ipykernel)" made some notebooks ask learners to pick a kernel.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").rglob("*.ipynb"))
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT)) for p in NOTEBOOKS])
def test_every_notebook_names_the_course_kernel(path: Path) -> None:
    kernelspec = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("kernelspec")
    assert kernelspec == KERNELSPEC, f"kernelspec is {kernelspec}; set it to {KERNELSPEC} (the name ipykernel installs)"
