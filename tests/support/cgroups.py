"""A memory-limited cgroup for provoking an OOM kill safely (v1 or v2, whichever has the
memory controller), removed again afterwards; and a victim to be killed in it."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

V1_MEMORY = Path("/sys/fs/cgroup/memory")


def _v2_with_memory() -> Path | None:
    with open("/proc/mounts") as mounts:
        for line in mounts:
            _dev, mount, fstype, *_ = line.split()
            controllers = Path(mount) / "cgroup.controllers"
            if fstype != "cgroup2" or not controllers.exists():
                continue
            if "memory" in controllers.read_text().split():
                return Path(mount)
    return None


def memory_cgroup_available() -> str | None:
    """None if a memory-limited cgroup can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    if (V1_MEMORY / "memory.limit_in_bytes").exists() or _v2_with_memory() is not None:
        return None
    return "no cgroup hierarchy with the memory controller"


@contextlib.contextmanager
def memory_limited_cgroup(limit_bytes: int) -> Iterator[Path]:
    """Yields the cgroup's procs file: write a pid there to put it in."""
    name = f"smoothtask-test-{os.getpid()}"
    if (V1_MEMORY / "memory.limit_in_bytes").exists():
        group = V1_MEMORY / name
        group.mkdir()
        (group / "memory.limit_in_bytes").write_text(str(limit_bytes))
        with contextlib.suppress(OSError):  # no swap accounting: no swap to escape to either
            (group / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
    else:
        root = _v2_with_memory()
        assert root is not None
        group = root / name
        group.mkdir()
        (group / "memory.max").write_text(str(limit_bytes))
        with contextlib.suppress(OSError):
            (group / "memory.swap.max").write_text("0")
    procs = group / "cgroup.procs"
    try:
        yield procs
    finally:
        for pid in procs.read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        for _ in range(100):  # a cgroup can be removed once its last process is reaped
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.05)


VICTIM_COMM = "st-oom-victim"
# Names itself, waits to be put in the cgroup, then allocates far past the limit.
VICTIM = f"""
import ctypes, sys
ctypes.CDLL(None).prctl(15, b"{VICTIM_COMM}", 0, 0, 0)  # PR_SET_NAME
print("ready", flush=True)
sys.stdin.readline()
hog = bytearray(256 << 20)  # zero-filled: every page is touched
"""


@dataclass(frozen=True)
class OomKill:
    pid: int
    returncode: int  # -9: SIGKILL, from the OOM killer
    killed: float  # time.monotonic() when it was reaped


def oom_kill_a_victim(procs: Path) -> OomKill:
    """Start a victim, put it in the cgroup whose procs file this is, and let it allocate
    past the limit; returns once the kernel has killed it."""
    victim = subprocess.Popen(
        [sys.executable, "-c", VICTIM], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert victim.stdin is not None and victim.stdout is not None
    try:
        assert victim.stdout.readline().strip() == "ready"
        procs.write_text(str(victim.pid))
        victim.stdin.write("go\n")
        victim.stdin.flush()
        victim.wait(30)
        return OomKill(victim.pid, victim.returncode, time.monotonic())
    finally:
        if victim.poll() is None:
            victim.kill()
        victim.communicate()
