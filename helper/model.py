"""Plain data of one sample: system figures and processes. No I/O here.

``to_json`` methods produce the JSON documents of the public contract
(shared/API.md): the same keys over D-Bus, in ``smoothtaskctl --json`` and in the GUI.
"""

from dataclasses import dataclass, field
from typing import Any, ClassVar

from smoothtask_helper.gpu_model import NO_GPU_STATS, GpuSample

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
        }


@dataclass(frozen=True, slots=True)
class KernelProcessStats:
    """What the eBPF collector measured of one process, cumulative since its probes attached."""

    oncpu_ns: int | None = None
    runqueue_wait_ns: int | None = None
    runqueue_latency_p99_us: float | None = None
    tcp_established: int | None = None
    tcp_opened: int | None = None
    tcp_closed: int | None = None

    def to_json(self) -> JsonDict:
        return {
            "oncpu_ns": self.oncpu_ns,
            "runqueue_wait_ns": self.runqueue_wait_ns,
            "runqueue_latency_p99_us": self.runqueue_latency_p99_us,
            "tcp_established": self.tcp_established,
            "tcp_opened": self.tcp_opened,
            "tcp_closed": self.tcp_closed,
        }


NO_KERNEL_STATS = KernelProcessStats()  # every eBPF figure null: the collector is unavailable


@dataclass(frozen=True, slots=True)
class Snapshot:
    time: float  # unix seconds
    interval_s: float
    cpu: CpuStats
    memory: MemoryStats
    psi: dict[str, Pressure] | None  # None where the kernel has no PSI
    processes: tuple[ProcessSample, ...] = field(default=())
    # From the eBPF collector; None while (or where) it is unavailable.
    kernel: "KernelSample | None" = None
    # From the GPU collector; None when GPU monitoring is switched off.
    gpu: GpuSample | None = None

    def summary_json(self) -> JsonDict:
        """Everything but the process list: what the ``Sample`` signal carries each tick."""
        return {
            "time": self.time,
            "interval_s": self.interval_s,
            "cpu": self.cpu.to_json(),
            "memory": self.memory.to_json(),
            "psi": None if self.psi is None else {k: v.to_json() for k, v in self.psi.items()},
            "process_count": len(self.processes),
            **(self.kernel.system_json() if self.kernel is not None else KernelSample.NULLS),
            "gpu": None if self.gpu is None else self.gpu.devices_json(),
        }

    def to_json(self) -> JsonDict:
        out = self.summary_json()
        out["processes"] = [self.process_json(p) for p in self.processes]
        return out

    def process_json(self, process: ProcessSample) -> JsonDict:
        """A process with its eBPF and GPU figures (null where unavailable)."""
        stats = self.kernel.stats_for(process) if self.kernel is not None else NO_KERNEL_STATS
        gpu = self.gpu.stats_for(process) if self.gpu is not None else NO_GPU_STATS
        return process.to_json() | stats.to_json() | gpu.to_json()


@dataclass(frozen=True, slots=True)
class KernelSample:
    """The eBPF collector's part of one sample: system figures and per-process stats.

    Each system figure is None when its probe is unavailable or switched off.
    """

    runqueue_latency_us: JsonDict | None = None
    io_latency_us: JsonDict | None = None
    tcp: JsonDict | None = None
    oom_kills: list[JsonDict] | None = None
    reclaim: JsonDict | None = None
    gpu_jobs_us: JsonDict | None = None
    # keyed by (pid, start_time) as in ProcessSample: never by pid alone
    processes: dict[tuple[int, float], KernelProcessStats] = field(default_factory=dict)
    # the figures a process gets when no entry exists (0 where the probe runs, else None)
    default_stats: KernelProcessStats = NO_KERNEL_STATS

    NULLS: ClassVar[JsonDict] = {
        "runqueue_latency_us": None,
        "io_latency_us": None,
        "tcp": None,
        "oom_kills": None,
        "reclaim": None,
        "gpu_jobs_us": None,
    }

    def system_json(self) -> JsonDict:
        return {
            "runqueue_latency_us": self.runqueue_latency_us,
            "io_latency_us": self.io_latency_us,
            "tcp": self.tcp,
            "oom_kills": self.oom_kills,
            "reclaim": self.reclaim,
            "gpu_jobs_us": self.gpu_jobs_us,
        }

    def stats_for(self, process: ProcessSample) -> KernelProcessStats:
        return self.processes.get((process.pid, process.start_time), self.default_stats)


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0
