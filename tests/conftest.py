"""Shared test setup.

Before any notebook runs, build matplotlib's font cache once: on a fresh
machine the first import prints "Matplotlib is building the font cache" to
stderr, and nbval (rightly) treats unexpected stderr as a changed output.

Every check records its result in the learner's progress file; during the tests
that file is a temporary one (nbval's kernels inherit the environment), so a
test run never writes to a real home folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest


_progress_dir = tempfile.mkdtemp(prefix="course-progress-test-")
os.environ["COURSE_PROGRESS_FILE"] = os.path.join(_progress_dir, "progress.json")


def pytest_unconfigure(config) -> None:
    shutil.rmtree(_progress_dir, ignore_errors=True)


def pytest_configure(config) -> None:
    subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], check=False, capture_output=True)


@pytest.fixture(scope="session")
def lab():
    """The local services, started once for the whole test session."""
    from helpers import lab as lab_module

    running = lab_module.start_blocking()
    yield running
    lab_module.stop()
