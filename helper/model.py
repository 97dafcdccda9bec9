"""Plain data of one sample: system figures and processes. No I/O here.

``to_json`` methods produce the JSON documents of the public contract
(shared/API.md): the same keys over D-Bus, in ``smoothtaskctl --json`` and in the GUI.
"""

from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]


@dataclass(frozen=True, slots=True)
class CpuStats:
    percent: float  # all CPUs together, 0..100
    per_cpu: tuple[float, ...]
    load_avg: tuple[float, float, float]

    def to_json(self) -> JsonDict:
        return {
            "percent": self.percent,
            "per_cpu": list(self.per_cpu),
            "count": len(self.per_cpu),
            "load_avg": list(self.load_avg),
        }


@dataclass(frozen=True, slots=True)
class MemoryStats:
    total_bytes: int
    available_bytes: int
    swap_total_bytes: int
    swap_used_bytes: int

    def to_json(self) -> JsonDict:
        return {
            "total_bytes": self.total_bytes,
            "available_bytes": self.available_bytes,
            "used_bytes": self.total_bytes - self.available_bytes,
            "percent": _percent(self.total_bytes - self.available_bytes, self.total_bytes),
            "swap_total_bytes": self.swap_total_bytes,
            "swap_used_bytes": self.swap_used_bytes,
        }


@dataclass(frozen=True, slots=True)
class PressureLine:
    """One line of a /proc/pressure file: averages in percent, total stall time in µs."""

    avg10: float
    avg60: float
    avg300: float
    total_us: int


@dataclass(frozen=True, slots=True)
class Pressure:
    """Pressure stall information of one resource (cpu, io or memory)."""

    some: PressureLine
    full: PressureLine | None  # cpu "full" exists only on kernels >= 5.13

    def to_json(self) -> JsonDict:
        out: JsonDict = {}
        for kind, line in (("some", self.some), ("full", self.full)):
            if line is None:
                continue
            out[f"{kind}_avg10"] = line.avg10
            out[f"{kind}_avg60"] = line.avg60
            out[f"{kind}_avg300"] = line.avg300
            out[f"{kind}_total_us"] = line.total_us
        return out


@dataclass(frozen=True, slots=True)
class ProcessSample:
    """One process (thread-group leader) at one sample.

    Identity is (pid, start_time), never pid alone: pids are reused.
    """

    pid: int
    start_time: float  # unix seconds
    comm: str
    uid: int
    ppid: int
    state: str
    threads: int
    cpu_percent: float  # 100 = one core, as in top
    rss_bytes: int
    nice: int
    ionice: str  # "best-effort/4", "idle", "realtime/0", "none" (follows nice) or "unknown"
    kernel_thread: bool
    process_class: str
    process_type: str
    rule: str | None = None

    def to_json(self) -> JsonDict:
        return {
            "pid": self.pid,
            "start_time": self.start_time,
            "comm": self.comm,
            "uid": self.uid,
            "ppid": self.ppid,
            "state": self.state,
            "threads": self.threads,
            "cpu_percent": self.cpu_percent,
            "rss_bytes": self.rss_bytes,
            "nice": self.nice,
            "ionice": self.ionice,
            "kernel_thread": self.kernel_thread,
            "class": self.process_class,
            "type": self.process_type,
            "rule": self.rule,
            # Filled by the eBPF collector; null while it is unavailable.
            "oncpu_ns": None,
            "runqueue_wait_ns": None,
            "runqueue_latency_p99_us": None,
            "tcp_established": None,
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    time: float  # unix seconds
    interval_s: float
    cpu: CpuStats
    memory: MemoryStats
    psi: dict[str, Pressure] | None  # None where the kernel has no PSI
    processes: tuple[ProcessSample, ...] = field(default=())

    def summary_json(self) -> JsonDict:
        """Everything but the process list: what the ``Sample`` signal carries each tick."""
        return {
            "time": self.time,
            "interval_s": self.interval_s,
            "cpu": self.cpu.to_json(),
            "memory": self.memory.to_json(),
            "psi": None if self.psi is None else {k: v.to_json() for k, v in self.psi.items()},
            "process_count": len(self.processes),
            # eBPF figures: null until that collector is available.
            "runqueue_latency_us": None,
            "io_latency_us": None,
            "tcp": None,
            "oom_kills": None,
            "gpu": None,
        }

    def to_json(self) -> JsonDict:
        out = self.summary_json()
        out["processes"] = [p.to_json() for p in self.processes]
        return out


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0
