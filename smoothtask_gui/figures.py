"""What the dashboard plots, taken out of a ``Sample`` summary (pure: no Qt here)."""

import math

import numpy as np
import numpy.typing as npt

from smoothtask_helper.model import JsonDict

LATENCY_SLOTS = 64  # the helper's histogram slots (docs/ebpf.md)
IO_PREFIX = "io_p99:"  # one series per block device, named by the device
GPU_PLOT = "GPU"


def sample_values(sample: JsonDict) -> dict[str, float]:
    """The plotted figures of one sample; a figure the helper cannot give is absent."""
    memory = sample["memory"]
    swap_total = memory["swap_total_bytes"]
    values = {
        "cpu": float(sample["cpu"]["percent"]),
        "memory": float(memory["percent"]),
        "swap": 100.0 * memory["swap_used_bytes"] / swap_total if swap_total else 0.0,
    }
    psi = sample.get("psi")
    if psi:
        for resource in ("cpu", "io", "memory"):
            values[f"psi_{resource}"] = float(psi[resource]["some_avg10"])
    runqueue = sample.get("runqueue_latency_us")
    if runqueue:
        for q in ("p50", "p95", "p99"):
            if runqueue.get(q) is not None:
                values[f"rq_{q}"] = float(runqueue[q])
    io = sample.get("io_latency_us")
    if io:
        for device, figures in io.get("devices", {}).items():
            if figures.get("p99") is not None:
                values[IO_PREFIX + device] = float(figures["p99"])
    tcp = sample.get("tcp")
    if tcp:
        interval = float(sample.get("interval_s") or 1.0)
        values["tcp_established"] = float(tcp["established"])
        values["tcp_opened"] = float(tcp["opened"]) / interval
        values["tcp_closed"] = float(tcp["closed"]) / interval
    values.update(gpu_values(sample.get("gpu")))
    return {k: v for k, v in values.items() if math.isfinite(v)}


def gpu_values(gpus: list[JsonDict] | None) -> dict[str, float]:
    """The busiest GPU's utilisation and the memory used on all GPUs that tell both
    figures; absent where no GPU gives them (a gap in the plot, not a zero)."""
    values = {}
    busy = [
        float(d["utilisation_percent"]) for d in gpus or () if d["utilisation_percent"] is not None
    ]
    if busy:
        values["gpu_busy"] = max(busy)
    sized = [
        (d["memory_used_bytes"], d["memory_total_bytes"])
        for d in gpus or ()
        if d["memory_used_bytes"] is not None and d["memory_total_bytes"]
    ]
    if sized:
        values["gpu_memory"] = 100.0 * sum(u for u, _ in sized) / sum(t for _, t in sized)
    return values


def gpu_title(gpus: list[JsonDict] | None) -> str:
    """The GPU plot's title: which GPUs it shows, or why none."""
    if gpus is None:
        return f"{GPU_PLOT} (monitoring off)"
    if not gpus:
        return f"{GPU_PLOT} (no GPU found)"
    return f"{GPU_PLOT}: " + ", ".join(f"{d['name']} ({d['driver']})" for d in gpus)


def latency_row(sample: JsonDict) -> npt.NDArray[np.float64] | None:
    """The run-queue latency histogram of the sample interval, or None without eBPF."""
    runqueue = sample.get("runqueue_latency_us")
    if not runqueue or len(runqueue.get("histogram", ())) != LATENCY_SLOTS:
        return None
    return np.asarray(runqueue["histogram"], dtype=np.float64)


def slot_label(slot: int) -> str:
    """The upper bound of a latency slot, for an axis: "4 µs", "1.5 ms", "2 s"."""
    if slot < 2:
        us = float(slot + 1)
    else:
        octave, half = divmod(slot, 2)
        us = 2.0**octave + (half + 1) * 2.0 ** (octave - 1)
    return duration_label(us)


def duration_label(us: float) -> str:
    """Microseconds as a person writes them: "4 µs", "1.5 ms", "2 s"."""
    for unit, size in (("s", 1e6), ("ms", 1e3)):
        if us >= size:
            return f"{us / size:.3g} {unit}"
    return f"{us:.3g} µs"


def ebpf_note(status: JsonDict) -> str:
    """One line on the eBPF collector for the person: empty when all is well."""
    ebpf = status.get("ebpf") or {}
    state = ebpf.get("state", "unknown")
    if state == "ready":
        off = [n for n, p in (status.get("probes") or {}).items() if not p.get("available")]
        return f"eBPF probes off: {', '.join(sorted(off))}" if off else ""
    if state == "loading":
        return "eBPF probes are loading…"
    reasons = {p.get("reason", "") for p in (status.get("probes") or {}).values()}
    reason = "; ".join(sorted(r for r in reasons if r)) or state
    return f"eBPF unavailable ({reason}): run-queue, I/O and TCP figures are missing"
