"""Starting and stopping the services (helpers/lab.py, helpers/services/__main__.py, server.py).

The most important promise: when the kernel that started the services dies,
however it dies, the services die with it and free their ports.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import httpx
import pytest

from helpers import lab as lab_module
from helpers.lab import Lab, LabError

REPO = Path(__file__).resolve().parent.parent
GONE_TIMEOUT = 10.0

KERNEL = textwrap.dedent(
    """
    import json, sys, time
    import helpers.lab
    lab = helpers.lab.start_blocking()
    print(json.dumps({"pid": lab.pid, "api": lab.api, "site": lab.site}), flush=True)
    time.sleep(float(sys.argv[1]))
    """
)


# --- helpers for these tests -------------------------------------------------------------


def read_line(stream, timeout: float) -> str:
    """One line from a pipe, or '' if none arrives in time (never hangs the suite)."""
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    line = box[0] if box else ""
    return line.decode() if isinstance(line, bytes) else line


def is_gone(pid: int) -> bool:
    """True once `pid` is no longer a running services process (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return state in ("Z", "X") or b"helpers.services" not in cmdline  # exited, or the pid was reused


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def wait_for(condition, timeout: float = GONE_TIMEOUT) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"still not true after {timeout:g} s")
        time.sleep(0.05)
    return time.monotonic() - started


def answers(api: str) -> bool:
    with httpx.Client(timeout=5) as client:
        return client.get(api + "/uuid").status_code == 200


def start_kernel(tmp_path: Path, sleep: float) -> tuple[subprocess.Popen, dict]:
    """A kernel-like parent process that starts the services and then idles."""
    env = dict(os.environ, TMPDIR=str(tmp_path))  # its private temp dir lands here, even if it is killed
    parent = subprocess.Popen(
        [sys.executable, "-c", KERNEL, str(sleep)], cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    line = read_line(parent.stdout, 60)
    if not line:
        parent.kill()
        error = parent.stderr.read().decode()[-2000:]
        reap(parent)
        pytest.fail(f"the kernel-like process printed nothing; stderr: {error}")
    return parent, json.loads(line)


def reap(proc: subprocess.Popen) -> None:
    """Kill if still running, wait, and close its pipes (no ResourceWarning later, whatever the test did)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def fake_python(tmp_path: Path, script: str) -> Path:
    """An executable that stands in for sys.executable when the services are spawned."""
    path = tmp_path / "fake-python"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def own_lab(lab, monkeypatch):
    """Let a test start and stop services of its own without touching the session's lab.

    Every process spawned meanwhile is reaped afterwards, pipes included, even when helpers.lab gives up on it.
    """
    monkeypatch.setattr(lab_module, "_lab", None)
    spawned: list[subprocess.Popen] = []

    class RecordingPopen(subprocess.Popen):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            spawned.append(self)

    monkeypatch.setattr(subprocess, "Popen", RecordingPopen)
    yield spawned
    monkeypatch.undo()  # the session lab is the module's current lab again
    for proc in spawned:
        reap(proc)


# --- one lab per process ------------------------------------------------------------------


def test_start_twice_returns_the_same_running_lab(lab):
    assert lab_module.start_blocking() is lab
    assert asyncio.run(lab_module.start()) is lab
    assert lab.running
    assert answers(lab.api)


def test_lab_urls_and_text(lab):
    assert lab.api.startswith("http://127.0.0.1:") and lab.site.startswith("http://127.0.0.1:")
    assert lab.api != lab.site
    assert lab.url("/delay/1") == lab.api + "/delay/1"
    assert lab.url("uuid") == lab.api + "/uuid"
    assert str(lab) == f"JSON API at {lab.api}, website at {lab.site}"
    assert "process" not in repr(lab)
    assert lab.log.name == "services.log"


def test_service_memory_is_small(lab):
    mb = lab.memory_mb()
    print(f"\nservice process RSS: {mb:.1f} MB")
    assert mb is not None and 10 < mb < 120, f"the services use {mb} MB"


def test_memory_of_a_gone_process_is_none(lab):
    ghost = Lab(api=lab.api, site=lab.site, pid=2**22 + 12345, process=lab.process, log=lab.log)
    assert ghost.memory_mb() is None


# --- stopping -----------------------------------------------------------------------------


def test_stop_stops_the_services_and_frees_the_ports(own_lab):
    second = lab_module.start_blocking()
    assert answers(second.api)
    assert lab_module.start_blocking() is second
    lab_module.stop()
    assert not second.running
    assert is_gone(second.pid)
    assert refused(port_of(second.api)) and refused(port_of(second.site))
    with pytest.raises(LabError, match=r"did not answer.*helpers\.lab\.start\(\)"):
        second.gauge()
    lab_module.stop()  # stopping again is harmless


def test_dead_services_are_restarted_by_start(own_lab):
    first = lab_module.start_blocking()
    first.process.kill()
    first.process.wait(5)
    assert not first.running
    again = lab_module.start_blocking()
    assert again is not first and again.pid != first.pid
    assert answers(again.api)
    lab_module.stop()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_kernel_leaves_no_server_behind(tmp_path, how):
    parent, ready = start_kernel(tmp_path, sleep=60)
    pid = ready["pid"]
    try:
        assert pid != parent.pid
        assert not is_gone(pid)
        assert answers(ready["api"])
        parent.send_signal(how)
        parent.wait(10)
        took = wait_for(lambda: is_gone(pid))
        wait_for(lambda: refused(port_of(ready["api"])) and refused(port_of(ready["site"])))
        print(f"\nservices gone {took:.2f} s after the kernel got {how.name}")
    finally:
        reap(parent)
        if not is_gone(pid):
            os.kill(pid, signal.SIGKILL)


KERNEL_WITH_POOL = textwrap.dedent(
    """
    import json, multiprocessing, os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    import helpers.lab
    lab = helpers.lab.start_blocking()
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
    assert list(pool.map(abs, [-1, -2])) == [1, 2]  # the workers are up and working
    workers = sorted(pool._processes)
    print(json.dumps({"pid": lab.pid, "api": lab.api, "site": lab.site, "workers": workers}), flush=True)
    time.sleep(float(sys.argv[1]))
    """
)


def start_kernel_with_pool(tmp_path: Path) -> tuple[subprocess.Popen, dict]:
    """A kernel-like parent with the services AND a fork-context process pool open."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    parent = subprocess.Popen(
        [sys.executable, "-c", KERNEL_WITH_POOL, "60"], cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    line = read_line(parent.stdout, 60)
    if not line:
        parent.kill()
        error = parent.stderr.read().decode()[-2000:]
        reap(parent)
        pytest.fail(f"the kernel-like process printed nothing; stderr: {error}")
    return parent, json.loads(line)


def pid_gone(pid: int) -> bool:
    """True once `pid` no longer runs (a zombie counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(sys.platform != "linux", reason="fork-context pools and /proc are Linux things")
def test_sigkilled_kernel_with_a_forked_pool_leaves_no_server_and_no_worker_behind(tmp_path):
    """The idle culler or the OOM killer SIGKILLs a kernel that had a fork-context pool open.

    The forked workers inherited the kernel's end of the lifeline pipe, so the pipe does not close:
    the services must still exit within seconds, and the orphaned workers must not linger either.
    """
    parent, ready = start_kernel_with_pool(tmp_path)
    pid, workers = ready["pid"], ready["workers"]
    try:
        assert len(workers) == 2 and not any(pid_gone(w) for w in workers)
        assert answers(ready["api"])
        parent.kill()
        parent.wait(10)
        took = wait_for(lambda: is_gone(pid))
        wait_for(lambda: refused(port_of(ready["api"])) and refused(port_of(ready["site"])))
        wait_for(lambda: all(pid_gone(w) for w in workers))
        print(f"\nservices gone {took:.2f} s after the kernel with a forked pool got SIGKILL")
    finally:
        reap(parent)
        for leftover in [pid, *workers]:
            if not pid_gone(leftover):
                os.kill(leftover, signal.SIGKILL)


KERNEL_LEAKING_THE_LIFELINE = textwrap.dedent(
    """
    import json, subprocess, sys, time
    import helpers.lab
    lab = helpers.lab.start_blocking()
    # a child made below Python's fork hooks (here: exec'd with the fd passed on) keeps the pipe open
    holder = subprocess.Popen(["sleep", "60"], pass_fds=[lab.process.stdin.fileno()])
    print(json.dumps({"pid": lab.pid, "api": lab.api, "site": lab.site, "holder": holder.pid}), flush=True)
    time.sleep(60)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="the parent-pid backup watch is POSIX only")
def test_services_exit_even_when_someone_else_holds_the_lifeline_open(tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    parent = subprocess.Popen(
        [sys.executable, "-c", KERNEL_LEAKING_THE_LIFELINE], cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    ready = json.loads(read_line(parent.stdout, 60) or "{}")
    pid, holder = ready.get("pid"), ready.get("holder")
    try:
        assert pid and holder, parent.stderr.read().decode()[-2000:]
        parent.kill()
        parent.wait(10)
        took = wait_for(lambda: is_gone(pid))
        assert refused(port_of(ready["api"])) and refused(port_of(ready["site"]))
        assert not pid_gone(holder), "the holder is still there: the pipe really stayed open"
        print(f"\nservices gone {took:.2f} s after the kernel died, lifeline still held open elsewhere")
    finally:
        reap(parent)
        for leftover in (pid, holder):
            if leftover and not pid_gone(leftover):
                os.kill(leftover, signal.SIGKILL)


KERNEL_DYING_AT_ONCE = textwrap.dedent(
    """
    import json, os, subprocess, sys
    read_end, write_end = os.pipe()
    command = [sys.executable, "-m", "helpers.services", "--api-port", "0", "--site-port", "0",
               "--lifeline", "--parent-pid", str(os.getpid())]
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    services = subprocess.Popen(command, stdin=read_end, start_new_session=True, **quiet)
    holder = subprocess.Popen(["sleep", "60"], pass_fds=[write_end], **quiet)  # keeps the lifeline open
    print(json.dumps({"pid": services.pid, "holder": holder.pid}), flush=True)
    os._exit(0)  # the kernel dies before the services have even started watching it
    """
)


@pytest.mark.skipif(os.name != "posix", reason="the parent-pid backup watch is POSIX only")
def test_services_exit_when_the_kernel_died_before_they_started_watching(tmp_path):
    """A race seen under load (1 run in 12 with the CPU busy): the services read their parent pid
    only after the kernel had died, got init's, and waited for it to change forever. Now the
    kernel passes its own pid; a kernel already gone when the watch starts counts as gone."""
    out = subprocess.run([sys.executable, "-c", KERNEL_DYING_AT_ONCE], cwd=REPO, capture_output=True, text=True, timeout=60)
    ready = json.loads(out.stdout)
    try:
        wait_for(lambda: is_gone(ready["pid"]), timeout=GONE_TIMEOUT + 10)  # includes the services' start-up
    finally:
        for leftover in (ready["pid"], ready["holder"]):
            if not pid_gone(leftover):
                os.kill(leftover, signal.SIGKILL)


def test_lab_tells_the_services_its_pid(own_lab):
    lab_module.start_blocking()
    (child,) = own_lab
    args = list(child.args)
    assert args[args.index("--parent-pid") + 1] == str(os.getpid())
    lab_module.stop()


@pytest.mark.skipif(sys.platform != "linux", reason="fork-context pools are a POSIX thing")
def test_forked_child_does_not_hold_the_lifeline_open(tmp_path):
    """A child forked by the kernel closes its inherited copy of the lifeline at once."""
    script = textwrap.dedent(
        """
        import os, stat, sys
        import helpers.lab
        lab = helpers.lab.start_blocking()
        fd = lab.process.stdin.fileno()
        assert stat.S_ISFIFO(os.fstat(fd).st_mode)
        pid = os.fork()
        if pid == 0:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                os._exit(3)  # still the pipe in the child: the lifeline cannot close when the kernel dies
            os._exit(0 if helpers.lab.current() is None else 4)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status), lab.running, flush=True)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=dict(os.environ, TMPDIR=str(tmp_path)), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "True"], "the forked child kept the lifeline open (3) or thought it owned the lab (4)"


def test_killed_kernel_with_a_request_in_flight_still_stops_the_services(tmp_path):
    """A 100-line stream (or a /delay/10) must not keep a dead kernel's services alive."""
    parent, ready = start_kernel(tmp_path, sleep=60)
    pid = ready["pid"]
    try:
        with httpx.Client(timeout=30) as client:
            with client.stream("GET", ready["api"] + "/stream/100?interval=1") as response:
                assert response.status_code == 200
                parent.kill()
                parent.wait(10)
                took = wait_for(lambda: is_gone(pid))
        print(f"\nservices gone {took:.2f} s after SIGKILL, with a stream in flight")
    finally:
        reap(parent)
        if not is_gone(pid):
            os.kill(pid, signal.SIGKILL)


def test_killed_kernel_leaves_no_temp_dir_behind(tmp_path):
    parent, ready = start_kernel(tmp_path, sleep=60)
    try:
        parent.kill()
        parent.wait(10)
        wait_for(lambda: is_gone(ready["pid"]))
        next_kernel = "from helpers.tempdir import kernel_tempdir; kernel_tempdir()"
        subprocess.run([sys.executable, "-c", next_kernel], cwd=REPO, env=dict(os.environ, TMPDIR=str(tmp_path)), timeout=60, check=True)
        assert list(tmp_path.glob("asyncio-course-*")) == []
    finally:
        reap(parent)
        if not is_gone(ready["pid"]):
            os.kill(ready["pid"], signal.SIGKILL)


def test_normal_exit_stops_the_services(tmp_path):
    parent, ready = start_kernel(tmp_path, sleep=0)
    try:
        assert parent.wait(15) == 0
        assert parent.stderr.read() == b""
    finally:
        reap(parent)
    wait_for(lambda: is_gone(ready["pid"]), timeout=5)  # atexit already waited for it; this is immediate
    assert refused(port_of(ready["api"])) and refused(port_of(ready["site"]))
    assert list(tmp_path.iterdir()) == [], "the private temp dir is removed at exit"


# --- failure to start ---------------------------------------------------------------------


def test_child_that_cannot_start_raises_laberror_with_the_log(own_lab, tmp_path, monkeypatch):
    exe = fake_python(tmp_path, 'echo "ModuleNotFoundError: No module named aiohttp (simulated)" >&2\nexit 1')
    monkeypatch.setattr(sys, "executable", str(exe))
    started = time.monotonic()
    with pytest.raises(LabError) as info:
        lab_module.start_blocking()
    assert time.monotonic() - started < 10, "a child that dies at once must not make us wait for the full timeout"
    assert "did not start" in str(info.value)
    assert "No module named aiohttp (simulated)" in str(info.value)
    assert len(own_lab) == 1 and own_lab[0].returncode is not None  # the child was waited for


def test_child_that_hangs_raises_laberror_after_the_timeout(own_lab, tmp_path, monkeypatch):
    pid_file = tmp_path / "pid"
    exe = fake_python(tmp_path, f'echo $$ > {pid_file}\necho "still importing..." >&2\nexec sleep 30')
    monkeypatch.setattr(sys, "executable", str(exe))
    monkeypatch.setattr(lab_module, "START_TIMEOUT", 1.0)
    with pytest.raises(LabError, match=r"did not start within 1 s(.|\n)*still importing"):
        lab_module.start_blocking()
    pid = int(pid_file.read_text())
    assert own_lab[0].pid == pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped, not left behind


def test_child_that_prints_garbage_raises_laberror(own_lab, tmp_path, monkeypatch):
    exe = fake_python(tmp_path, "echo 'Welcome to the services!'\nexec sleep 30")
    monkeypatch.setattr(sys, "executable", str(exe))
    with pytest.raises(LabError):
        lab_module.start_blocking()
    (child,) = own_lab
    assert child.poll() is not None, "the child that printed garbage must not be left running"


# --- python -m helpers.services -------------------------------------------------------------


def test_module_prints_urls_serves_and_stops_on_ctrl_c():
    proc = subprocess.Popen(
        [sys.executable, "-m", "helpers.services", "--api-port", "0", "--site-port", "0"],
        cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = [read_line(proc.stdout, 60) for _ in range(4)]
        assert lines[0].startswith("JSON API:  http://127.0.0.1:"), lines
        assert lines[1].startswith("Website:   http://127.0.0.1:"), lines
        assert lines[2].startswith("Gauge:     http://127.0.0.1:") and "/gauge" in lines[2]
        assert lines[3].strip() == "Press Ctrl+C to stop."
        api = lines[0].split()[2].rstrip("/")
        site = lines[1].split()[1].rstrip("/")
        assert answers(api)
        with httpx.Client(timeout=5) as client:
            assert "Loopback News" in client.get(site + "/").text
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "Stopped." in out
        assert err == ""
        assert refused(port_of(api))
    finally:
        reap(proc)


def test_module_reports_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "helpers.services", "--api-port", str(port), "--site-port", "0"],
            cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        )
    assert out.returncode == 1
    assert "Could not start the services" in out.stderr
    assert "--api-port 0 --site-port 0" in out.stderr
    assert "Traceback" not in out.stderr


def test_module_help(capsys):
    from helpers.services.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--api-port" in out and "--site-port" in out and "0 = any free port" in out
    assert "--lifeline" not in out
