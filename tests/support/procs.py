"""Processes that tests start (and always end): busy loops, sleepers."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

BUSY_LOOP = "while True: pass"


def spawn(code: str, *, cpu: int | None = None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", code]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    return subprocess.Popen(cmd)


def end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
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
