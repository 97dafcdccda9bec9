"""An OOM kill in a memory-limited cgroup, seen by the helper."""

import time

from tests.conftest import require
from tests.support.bus import HelperProcess
from tests.support.cgroups import (
    VICTIM_COMM,
    memory_cgroup_available,
    memory_limited_cgroup,
    oom_kill_a_victim,
)
from tests.support.waiting import wait_for


def test_oom_kill_is_in_the_snapshot_within_a_second(ebpf_helper: HelperProcess) -> None:
    problem = memory_cgroup_available()
    require(problem is None, problem or "")
    with memory_limited_cgroup(32 << 20) as procs:
        victim = oom_kill_a_victim(procs)
        assert victim.returncode == -9  # SIGKILL, from the OOM killer

        def reported() -> dict[str, object] | None:
            kills = ebpf_helper.snapshot()["oom_kills"] or []
            return next((k for k in kills if k["pid"] == victim.pid), None)

        kill = wait_for(reported, 5, "the OOM kill in the snapshot")
        assert time.monotonic() - victim.killed <= 1.0
        assert kill["comm"] == VICTIM_COMM
        assert kill["uid"] == 0
