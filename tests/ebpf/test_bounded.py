"""20,000 short-lived processes: the maps stay within their configured sizes, entries of
exited processes are freed, and the helper's memory stays put."""

import subprocess
import threading
from pathlib import Path

from tests.ebpf.conftest import require_ebpf, start_helper
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.waiting import wait_for

PROCESSES = 20_000
MAX_PROCESSES, MAX_TASKS = 256, 512


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def map_sizes(helper: HelperProcess) -> dict[str, dict[str, int]]:
    maps: dict[str, dict[str, int]] = helper.status()["ebpf"]["maps"]
    return maps


def test_twenty_thousand_short_lived_processes(own_bus: PrivateBus, tmp_path: Path) -> None:
    require_ebpf()
    helper = start_helper(
        own_bus,
        tmp_path,
        "--bpf-max-processes",
        str(MAX_PROCESSES),
        "--bpf-max-tasks",
        str(MAX_TASKS),
    )
    try:
        helper.wait_ebpf_ready()
        maps = map_sizes(helper)
        assert maps["proc_stats"]["max_entries"] == MAX_PROCESSES
        assert maps["enqueued"]["max_entries"] == MAX_TASKS
        rss_before = rss_bytes(helper.pid)

        storm = subprocess.Popen(
            ["bash", "-c", f"for ((i=0; i<{PROCESSES}; i++)); do /bin/true; done"]
        )
        peaks: dict[str, int] = {}
        done = threading.Event()

        def watch() -> None:  # map sizes while the storm runs, through the helper's status
            while not done.wait(1.0):
                for name, figures in map_sizes(helper).items():
                    peaks[name] = max(peaks.get(name, 0), figures["entries"])

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            assert storm.wait(300) == 0
        finally:
            done.set()
            watcher.join()

        final = map_sizes(helper)
        for name, figures in final.items():
            assert peaks.get(name, 0) <= figures["max_entries"], name
            assert figures["entries"] <= figures["max_entries"], name

        # The 20,000 are gone, and so are their entries: freed (by the kernel-side hook,
        # and the sweep every 10 samples for the few runs the kernel skipped), not merely
        # evicted when the map is full. Other processes come and go meanwhile: a margin.
        def freed() -> bool:
            alive = len(helper.snapshot()["processes"])
            return map_sizes(helper)["proc_stats"]["entries"] <= alive + 16

        wait_for(freed, 25, "the entries of exited processes to be freed")
        growth = rss_bytes(helper.pid) - rss_before
        assert growth < 20 * 1024 * 1024, f"helper RSS grew by {growth / 2**20:.1f} MiB"
        status = helper.status()
        assert isinstance(status["ebpf"]["lost_events"], int)  # counted and reported
        assert helper.proc is not None and helper.proc.poll() is None
    finally:
        helper.stop()
