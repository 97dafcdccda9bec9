"""The /proc process scanner against the kernel's own figures."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from smoothtask_helper.collectors.procfs import (
    QUIET_AFTER,
    QUIET_READ_EVERY,
    ProcessScanner,
    format_ionice,
    parse_stat,
)
from smoothtask_helper.model import ProcessSample
from tests.conftest import require
from tests.support.cpu_truth import CpuRecord
from tests.support.procs import BUSY_LOOP, spawn, started


def by_pid(samples: list[ProcessSample]) -> dict[int, ProcessSample]:
    return {s.pid: s for s in samples}


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def scanner() -> Iterator[ProcessScanner]:
    s = ProcessScanner()
    yield s
    s.close()


def test_parse_stat_with_awkward_comm() -> None:
    raw = (
        b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 10 0 0 0 7 3 0 0 20 5 2 0 "
        b"98765 1000 250 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0"
    )
    stat = parse_stat(raw)
    assert stat.comm == "a) b (c)"
    assert stat.state == "S"
    assert stat.ppid == 1
    assert stat.cpu_ticks == 10
    assert stat.nice == 5
    assert stat.threads == 2
    assert stat.start_ticks == 98765
    assert stat.rss_pages == 250


def test_format_ionice() -> None:
    assert format_ionice(psutil.IOPRIO_CLASS_BE, 4) == "best-effort/4"
    assert format_ionice(psutil.IOPRIO_CLASS_RT, 0) == "realtime/0"
    assert format_ionice(psutil.IOPRIO_CLASS_IDLE, 0) == "idle"
    assert format_ionice(psutil.IOPRIO_CLASS_NONE, 0) == "none"


def test_a_process_as_the_kernel_and_psutil_see_it(scanner: ProcessScanner) -> None:
    with started(spawn("import time; time.sleep(60)")) as (proc,):
        os.setpriority(os.PRIO_PROCESS, proc.pid, 7)
        psutil.Process(proc.pid).ionice(psutil.IOPRIO_CLASS_IDLE)
        time.sleep(0.3)  # let the interpreter start and settle
        sample = by_pid(scanner.scan())[proc.pid]
        reference = psutil.Process(proc.pid)
        assert sample.comm == reference.name()
        assert sample.ppid == os.getpid()
        assert sample.uid == os.getuid()
        assert sample.nice == 7
        assert sample.ionice == "idle"
        assert sample.start_time == pytest.approx(reference.create_time(), abs=0.02)
        # /proc/<pid>/stat reads the kernel's per-CPU RSS counters without summing them
        # (cheap, approximate); psutil reads statm, which sums them: allow the batching slack.
        slack = 64 * os.sysconf("SC_PAGE_SIZE") * (os.cpu_count() or 1)
        assert abs(sample.rss_bytes - reference.memory_info().rss) <= slack
        assert sample.kernel_thread is False
        assert sample.process_class == "NORMAL"


def scan_at(scanner: ProcessScanner) -> tuple[dict[int, ProcessSample], float]:
    """A scan, and when it read (the middle of the scan: it takes a few milliseconds)."""
    before = time.time()
    samples = by_pid(scanner.scan())
    return samples, (before + time.time()) / 2


def test_busy_loop_uses_one_core(scanner: ProcessScanner) -> None:
    """About 100% on an idle machine; on a loaded one what the kernel gave it."""
    with started(spawn(BUSY_LOOP)) as (proc,), CpuRecord(proc.pid) as truth:
        scanner.scan()
        time.sleep(1.0)
        _, start = scan_at(scanner)  # the first scan measured the lifetime; from here a second
        time.sleep(1.0)
        samples, end = scan_at(scanner)
        sample = samples[proc.pid]
        assert sample.cpu_percent == pytest.approx(truth.percent(start, end), abs=10)
        assert sample.cpu_percent > 30  # busy: a comparison of two zeros would prove nothing
        assert sample.state == "R"


def test_sleeping_process_uses_no_cpu(scanner: ProcessScanner) -> None:
    with started(spawn("import time; time.sleep(60)")) as (proc,):
        time.sleep(0.5)
        scanner.scan()
        time.sleep(0.5)
        assert by_pid(scanner.scan())[proc.pid].cpu_percent == 0.0


def test_kernel_threads_are_marked(scanner: ProcessScanner) -> None:
    kthreadd = by_pid(scanner.scan()).get(2)
    require(
        kthreadd is not None and kthreadd.comm == "kthreadd",
        "no kthreadd visible here (a container?)",
    )
    assert kthreadd is not None
    assert kthreadd.kernel_thread
    assert kthreadd.process_type == "kernel"


def test_exited_processes_leave_and_free_their_descriptors(scanner: ProcessScanner) -> None:
    scanner.scan()  # pins a descriptor for every process already running
    baseline_fds = open_fd_count()
    with started(*[spawn("import time; time.sleep(60)") for _ in range(30)]) as procs:
        time.sleep(0.3)
        seen = by_pid(scanner.scan())
        assert all(p.pid in seen for p in procs)
        assert open_fd_count() >= baseline_fds + 30  # one pinned descriptor each
    after = by_pid(scanner.scan())
    assert not any(p.pid in after for p in procs)
    assert open_fd_count() <= baseline_fds + 2  # the scanner's own churn (other processes)


def test_without_descriptor_budget_the_scan_is_the_same(scanner: ProcessScanner) -> None:
    scanner._fd_budget = 0  # as on a system with a tiny descriptor limit
    with started(spawn(BUSY_LOOP)) as (proc,), CpuRecord(proc.pid) as truth:
        time.sleep(0.3)
        first, start = scan_at(scanner)
        time.sleep(1.0)
        second, end = scan_at(scanner)
        assert proc.pid in first
        assert second[proc.pid].cpu_percent == pytest.approx(truth.percent(start, end), abs=10)
        assert second[proc.pid].cpu_percent > 30
        assert second[proc.pid].start_time == first[proc.pid].start_time


def test_every_listed_process_is_in_proc(scanner: ProcessScanner) -> None:
    samples = scanner.scan()
    listed = {int(n) for n in os.listdir("/proc") if n.isdigit()}
    found = {s.pid for s in samples}
    # processes come and go between the two listings; nearly all must agree
    assert len(found & listed) >= 0.9 * len(listed)
    assert os.getpid() in found


def test_a_quiet_process_that_wakes_up_is_seen_and_measured(scanner: ProcessScanner) -> None:
    waker = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.readline()\nwhile True: pass"],
        stdin=subprocess.PIPE,
    )
    with started(waker), CpuRecord(waker.pid) as truth:
        time.sleep(0.3)
        for _ in range(QUIET_AFTER + QUIET_READ_EVERY + 1):  # long enough to count as quiet
            scanner.scan()
            time.sleep(0.05)
        assert waker.stdin is not None
        waker.stdin.write(b"go\n")
        waker.stdin.flush()
        seen_busy_after = None
        for scan in range(1, QUIET_READ_EVERY + 2):
            time.sleep(0.3)
            if by_pid(scanner.scan())[waker.pid].cpu_percent > 0:
                seen_busy_after = scan
                break
        assert seen_busy_after is not None, "a quiet process woke up but was never re-read"
        # once busy it is read every scan, and the figure is what the kernel counted
        _, start = scan_at(scanner)
        time.sleep(1.0)
        samples, end = scan_at(scanner)
        assert samples[waker.pid].cpu_percent == pytest.approx(truth.percent(start, end), abs=10)
        assert samples[waker.pid].cpu_percent > 30
