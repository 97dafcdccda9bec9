"""Per-process figures from /proc/<pid>/stat, cheap enough for 1 Hz with thousands of processes.

Why not psutil for the per-process scan: psutil reads three files per process and builds
an object for each; with 1,000 processes that alone is ~5% of a core at 1 Hz, against a
budget of 1% (bench/overhead.py). Here each process costs one ``pread`` on a descriptor
kept open between samples, and an unchanged stat line is not parsed again. An open
descriptor also pins its process: once that process exits, reads fail with ESRCH, even
if the pid is reused, so a stale descriptor never reports a newcomer's figures.

psutil is still used where it is the right tool: ionice and the boot time.
"""

import os
import resource
import time
from dataclasses import dataclass

import psutil

from smoothtask_helper.api import DEFAULT_CLASS
from smoothtask_helper.model import ProcessSample

PROC = "/proc"
PF_KTHREAD = 0x00200000  # task flag of kernel threads (include/linux/sched.h)
RESERVED_FDS = 256  # descriptors left for the bus, logs and everything else
REFRESH_EVERY = 30  # samples between re-reads of uid and ionice (they rarely change)
# A process whose stat line stayed the same this many scans in a row is "quiet" and is
# re-read only every QUIET_READ_EVERY scans (staggered by pid): most of a desktop's
# processes sleep, and this cuts the scan's cost by about half. A quiet process that
# wakes up is seen within QUIET_READ_EVERY samples; its CPU time is never lost, only
# averaged over the longer gap.
QUIET_AFTER = 3
QUIET_READ_EVERY = 3


@dataclass(frozen=True, slots=True)
class StatFields:
    """The fields of /proc/<pid>/stat the helper uses."""

    comm: str
    state: str
    ppid: int
    flags: int
    cpu_ticks: int  # utime + stime
    nice: int
    threads: int
    start_ticks: int  # since boot
    rss_pages: int


def parse_stat(raw: bytes) -> StatFields:
    """Parse a /proc/<pid>/stat line; comm may contain spaces and parentheses."""
    open_paren = raw.index(b"(")
    close_paren = raw.rindex(b")")
    rest = raw[close_paren + 2 :].split()
    # rest[0] is field 3 (state) of proc_pid_stat(5)
    return StatFields(
        comm=raw[open_paren + 1 : close_paren].decode("utf-8", "replace"),
        state=rest[0].decode("ascii", "replace"),
        ppid=int(rest[1]),
        flags=int(rest[6]),
        cpu_ticks=int(rest[11]) + int(rest[12]),
        nice=int(rest[16]),
        threads=int(rest[17]),
        start_ticks=int(rest[19]),
        rss_pages=int(rest[21]),
    )


def read_real_uid(pid: int) -> int:
    """Real uid from /proc/<pid>/status (the /proc/<pid> owner is 0 for non-dumpable tasks)."""
    try:
        with open(f"{PROC}/{pid}/status", "rb") as f:
            status = f.read()
        start = status.index(b"\nUid:") + 5
        return int(status[start:].split(None, 1)[0])
    except (OSError, ValueError):
        return -1


_IONICE_NAMES: dict[int, str] = {
    psutil.IOPRIO_CLASS_NONE: "none",
    psutil.IOPRIO_CLASS_RT: "realtime",
    psutil.IOPRIO_CLASS_BE: "best-effort",
    psutil.IOPRIO_CLASS_IDLE: "idle",
}


def format_ionice(ioclass: int, level: int) -> str:
    """``best-effort/4``, ``realtime/0``, ``idle`` or ``none`` (the kernel derives it from nice)."""
    name = _IONICE_NAMES.get(ioclass, "unknown")
    return name if name in ("none", "idle", "unknown") else f"{name}/{level}"


def read_ionice(pid: int) -> str:
    try:
        io = psutil.Process(pid).ionice()
    except psutil.Error:
        return "unknown"
    return format_ionice(io.ioclass, io.value)


@dataclass(slots=True)
class _Tracked:
    """What the scanner remembers of one process between samples."""

    pid: int
    fd: int | None
    raw: bytes
    stat: StatFields
    uid: int
    ionice: str
    last_cpu_ticks: int
    last_time: float
    next_refresh: int
    sample: ProcessSample | None = None
    unchanged_scans: int = 0
    read_this_scan: bool = True


class ProcessScanner:
    """Scans every process once per ``scan()``; CPU % is measured between scans."""

    def __init__(self) -> None:
        self._clock_ticks = os.sysconf("SC_CLK_TCK")
        self._page_size = os.sysconf("SC_PAGE_SIZE")
        self._boot_time = psutil.boot_time()
        self._tracked: dict[int, _Tracked] = {}
        self._open_fds = 0
        self._fd_budget = max(0, _raise_fd_limit() - RESERVED_FDS)
        self._scan_number = 0

    def close(self) -> None:
        for tracked in self._tracked.values():
            self._close_fd(tracked)
        self._tracked.clear()

    def scan(self) -> list[ProcessSample]:
        self._scan_number += 1
        now = time.clock_gettime(time.CLOCK_BOOTTIME)
        samples: list[ProcessSample] = []
        seen: set[int] = set()
        for name in os.listdir(PROC):
            if not name.isdigit():
                continue
            pid = int(name)
            tracked = self._update(pid, now)
            if tracked is None:
                continue
            seen.add(pid)
            samples.append(self._sample(tracked, now))
        for pid in self._tracked.keys() - seen:
            self._close_fd(self._tracked.pop(pid))
        return samples

    def sample_now(self, pids: list[int]) -> list[ProcessSample]:
        """Samples of these processes right now (e.g. just exec'd), between scans.

        A process already tracked is re-read at once: exec changes its name.
        """
        now = time.clock_gettime(time.CLOCK_BOOTTIME)
        samples = []
        for pid in pids:
            tracked = self._tracked.get(pid)
            if tracked is not None:
                tracked.unchanged_scans = 0  # not quiet any more
            tracked = self._update(pid, now)
            if tracked is not None:
                samples.append(self._sample(tracked, now))
        return samples

    def _update(self, pid: int, now: float) -> _Tracked | None:
        tracked = self._tracked.get(pid)
        if tracked is not None:
            if (
                tracked.unchanged_scans >= QUIET_AFTER
                and tracked.sample is not None
                and (self._scan_number + pid) % QUIET_READ_EVERY
            ):
                tracked.read_this_scan = False
                return tracked  # quiet: its last sample stands for this scan
            tracked.read_this_scan = True
            raw = self._reread(tracked)
            if raw is None:  # that process is gone; the pid may already be someone else's
                self._close_fd(self._tracked.pop(pid))
                tracked = None
            elif raw != tracked.raw:
                tracked.raw = raw
                tracked.stat = parse_stat(raw)
                tracked.sample = None
                tracked.unchanged_scans = 0
            else:
                tracked.unchanged_scans += 1
                return tracked
        if tracked is None:
            tracked = self._start_tracking(pid, now)
        return tracked

    def _start_tracking(self, pid: int, now: float) -> _Tracked | None:
        fd = None
        try:
            if self._open_fds < self._fd_budget:
                fd = os.open(f"{PROC}/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
                self._open_fds += 1
                raw = os.pread(fd, 4096, 0)
            else:
                raw = _read_once(pid)
            stat = parse_stat(raw)
        except (OSError, ValueError):
            if fd is not None:
                os.close(fd)
                self._open_fds -= 1
            return None
        # First sight: CPU % over the process's lifetime so far, a fair first estimate.
        started = stat.start_ticks / self._clock_ticks
        tracked = _Tracked(
            pid=pid,
            fd=fd,
            raw=raw,
            stat=stat,
            uid=read_real_uid(pid),
            ionice=read_ionice(pid),
            last_cpu_ticks=0,
            last_time=min(started, now),
            next_refresh=self._scan_number + REFRESH_EVERY + pid % REFRESH_EVERY,
        )
        self._tracked[pid] = tracked
        return tracked

    def _reread(self, tracked: _Tracked) -> bytes | None:
        try:
            raw = (
                os.pread(tracked.fd, 4096, 0) if tracked.fd is not None else _read_once(tracked.pid)
            )
        except OSError:
            return None
        if not raw:
            return None
        if tracked.fd is None and parse_stat(raw).start_ticks != tracked.stat.start_ticks:
            return None  # without a pinned descriptor, a changed start time means pid reuse
        return raw

    def _sample(self, tracked: _Tracked, now: float) -> ProcessSample:
        stat = tracked.stat
        if self._scan_number >= tracked.next_refresh:
            tracked.next_refresh = self._scan_number + REFRESH_EVERY
            uid, ionice = read_real_uid(tracked.pid), read_ionice(tracked.pid)
            if (uid, ionice) != (tracked.uid, tracked.ionice):
                tracked.uid, tracked.ionice, tracked.sample = uid, ionice, None
        if tracked.sample is not None and tracked.sample.cpu_percent == 0.0:
            if tracked.read_this_scan:  # seen idle until now; a skipped scan proves nothing
                tracked.last_time = now
            return tracked.sample  # unchanged and idle: the common case, nearly free
        elapsed = now - tracked.last_time
        used = (stat.cpu_ticks - tracked.last_cpu_ticks) / self._clock_ticks
        cpu_percent = round(100.0 * used / elapsed, 1) if elapsed > 0 else 0.0
        tracked.last_cpu_ticks, tracked.last_time = stat.cpu_ticks, now
        kernel_thread = bool(stat.flags & PF_KTHREAD)
        sample = ProcessSample(
            pid=tracked.pid,
            start_time=round(self._boot_time + stat.start_ticks / self._clock_ticks, 2),
            comm=stat.comm,
            uid=tracked.uid,
            ppid=stat.ppid,
            state=stat.state,
            threads=stat.threads,
            cpu_percent=cpu_percent,
            rss_bytes=stat.rss_pages * self._page_size,
            nice=stat.nice,
            ionice=tracked.ionice,
            kernel_thread=kernel_thread,
            process_class=DEFAULT_CLASS,
            process_type="kernel" if kernel_thread else "unclassified",
        )
        tracked.sample = sample
        return sample

    def _close_fd(self, tracked: _Tracked) -> None:
        if tracked.fd is not None:
            os.close(tracked.fd)
            tracked.fd = None
            self._open_fds -= 1


def _read_once(pid: int) -> bytes:
    with open(f"{PROC}/{pid}/stat", "rb") as f:
        return f.read()


def _raise_fd_limit() -> int:
    """Raise the soft descriptor limit to the hard one (always allowed); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass  # keep the soft limit; the scanner falls back to open/read/close
    return hard if soft == resource.RLIM_INFINITY else soft
