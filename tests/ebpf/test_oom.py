"""An OOM kill in a memory-limited cgroup, seen by the helper."""

import subprocess
import sys
import time

from tests.conftest import require
from tests.support.bus import HelperProcess
from tests.support.cgroups import memory_cgroup_available, memory_limited_cgroup
from tests.support.waiting import wait_for

VICTIM_COMM = "st-oom-victim"
# Names itself, waits to be put in the cgroup, then allocates far past the limit.
VICTIM = f"""
import ctypes, sys
ctypes.CDLL(None).prctl(15, b"{VICTIM_COMM}", 0, 0, 0)  # PR_SET_NAME
print("ready", flush=True)
sys.stdin.readline()
hog = bytearray(256 << 20)  # zero-filled: every page is touched
"""


def test_oom_kill_is_in_the_snapshot_within_a_second(ebpf_helper: HelperProcess) -> None:
    problem = memory_cgroup_available()
    require(problem is None, problem or "")
    with memory_limited_cgroup(32 << 20) as procs:
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
            killed = time.monotonic()
            assert victim.returncode == -9  # SIGKILL, from the OOM killer

            def reported() -> dict[str, object] | None:
                kills = ebpf_helper.snapshot()["oom_kills"] or []
                return next((k for k in kills if k["pid"] == victim.pid), None)

            kill = wait_for(reported, 5, "the OOM kill in the snapshot")
            assert time.monotonic() - killed <= 1.0
            assert kill["comm"] == VICTIM_COMM
            assert kill["uid"] == 0
        finally:
            if victim.poll() is None:
                victim.kill()
            victim.communicate()
