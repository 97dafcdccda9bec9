"""The eBPF collector: loads the probes, reads their maps, decodes their events.

    collector = EbpfCollector(EbpfConfig(probes=frozenset({"runqueue"})))
    collector.load()                # blocking: compile + attach (run it in a thread)
    reading = collector.read()      # figures since the previous read
    events = collector.poll_events()
    collector.close()

Nothing here raises for an unavailable kernel feature: probes report why they are not
available (``probe_status()``) and their figures are None.
"""

import ctypes
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from smoothtask_helper.collectors.ebpf import histogram, loader
from smoothtask_helper.collectors.ebpf.bpfstats import BpfStats, program_stats
from smoothtask_helper.collectors.ebpf.events import EventBatch, EventDecoder, OomKill
from smoothtask_helper.collectors.ebpf.layouts import (
    CPU_STATE,
    IO_COUNT,
    IO_SLOT_KEY,
    PROC_STATS,
    RECLAIM_STATS,
    TCP_STATS,
    U32,
    U64,
    opaque,
)
from smoothtask_helper.collectors.ebpf.maps import MapReader
from smoothtask_helper.collectors.ebpf.probes import BY_NAME, PROBE_NAMES, PROBES
from smoothtask_helper.collectors.ebpf.tcp_baseline import TcpBaseline
from smoothtask_helper.model import JsonDict, KernelProcessStats, KernelSample, ProcessSample

log = logging.getLogger(__name__)

OOM_KILLS_KEPT = 32
SWITCHED_OFF = "switched off in the settings"
PER_THREAD_MAPS = frozenset({"enqueued", "reclaim_start"})


@dataclass(frozen=True)
class EbpfConfig:
    enabled: bool = True
    probes: frozenset[str] = frozenset(PROBE_NAMES)
    sizes: loader.MapSizes = field(default_factory=loader.MapSizes)
    bpf_stats: bool = True  # per-program run time and count (kernel BPF statistics)
    p99_window_s: float = 10.0  # per-process run-queue p99 is over this window


@dataclass
class KernelReading:
    """One read of every probe: system figures and per-process stats (by pid)."""

    time: float
    per_pid: dict[int, KernelProcessStats]
    default_stats: KernelProcessStats
    runqueue_latency_us: JsonDict | None = None
    io_latency_us: JsonDict | None = None
    tcp: JsonDict | None = None
    oom_kills: list[JsonDict] | None = None
    reclaim: JsonDict | None = None
    gpu_jobs_us: JsonDict | None = None

    def for_processes(self, processes: tuple[ProcessSample, ...]) -> KernelSample:
        """Key the per-process stats by (pid, start time) of the processes now alive."""
        keyed = {
            (p.pid, p.start_time): stats
            for p in processes
            if (stats := self.per_pid.get(p.pid)) is not None
        }
        return KernelSample(
            runqueue_latency_us=self.runqueue_latency_us,
            io_latency_us=self.io_latency_us,
            tcp=self.tcp,
            oom_kills=self.oom_kills,
            reclaim=self.reclaim,
            gpu_jobs_us=self.gpu_jobs_us,
            processes=keyed,
            default_stats=self.default_stats,
        )


class EbpfCollector:
    def __init__(self, config: EbpfConfig | None = None) -> None:
        self.config = config or EbpfConfig()
        self.state = "loading" if self.config.enabled else "disabled"
        self._reasons: dict[str, str] = {}
        self._result: loader.LoadResult | None = None
        self._readers: dict[str, MapReader] = {}
        self._attached: frozenset[str] = frozenset()
        self._decoder = EventDecoder(os.sysconf("SC_PAGE_SIZE"))
        self._events_fd: int | None = None
        self._stats = BpfStats()
        self._tcp_baseline = TcpBaseline()
        self._oom_kills: deque[OomKill] = deque(maxlen=OOM_KILLS_KEPT)
        self._previous: dict[str, npt.NDArray[Any]] = {}
        self._p99_window: deque[tuple[float, npt.NDArray[Any], npt.NDArray[Any]]] = deque()
        self._device_names: dict[int, str] = {}
        self.timings: dict[str, float] = {}
        # CLOCK_BOOTTIME when loading ended; set before `state` leaves "loading", so that
        # whoever sees the new state (another thread) also sees this
        self.loaded_at: float | None = None

    # -- loading ---------------------------------------------------------------------

    def load(self) -> None:
        """Compile and attach the enabled probes. Blocking; never raises."""
        if not self.config.enabled:
            return
        started = time.monotonic()
        unknown = self.config.probes - set(PROBE_NAMES)
        for name in unknown:
            log.warning("unknown eBPF probe %r in the settings; ignored", name)
        wanted = [p for p in PROBES if p.name in self.config.probes]
        try:
            result = loader.load(wanted, self.config.sizes)
            self._result = result
            self._reasons.update(result.reasons)
            if result.bpf is not None and result.attached:
                self._open(result)
        except Exception as exc:  # the helper must go on without eBPF, whatever happened
            log.exception("loading the eBPF probes failed")
            for probe in wanted:
                self._reasons.setdefault(probe.name, f"loading failed: {exc}")
            self._attached = frozenset()
            self._readers = {}
            if self._result is not None and self._result.bpf is not None:
                self._result.bpf.cleanup()  # detach whatever did attach
                self._result.bpf = None
        self.timings = {
            "load_s": time.monotonic() - started,
            "compile_s": self._result.compile_s if self._result else 0.0,
            "attach_s": self._result.attach_s if self._result else 0.0,
        }
        self.loaded_at = time.clock_gettime(time.CLOCK_BOOTTIME)
        self.state = "ready" if self._attached else "unavailable"
        log.info(
            "eBPF %s in %.2f s: attached %s%s",
            self.state,
            self.timings["load_s"],
            ", ".join(sorted(self._attached)) or "nothing",
            "".join(f"; {n}: {r}" for n, r in sorted(self._reasons.items())),
        )

    def _open(self, result: loader.LoadResult) -> None:
        bpf = result.bpf
        if bpf is None:
            return
        names = {p.name for p in result.attached}
        readers: dict[str, MapReader] = {}

        def reader(
            map_name: str, key: np.dtype[Any], value: np.dtype[Any], per_cpu: bool = False
        ) -> None:
            readers[map_name] = MapReader(map_name, bpf[map_name.encode()], key, value, per_cpu)

        if "runqueue" in names:
            reader("proc_stats", U32, PROC_STATS)
            reader("cpu_state", U32, CPU_STATE, per_cpu=True)
            reader("enqueued", U32, U64)
        if "reclaim" in names:
            reader("reclaim_stats", U32, RECLAIM_STATS)
            reader("reclaim_hist", U32, U64, per_cpu=True)
            reader("reclaim_start", U32, U64)
        if "blockio" in names:
            reader("io_hist", IO_SLOT_KEY, U64)
            reader("io_counts", U64, IO_COUNT)
            reader("io_inflight", opaque(16), U64)
        if "tcp" in names:
            reader("tcp_stats", U32, TCP_STATS)
            reader("tcp_totals", U32, U64, per_cpu=True)
            reader("sock_owner", U64, U32)
        if "gpu" in names:
            reader("gpu_hist", U32, U64, per_cpu=True)
            reader("gpu_counts", U32, U64, per_cpu=True)
            reader("gpu_fences", opaque(16), U64)
            if "gpu" in result.optional:
                reader("gpu_sched_jobs", opaque(16), opaque(16))
        if names & {"lifecycle", "oom"}:
            reader("lost_events", U32, U64, per_cpu=True)
            bpf[b"events"].open_ring_buffer(self._decoder.callback())
            self._events_fd = _ring_buffer_epoll_fd(bpf)
        if "tcp" in names:
            self._tcp_baseline.seed(bpf[b"listen_owner"])
        if self.config.bpf_stats and not self._stats.enable():
            log.info("BPF run-time statistics unavailable: %s", self._stats.reason)
        self._readers = readers
        self._attached = frozenset(names)
        self.read()  # the baseline for the first interval

    def close(self) -> None:
        self._stats.close()
        if self._result is not None and self._result.bpf is not None:
            self._result.bpf.cleanup()
            self._result = None
        self._attached = frozenset()
        self.state = "disabled" if not self.config.enabled else "closed"

    # -- status ----------------------------------------------------------------------

    def probe_status(self) -> dict[str, JsonDict]:
        """Every probe: available or not, why, its tracepoints and programs' BPF cost."""
        out: dict[str, JsonDict] = {}
        for probe in PROBES:
            if not self.config.enabled:
                available, reason = False, "eBPF is switched off in the settings"
            elif probe.name not in self.config.probes:
                available, reason = False, SWITCHED_OFF
            elif self.state == "loading":
                available, reason = False, "loading (compiling the eBPF programs)"
            elif probe.name in self._attached:
                available, reason = True, ""
            else:
                available, reason = False, self._reasons.get(probe.name, self.state)
            extra = self._result.optional.get(probe.name) if self._result and available else None
            programs = probe.programs + (extra.programs if extra else ())
            out[probe.name] = {
                "available": available,
                "reason": reason,
                "description": probe.description,
                "tracepoints": [tp for tp, _ in programs],
                "programs": self._program_stats(programs) if available else [],
            }
            if probe.optional is not None:
                out[probe.name]["optional"] = {
                    probe.optional.name: self._optional_status(probe.name, available)
                }
        return out

    def _optional_status(self, probe: str, available: bool) -> JsonDict:
        """A probe's optional programs (the GPU scheduler's): attached, or why not."""
        result = self._result
        if result is not None and available and probe in result.optional:
            return {"available": True, "reason": ""}
        if not available or result is None:
            return {"available": False, "reason": "the probe is not attached"}
        return {"available": False, "reason": result.optional_reasons.get(probe, "not attached")}

    def _program_stats(self, programs: tuple[tuple[str, str], ...]) -> list[JsonDict]:
        bpf = self._result.bpf if self._result else None
        out = []
        for tracepoint, function in programs:
            loaded = bpf.funcs.get(function.encode()) if bpf is not None else None
            stats = program_stats(loaded.fd) if loaded is not None else {}
            runs = stats.get("run_cnt", 0)
            out.append(
                {
                    "name": function,
                    "tracepoint": tracepoint,
                    "run_time_ns": stats.get("run_time_ns", 0),
                    "run_count": runs,
                    "avg_ns": stats.get("run_time_ns", 0) / runs if runs else None,
                    # runs the kernel skipped: another BPF program ran on that CPU then
                    "missed": stats.get("recursion_misses", 0),
                }
            )
        return out

    def status(self) -> JsonDict:
        """The collector as a whole: state, timings, maps, lost events, BPF statistics."""
        maps = {}
        for name, reader in self._readers.items():
            maps[name] = {"entries": reader.count(), "max_entries": reader.max_entries}
        return {
            "state": self.state,
            **{k: round(v, 4) for k, v in self.timings.items()},
            "compiles": self._result.compiles if self._result else 0,
            "lost_events": self._lost_events(),
            "maps": maps,
            "bpf_stats": {"enabled": self._stats.enabled, "reason": self._stats.reason},
            "histogram_bucket_le_us": histogram.BUCKET_LE_US,
        }

    def _lost_events(self) -> int:
        reader = self._readers.get("lost_events")
        return int(reader.read()[1].sum()) if reader else 0

    # -- reading ---------------------------------------------------------------------

    @property
    def attached(self) -> frozenset[str]:
        return self._attached

    def read(self) -> KernelReading:
        """Everything the probes measured; system figures cover the time since the last read."""
        now = time.monotonic()
        attached = self._attached
        per_pid: dict[int, dict[str, Any]] = {}
        reading = KernelReading(time=time.time(), per_pid={}, default_stats=self._defaults())
        if "runqueue" in attached:
            reading.runqueue_latency_us = self._runqueue(now, per_pid)
        if "reclaim" in attached:
            reading.reclaim = self._reclaim(per_pid)
        if "blockio" in attached:
            reading.io_latency_us = self._blockio()
        if "tcp" in attached:
            reading.tcp = self._tcp(per_pid)
        if "oom" in attached:
            reading.oom_kills = [kill.to_json() for kill in self._oom_kills]
        if "gpu" in attached:
            reading.gpu_jobs_us = self._gpu()
        defaults = reading.default_stats
        reading.per_pid = {
            pid: KernelProcessStats(
                oncpu_ns=figures.get("oncpu_ns", defaults.oncpu_ns),
                runqueue_wait_ns=figures.get("runqueue_wait_ns", defaults.runqueue_wait_ns),
                runqueue_latency_p99_us=figures.get(
                    "runqueue_latency_p99_us", defaults.runqueue_latency_p99_us
                ),
                tcp_established=figures.get("tcp_established", defaults.tcp_established),
                tcp_opened=figures.get("tcp_opened", defaults.tcp_opened),
                tcp_closed=figures.get("tcp_closed", defaults.tcp_closed),
            )
            for pid, figures in per_pid.items()
        }
        return reading

    def _defaults(self) -> KernelProcessStats:
        """A process with no entry yet: zeros from running probes, None from absent ones."""
        runqueue = "runqueue" in self._attached
        tcp = "tcp" in self._attached
        return KernelProcessStats(
            oncpu_ns=0 if runqueue else None,
            runqueue_wait_ns=0 if runqueue else None,
            runqueue_latency_p99_us=0.0 if runqueue else None,
            tcp_established=0 if tcp else None,
            tcp_opened=0 if tcp else None,
            tcp_closed=0 if tcp else None,
        )

    def _delta(self, name: str, now: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Counts since the previous read of a counter that only grows. A counter not
        seen before (a device's first request) counts from zero: it started since then."""
        previous = self._previous.get(name)
        self._previous[name] = now
        if previous is None or previous.shape != now.shape:
            return now.astype(np.int64)
        return np.maximum(now.astype(np.int64) - previous.astype(np.int64), 0)

    def _runqueue(self, now: float, per_pid: dict[int, dict[str, Any]]) -> JsonDict:
        _, cpus = self._readers["cpu_state"].read()  # one entry, one value per CPU
        counts = self._delta("runq_hist", cpus["hist"].sum(axis=(0, 1)))
        pids, stats = self._readers["proc_stats"].read()
        order = np.argsort(pids)
        pids, stats = pids[order], stats[order]
        p99 = self._window_p99(now, pids, stats["hist"])
        for i, pid in enumerate(pids.tolist()):
            figures = per_pid.setdefault(pid, {})
            figures["oncpu_ns"] = int(stats["oncpu_ns"][i])
            figures["runqueue_wait_ns"] = int(stats["wait_ns"][i])
            figures["runqueue_latency_p99_us"] = (
                0.0 if np.isnan(p99[i]) else round(float(p99[i]), 1)
            )
        return histogram.summary(counts)

    def _window_p99(
        self, now: float, pids: npt.NDArray[Any], hists: npt.NDArray[Any]
    ) -> npt.NDArray[np.float64]:
        """Per-process p99 over the last ``p99_window_s``: now minus the oldest kept read."""
        window = self._p99_window
        window.append((now, pids, hists))
        while len(window) > 1 and now - window[1][0] >= self.config.p99_window_s:
            window.popleft()
        _, old_pids, old_hists = window[0]
        delta = hists.astype(np.int64)
        if len(old_pids) and old_pids is not pids:
            at = np.searchsorted(old_pids, pids)
            at_clipped = np.minimum(at, len(old_pids) - 1)
            matched = (at < len(old_pids)) & (old_pids[at_clipped] == pids)
            delta[matched] -= old_hists[at_clipped[matched]].astype(np.int64)
        return histogram.row_percentiles(np.maximum(delta, 0), 99)

    def _reclaim(self, per_pid: dict[int, dict[str, Any]]) -> JsonDict:
        _, system = self._readers["reclaim_hist"].read()
        counts = self._delta("reclaim_hist", system.sum(axis=1))
        pids, stats = self._readers["reclaim_stats"].read()
        order = np.argsort(pids)
        pids, stats = pids[order], stats[order]
        stalled = self._delta_by_key("reclaim_stats", pids, stats["stall_ns"])
        top = np.argsort(stalled)[::-1][:5]
        return {
            **histogram.summary(counts),
            "top_stalled": [
                {"pid": int(pids[i]), "stall_us": round(float(stalled[i]) / 1e3, 1)}
                for i in top
                if stalled[i] > 0
            ],
        }

    def _delta_by_key(
        self, name: str, keys: npt.NDArray[Any], values: npt.NDArray[Any]
    ) -> npt.NDArray[np.int64]:
        """Per-key growth since the previous read (keys sorted; new keys count from 0)."""
        previous = self._previous.get(name + ".keys"), self._previous.get(name)
        self._previous[name + ".keys"], self._previous[name] = keys, values
        delta = values.astype(np.int64).copy()
        old_keys, old_values = previous
        if old_keys is not None and old_values is not None and len(old_keys):
            at = np.minimum(np.searchsorted(old_keys, keys), len(old_keys) - 1)
            matched = old_keys[at] == keys
            delta[matched] -= old_values[at[matched]].astype(np.int64)
        return np.maximum(delta, 0)

    def _blockio(self) -> JsonDict:
        devices: dict[str, JsonDict] = {}
        keys, values = self._readers["io_hist"].read()
        now_hist: dict[int, npt.NDArray[np.int64]] = {}
        for dev, slot, count in zip(
            keys["dev"].tolist(), keys["slot"].tolist(), values.tolist(), strict=True
        ):
            now_hist.setdefault(dev, np.zeros(histogram.SLOTS, dtype=np.int64))[slot] = count
        dev_keys, counts = self._readers["io_counts"].read()
        for i, dev in enumerate(dev_keys.tolist()):
            hist = now_hist.get(dev, np.zeros(histogram.SLOTS, dtype=np.int64))
            recent = self._delta(f"io_hist.{dev}", hist)
            moved = self._delta(f"io_counts.{dev}", np.array(counts[i].tolist(), dtype=np.int64))
            devices[self._device_name(dev)] = {
                **histogram.summary(recent),
                "issued": int(moved[0]),
                "completed": int(moved[1]),
                "bytes": int(moved[2]),
                "issued_total": int(counts["issued"][i]),
                "completed_total": int(counts["completed"][i]),
            }
        return {"devices": devices}

    def _device_name(self, dev: int) -> str:
        name = self._device_names.get(dev)
        if name is None:
            major, minor = dev >> 20, dev & 0xFFFFF
            name = f"{major}:{minor}"
            try:
                with open(f"/sys/dev/block/{major}:{minor}/uevent") as f:
                    for line in f:
                        if line.startswith("DEVNAME="):
                            name = line.split("=", 1)[1].strip()
            except OSError:
                pass
            self._device_names[dev] = name
        return name

    def _gpu(self) -> JsonDict:
        """GPU jobs finished since the last read: fence times, and the GPU scheduler's
        queue and run times where its tracepoints are attached (else null)."""
        _, per_cpu = self._readers["gpu_hist"].read()
        counts = self._delta("gpu_hist", per_cpu.sum(axis=1)).reshape(3, histogram.SLOTS)
        _, per_cpu = self._readers["gpu_counts"].read()
        moved = self._delta("gpu_counts", per_cpu.sum(axis=1))
        scheduler = None
        if self._result is not None and "gpu" in self._result.optional:
            scheduler = {
                "queued": int(moved[1]),
                "wait_us": histogram.summary(counts[1]),
                "run_us": histogram.summary(counts[2]),
            }
        return {**histogram.summary(counts[0]), "emitted": int(moved[0]), "scheduler": scheduler}

    def _tcp(self, per_pid: dict[int, dict[str, Any]]) -> JsonDict:
        pids, stats = self._readers["tcp_stats"].read()
        established = self._tcp_baseline.established(pids.tolist(), stats["established"].tolist())
        for i, pid in enumerate(pids.tolist()):
            figures = per_pid.setdefault(pid, {})
            figures["tcp_opened"] = int(stats["opened"][i])
            figures["tcp_closed"] = int(stats["closed"][i])
        for pid, count in established.items():
            figures = per_pid.setdefault(pid, {})
            figures["tcp_established"] = count
            figures.setdefault("tcp_opened", 0)
            figures.setdefault("tcp_closed", 0)
        _, totals = self._readers["tcp_totals"].read()
        moved = self._delta("tcp_totals", totals.sum(axis=1))
        return {
            "established": sum(established.values()),
            "opened": int(moved[0]),
            "closed": int(moved[1]),
        }

    # -- events and housekeeping -------------------------------------------------------

    def events_fd(self) -> int | None:
        """A descriptor that becomes readable when events wait (for an event loop)."""
        return self._events_fd

    def poll_events(self) -> EventBatch:
        """Decode the events waiting in the ring buffer (without blocking)."""
        bpf = self._result.bpf if self._result else None
        if bpf is None or not self._attached & {"lifecycle", "oom"}:
            return EventBatch()
        bpf.ring_buffer_consume()
        batch = self._decoder.take()
        self._oom_kills.extend(batch.oom_kills)
        return batch

    def recent_oom_kills(self) -> list[OomKill]:
        return list(self._oom_kills)

    def sweep(self, alive: set[int]) -> int:
        """Free the entries of processes (and threads) that no longer exist; how many.

        The free hook (bpf/exit.c) frees nearly all at once, but the kernel skips a BPF
        program that would run while another is running on the same CPU (the program's
        recursion_misses), and the free tracepoint runs in softirq context, where that
        happens. This catches the rest. Per-thread maps are swept only when more than
        half full: checking every thread id costs a stat() each.
        """
        self._tcp_baseline.forget(self._tcp_baseline.pids() - alive)
        live = np.array(sorted(alive), dtype=U32)
        freed = 0
        for name in ("proc_stats", "tcp_stats", "reclaim_stats", "enqueued", "reclaim_start"):
            reader = self._readers.get(name)
            if reader is None:
                continue
            keys, _ = reader.read()
            if name in PER_THREAD_MAPS and len(keys) <= reader.max_entries // 2:
                continue
            # not in the scan: gone, or started since the scan (then it stays)
            stale = [k for k in np.setdiff1d(keys, live) if not os.path.exists(f"/proc/{k}")]
            reader.delete(np.array(stale, dtype=U32))
            freed += len(stale)
        return freed


def _ring_buffer_epoll_fd(bpf: Any) -> int | None:
    """libbpf's epoll descriptor of bcc's ring buffer manager, if reachable."""
    manager = getattr(bpf, "_ringbuf_manager", None)
    if not manager:
        return None
    for name in ("libbpf.so.1", "libbpf.so.0", "libbcc.so.0"):
        try:
            function = ctypes.CDLL(name).ring_buffer__epoll_fd
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_int
        function.argtypes = [ctypes.c_void_p]
        fd = int(function(manager))
        return fd if fd >= 0 else None
    return None


__all__ = ["BY_NAME", "EbpfCollector", "EbpfConfig", "KernelReading"]
