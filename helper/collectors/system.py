"""System-wide CPU, memory, swap and load, read through psutil."""

import os

import psutil

from smoothtask_helper.model import CpuStats, MemoryStats

CpuTimes = dict[str, float]

# Time that counts as not busy; guest time is already inside user / nice.
_IDLE_FIELDS = frozenset({"idle", "iowait"})
_SKIPPED_FIELDS = frozenset({"guest", "guest_nice"})


class SystemReader:
    """CPU percentages are deltas since the previous call, so keep one reader per sampler.

    (psutil.cpu_percent keeps module-level state instead; own deltas keep two readers,
    e.g. a test beside the helper, from disturbing each other.)
    """

    def __init__(self) -> None:
        self._last_total: CpuTimes | None = None
        self._last_per_cpu: list[CpuTimes] = []

    def cpu(self) -> CpuStats:
        total = psutil.cpu_times()._asdict()
        per_cpu = [t._asdict() for t in psutil.cpu_times(percpu=True)]
        percent = busy_percent(self._last_total, total)
        previous: list[CpuTimes | None] = list(self._last_per_cpu)
        if len(previous) != len(per_cpu):  # first call, or a CPU went on/offline
            previous = [None] * len(per_cpu)
        per = tuple(busy_percent(p, n) for p, n in zip(previous, per_cpu, strict=True))
        self._last_total, self._last_per_cpu = total, per_cpu
        return CpuStats(percent=percent, per_cpu=per, load_avg=os.getloadavg())

    @staticmethod
    def memory() -> MemoryStats:
        vm = psutil.virtual_memory()
        swap = psutil.swap_memory()
        return MemoryStats(
            total_bytes=vm.total,
            available_bytes=vm.available,
            swap_total_bytes=swap.total,
            swap_used_bytes=swap.used,
        )


def busy_percent(prev: CpuTimes | None, now: CpuTimes) -> float:
    """Share of non-idle time between two cpu_times readings, 0..100 (0 with no previous)."""
    if prev is None:
        return 0.0
    busy = idle = 0.0
    for name, value in now.items():
        if name in _SKIPPED_FIELDS:
            continue
        delta = value - prev.get(name, value)
        if name in _IDLE_FIELDS:
            idle += delta
        else:
            busy += delta
    total = busy + idle
    return max(0.0, min(100.0, 100.0 * busy / total)) if total > 0 else 0.0
