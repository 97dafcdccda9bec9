"""New processes are in the snapshot at once, from exec events, not at the next tick."""

import asyncio
import subprocess
import time
from pathlib import Path

from smoothtask_helper.client import HelperClient
from tests.ebpf.conftest import require_ebpf, start_helper
from tests.support.bus import PrivateBus


async def seconds_until_listed(address: str, pid: int, started: float, limit: float) -> float:
    client = await HelperClient.connect(address)
    try:
        while time.monotonic() - started < limit:
            processes = await client.list_processes()
            if any(p["pid"] == pid and p["comm"] == "sleep" for p in processes):
                return time.monotonic() - started
        return float("inf")
    finally:
        client.disconnect()


def test_spawned_process_is_listed_within_200_ms(own_bus: PrivateBus, tmp_path: Path) -> None:
    require_ebpf()
    # a 10 s tick: only the exec event can make the process appear this soon
    helper = start_helper(own_bus, tmp_path, "--interval", "10")
    try:
        helper.wait_ebpf_ready()
        timings = []
        for _ in range(3):
            started = time.monotonic()
            sleeper = subprocess.Popen(["sleep", "30"])
            try:
                timings.append(
                    asyncio.run(seconds_until_listed(own_bus.address, sleeper.pid, started, 2.0))
                )
            finally:
                sleeper.kill()
                sleeper.wait()
        assert max(timings) <= 0.2, f"seconds from spawn to listed: {timings}"
    finally:
        helper.stop()
