"""Shared test setup.

Before any notebook runs, build matplotlib's font cache once: on a fresh
machine the first import prints "Matplotlib is building the font cache" to
stderr, and nbval (rightly) treats unexpected stderr as a changed output.
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def pytest_configure(config) -> None:
    subprocess.run([sys.executable, "-c", "import matplotlib.pyplot"], check=False, capture_output=True)


@pytest.fixture(scope="session")
def lab():
    """The local services, started once for the whole test session."""
    from helpers import lab as lab_module

    running = lab_module.start_blocking()
    yield running
    lab_module.stop()
