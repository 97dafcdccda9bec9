"""Processes that tests start (and always end): busy loops, sleepers."""

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from smoothtask_helper.collectors.procfs import format_ionice

BUSY_LOOP = "while True: pass"


def spawn(code: str, *, cpu: int | None = None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", code]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    return subprocess.Popen(cmd)


def end(proc: subprocess.Popen[Any]) -> None:
    """Kill the process and every process it started (orphans must not outlive a test)."""
    if proc.poll() is None:
        try:
            descendants = psutil.Process(proc.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        proc.send_signal(signal.SIGKILL)
        for child in descendants:
            with contextlib.suppress(psutil.Error):
                child.kill()
    proc.wait(timeout=10)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


@contextmanager
def started(*procs: subprocess.Popen[bytes]) -> Iterator[list[subprocess.Popen[bytes]]]:
    try:
        yield list(procs)
    finally:
        for proc in procs:
            end(proc)


def stat_fields(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the comm, as in proc_pid_stat(5) from field 3."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    fields = stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SLEEP_FOREVER = "import time\nwhile True: time.sleep(60)"
_NAMES = Path(tempfile.gettempdir()) / f"smoothtask-test-names-{os.getpid()}"


def named_python(name: str) -> str:
    """A path that runs the system Python under ``name``: the kernel takes a process's
    comm from the name it was started by, so rules see e.g. ``cc1plus``. The folder is
    reachable by other users (test users run these too) and removed at exit."""
    if not _NAMES.exists():
        _NAMES.mkdir(mode=0o755)
        _NAMES.chmod(0o755)
        atexit.register(shutil.rmtree, _NAMES, True)
    link = _NAMES / name
    if not link.exists():
        link.symlink_to(SYSTEM_PYTHON)
    return str(link)


SYSTEM_PYTHON = "/usr/bin/python3"  # reachable by every user, unlike a venv under /root


def spawn_as(
    name: str,
    code: str = SLEEP_FOREVER,
    *,
    user: str | None = None,
    nice: int = 0,
    ionice: tuple[int, int] | None = None,
    new_session: bool = False,
    cgroup_procs: Path | None = None,
    stdin: int | None = None,
    stdout: int | None = None,
) -> subprocess.Popen[Any]:
    """A Python process named ``name`` (its comm), as ``user``, with a start nice and
    ionice, optionally in a new session (its own autogroup) or a cgroup from the start."""

    def prepare() -> None:  # runs in the child before exec, already as ``user``
        if cgroup_procs is not None:
            cgroup_procs.write_text(str(os.getpid()))
        if nice:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        if ionice is not None:
            ioclass, level = ionice
            if ioclass == psutil.IOPRIO_CLASS_BE:
                psutil.Process().ionice(ioclass, level)
            else:
                psutil.Process().ionice(ioclass)

    kwargs: dict[str, object] = {}
    if stdin is not None or stdout is not None:
        kwargs = {"stdin": stdin, "stdout": stdout, "text": True}
    if user is not None:
        entry = pwd.getpwnam(user)
        kwargs |= {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    return subprocess.Popen(  # type: ignore[call-overload,no-any-return]
        [named_python(name), "-c", code],
        preexec_fn=prepare,  # noqa: PLW1509  # single-threaded test process; no locks held
        start_new_session=new_session,
        cwd="/",
        **kwargs,
    )


def nice_of(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def ionice_of(pid: int) -> str:
    io = psutil.Process(pid).ionice()
    return format_ionice(int(io.ioclass), int(io.value))


def thread_ids(pid: int) -> list[int]:
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
