"""Run-queue wait and on-CPU time against the kernel's own counters (/proc/<pid>/schedstat)."""

import os
import time

import pytest

from smoothtask_helper.collectors.ebpf import EbpfCollector, KernelReading
from tests.support.bus import HelperProcess
from tests.support.procs import BUSY_LOOP, spawn, started
from tests.support.waiting import wait_for


def schedstat(pid: int) -> tuple[int, int]:
    """(on-CPU ns, run-queue wait ns) of the task, as the scheduler counts them."""
    with open(f"/proc/{pid}/schedstat") as f:
        oncpu, wait, _slices = f.read().split()
    return int(oncpu), int(wait)


def figures(reading: KernelReading, pid: int) -> tuple[int, int]:
    stats = reading.per_pid.get(pid)
    if stats is None:
        return 0, 0
    assert stats.oncpu_ns is not None and stats.runqueue_wait_ns is not None
    return stats.oncpu_ns, stats.runqueue_wait_ns


def test_two_hogs_on_one_cpu_match_schedstat(collector: EbpfCollector) -> None:
    with started(spawn(BUSY_LOOP, cpu=0), spawn(BUSY_LOOP, cpu=0)) as hogs:
        time.sleep(0.5)  # both running and contending
        before = collector.read()
        kernel_before = {h.pid: schedstat(h.pid) for h in hogs}
        time.sleep(2.0)
        after = collector.read()
        kernel_after = {h.pid: schedstat(h.pid) for h in hogs}
    for hog in hogs:
        ours_oncpu = figures(after, hog.pid)[0] - figures(before, hog.pid)[0]
        ours_wait = figures(after, hog.pid)[1] - figures(before, hog.pid)[1]
        kernel_oncpu = kernel_after[hog.pid][0] - kernel_before[hog.pid][0]
        kernel_wait = kernel_after[hog.pid][1] - kernel_before[hog.pid][1]
        # two hogs share one CPU: each runs about half of the 2 s and waits the other half
        assert kernel_wait > 0.5e9 and kernel_oncpu > 0.5e9
        assert ours_wait == pytest.approx(kernel_wait, rel=0.05)
        assert ours_oncpu == pytest.approx(kernel_oncpu, rel=0.05)
        p99 = after.per_pid[hog.pid].runqueue_latency_p99_us
        assert p99 is not None and p99 > 100  # it waits a whole time slice of the other


def test_system_histogram_counts_the_waits(collector: EbpfCollector) -> None:
    with started(spawn(BUSY_LOOP, cpu=0), spawn(BUSY_LOOP, cpu=0)):
        collector.read()
        time.sleep(1.0)
        reading = collector.read()
    latency = reading.runqueue_latency_us
    assert latency is not None
    assert latency["count"] == sum(latency["histogram"]) > 50
    assert latency["p50"] is not None and latency["p50"] <= latency["p95"] <= latency["p99"]


def test_entries_of_exited_processes_are_freed(collector: EbpfCollector) -> None:
    with started(spawn("import time; time.sleep(0.2)")) as (proc,):
        wait_for(lambda: proc.pid in collector.read().per_pid, 5, "the process in proc_stats")
        proc.wait(10)
    # reaped: the kernel frees the task after an RCU grace period, and the free hook
    # deletes its entry then
    wait_for(lambda: proc.pid not in collector.read().per_pid, 5, "the entry to be freed")


def test_snapshot_oncpu_follows_a_busy_loop(ebpf_helper: HelperProcess) -> None:
    with started(spawn(BUSY_LOOP)) as (proc,):

        def oncpu() -> tuple[float, int] | None:
            snap = ebpf_helper.snapshot()
            entry = next((p for p in snap["processes"] if p["pid"] == proc.pid), None)
            if entry is None or not entry["oncpu_ns"]:
                return None
            return snap["time"], entry["oncpu_ns"]

        t0, first = wait_for(oncpu, 10, "the busy loop's on-CPU time")

        def two_samples_later() -> tuple[float, int] | None:
            later = oncpu()
            return later if later is not None and later[0] >= t0 + 2 else None

        t1, second = wait_for(two_samples_later, 10, "two more samples")
        # Plumbing from the maps to the snapshot: a busy loop runs for most of the wall
        # time and never more (other tests may share the CPUs; the exact comparison
        # against the kernel's counters is test_two_hogs_on_one_cpu_match_schedstat).
        assert 0.3 < (second - first) / 1e9 / (t1 - t0) <= 1.15


def test_per_process_wait_is_in_the_snapshot(ebpf_helper: HelperProcess) -> None:
    snap = ebpf_helper.snapshot()
    me = next(p for p in snap["processes"] if p["pid"] == os.getpid())
    assert isinstance(me["runqueue_wait_ns"], int)
    assert isinstance(me["oncpu_ns"], int) and me["oncpu_ns"] > 0
    assert snap["runqueue_latency_us"]["count"] >= 0
