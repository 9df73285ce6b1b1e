"""Sample the memory and CPU of a kernel, its services process and its other children.

Two measures: RSS (resident memory, what `top` shows) per part, and PSS for
the whole tree (proportional set size: a page shared by n processes counts 1/n
in each, so the sum over many kernels is what the host really needs; Linux
only, RSS elsewhere).  Forked pool workers share most pages with their kernel,
and every kernel shares Python's libraries with the others, so summing RSS
overstates a classroom's need.

A kernel's process tree is: the kernel; the course services it started
(``python -m helpers.services``, a child in its own session); anything else it
started (process-pool workers, subprocesses).  The sampler keeps the peak of
each part, because a classroom host must fit the peaks, not the averages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psutil

MB = 1024 * 1024


def _pss(process: psutil.Process, rss: int) -> int:
    """PSS where the OS reports it (Linux), else RSS."""
    try:
        return getattr(process.memory_full_info(), "pss", rss)
    except (psutil.Error, OSError):
        return rss


def is_services(process: psutil.Process) -> bool:
    """True for the course's services process (started by helpers.lab)."""
    try:
        return "helpers.services" in " ".join(process.cmdline())
    except (psutil.Error, OSError):
        return False


@dataclass
class TreeUsage:
    """Peaks for one kernel's process tree, in bytes and CPU seconds."""

    kernel_peak: int = 0
    services_peak: int = 0
    others_peak: int = 0  # the largest sum of the other children at one moment
    total_peak: int = 0  # kernel + services + others at one moment (RSS)
    pss_peak: int = 0  # the same tree's PSS at one moment
    cpu_seconds: float = 0.0  # the whole tree, children that already ended included
    samples: int = 0
    _procs: dict[int, psutil.Process] = field(default_factory=dict, repr=False)
    _services: dict[int, bool] = field(default_factory=dict, repr=False)

    def sample(self, pid: int) -> int:
        """Measure the tree under `pid` now; return its current total PSS (0 if it is gone)."""
        try:
            kernel = self._process(pid)
            with kernel.oneshot():
                rss = kernel.memory_info().rss
                pss = _pss(kernel, rss)
                times = kernel.cpu_times()
            children = kernel.children(recursive=True)
        except (psutil.Error, OSError):
            return 0
        cpu = times.user + times.system + getattr(times, "children_user", 0) + getattr(times, "children_system", 0)
        services = others = 0
        for child in children:
            try:
                child = self._procs.setdefault(child.pid, child)
                child_rss = child.memory_info().rss
                pss += _pss(child, child_rss)
                child_times = child.cpu_times()
            except (psutil.Error, OSError):
                continue
            cpu += child_times.user + child_times.system
            if self._services.setdefault(child.pid, is_services(child)):
                services += child_rss
            else:
                others += child_rss
        self.kernel_peak = max(self.kernel_peak, rss)
        self.services_peak = max(self.services_peak, services)
        self.others_peak = max(self.others_peak, others)
        self.total_peak = max(self.total_peak, rss + services + others)
        self.pss_peak = max(self.pss_peak, pss)
        self.cpu_seconds = max(self.cpu_seconds, cpu)
        self.samples += 1
        return pss

    def _process(self, pid: int) -> psutil.Process:
        if pid not in self._procs:
            self._procs[pid] = psutil.Process(pid)
        return self._procs[pid]
