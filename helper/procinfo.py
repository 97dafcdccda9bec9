"""Fresh reads of one process from /proc, for the classifier and the actuator.

The scanner (collectors/procfs.py) reads cheaply and may serve a quiet process's sample
from an earlier scan; anything that acts on a process reads here, right before acting.
A process is an ``Identity``: its pid and its start time in clock ticks since boot, the
kernel's own figure, which stays the same across helper restarts (unlike a wall-clock
start time, which moves when the clock is set).
"""

import os
from dataclasses import dataclass

import psutil

from smoothtask_helper.collectors.procfs import PF_KTHREAD, parse_stat

PROC = "/proc"
CMDLINE_LIMIT = 4096  # rules match at most this much of a command line
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True, order=True)
class Identity:
    """A process, never a bare pid: pids are reused."""

    pid: int
    start_ticks: int

    def key(self) -> str:
        return f"{self.pid}:{self.start_ticks}"

    @classmethod
    def from_key(cls, key: str) -> "Identity":
        pid, _, ticks = key.partition(":")
        return cls(int(pid), int(ticks))


@dataclass(frozen=True, slots=True)
class Cgroups:
    """Where a process sits: the unified (v2) path, the v1 cpu controller's path, and the
    path systemd uses for units (name=systemd on a hybrid system, else the v2 path)."""

    unified: str | None
    cpu_v1: str | None
    systemd: str | None


def read_stat(pid: int) -> tuple[int, int, str] | None:
    """(start ticks, task flags, comm) of a live process, or None when it is gone."""
    try:
        with open(f"{PROC}/{pid}/stat", "rb") as f:
            stat = parse_stat(f.read())
    except (OSError, ValueError):
        return None
    return stat.start_ticks, stat.flags, stat.comm


def read_identity(pid: int) -> Identity | None:
    stat = read_stat(pid)
    return None if stat is None else Identity(pid, stat[0])


def is_alive(identity: Identity) -> bool:
    """True while this very process (not a later one with the same pid) exists."""
    stat = read_stat(identity.pid)
    return stat is not None and stat[0] == identity.start_ticks


def is_kernel_thread(pid: int) -> bool:
    stat = read_stat(pid)
    return stat is not None and bool(stat[1] & PF_KTHREAD)


def task_ids(pid: int) -> list[int]:
    """The threads of a process (the main thread's id is the pid)."""
    try:
        return sorted(int(name) for name in os.listdir(f"{PROC}/{pid}/task") if name.isdigit())
    except OSError:
        return []


def read_exe(pid: int) -> str:
    try:
        return os.readlink(f"{PROC}/{pid}/exe")
    except OSError:
        return ""  # kernel threads, other users' processes without privileges, gone


def read_cmdline(pid: int) -> str:
    try:
        with open(f"{PROC}/{pid}/cmdline", "rb") as f:
            raw = f.read(CMDLINE_LIMIT)
    except OSError:
        return ""
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")


def parse_cgroups(text: str) -> Cgroups:
    unified = cpu_v1 = named_systemd = None
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hierarchy, controllers, path = parts
        if hierarchy == "0" and controllers == "":
            unified = path
        elif "cpu" in controllers.split(","):
            cpu_v1 = path
        elif controllers == "name=systemd":
            named_systemd = path
    return Cgroups(unified=unified, cpu_v1=cpu_v1, systemd=named_systemd or unified)


def read_cgroups(pid: int) -> Cgroups:
    try:
        with open(f"{PROC}/{pid}/cgroup") as f:
            return parse_cgroups(f.read())
    except OSError:
        return Cgroups(None, None, None)


def unit_of(cgroup_path: str | None) -> str:
    """The systemd unit a cgroup path belongs to: its last ``.service`` or ``.scope``."""
    if not cgroup_path:
        return ""
    for part in reversed(cgroup_path.split("/")):
        if part.endswith((".service", ".scope")):
            return part
    return ""


def parse_autogroup(text: str) -> tuple[int, int] | None:
    """``/autogroup-12 nice 0`` -> (12, 0); empty (kernel threads, PID 1's group) -> None."""
    parts = text.split()
    if len(parts) != 3 or not parts[0].startswith("/autogroup-") or parts[1] != "nice":
        return None
    try:
        return int(parts[0].removeprefix("/autogroup-")), int(parts[2])
    except ValueError:
        return None


def read_autogroup(pid: int) -> tuple[int, int] | None:
    try:
        with open(f"{PROC}/{pid}/autogroup") as f:
            return parse_autogroup(f.read())
    except OSError:
        return None


class StartClock:
    """Converts between a sample's start time (unix seconds, as the scanner reports it)
    and the kernel's start ticks."""

    def __init__(self) -> None:
        self.boot_time = psutil.boot_time()

    def start_time(self, start_ticks: int) -> float:
        return round(self.boot_time + start_ticks / CLOCK_TICKS, 2)
