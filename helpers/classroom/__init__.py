"""The classroom check: K kernels at once, each running a notebook, before the workshop day.

    python -m helpers.classroom --kernels 20 notebooks/01_blocking_vs_nonblocking.ipynb

An instructor runs this on the JupyterHub host (or any machine sized like it)
to learn, before sixty people arrive, whether K learners running the same
lesson at the same moment all get through it, how long it takes them, and how
much memory each learner costs: the kernel, its services process and any other
children (process-pool workers in notebook 08).

Each kernel runs its own temporary copy of the notebook (the original is never
written), under a per-kernel timeout.  A kernel fails when a cell raises (other
than cells tagged ``raises-exception``), when a check cell prints a ❌ line,
when the kernel dies, or when it runs out of time.  The exit code is 1 when any
kernel failed, 2 for bad arguments, 0 otherwise.

Modules: ``memory`` samples processes, ``runner`` executes the notebooks,
``report`` prints the table, ``__main__`` is the command line.
"""

from __future__ import annotations

from helpers.classroom.report import Summary, render, summarise
from helpers.classroom.runner import KernelRun, run_classroom

__all__ = ["KernelRun", "Summary", "render", "run_classroom", "summarise"]
