"""How the system is doing, in one word, from a ``Sample``: drives the tray icon's colour."""

from enum import Enum
from typing import Any

from smoothtask_helper.model import JsonDict


class Health(Enum):
    DISCONNECTED = "disconnected"
    OK = "ok"
    BUSY = "busy"
    STRAINED = "strained"


# PSI avg10 thresholds (percent). "Strained" follows the defaults of established
# pressure monitors: cpu some 50, memory some 10, io full 15; "busy" is a fraction of that.
STRAINED = {("cpu", "some_avg10"): 50.0, ("memory", "some_avg10"): 10.0, ("io", "full_avg10"): 15.0}
BUSY_FRACTION = 0.4
# Run-queue latency p99 (µs, from eBPF): a task that waits 40 ms for a CPU misses two or
# three frames; busy from 16 ms (BUSY_FRACTION of it: one frame at 60 Hz).
RUNQUEUE_P99_STRAINED_US = 40_000.0

COLOURS = {
    Health.DISCONNECTED: "#8a8f98",
    Health.OK: "#3fb950",
    Health.BUSY: "#d29922",
    Health.STRAINED: "#f85149",
}


def assess(sample: JsonDict | None) -> Health:
    """From pressure (PSI) and, where eBPF runs, the run-queue latency p99."""
    if sample is None:
        return Health.DISCONNECTED
    worst = 0.0  # 1.0 = strained
    psi: dict[str, Any] | None = sample.get("psi")
    for (resource, key), limit in STRAINED.items() if psi else ():
        value = float((psi or {}).get(resource, {}).get(key, 0.0))
        worst = max(worst, value / limit)
    runqueue = sample.get("runqueue_latency_us") or {}
    p99 = runqueue.get("p99")
    if p99 is not None:
        worst = max(worst, float(p99) / RUNQUEUE_P99_STRAINED_US)
    if worst >= 1.0:
        return Health.STRAINED
    if worst >= BUSY_FRACTION:
        return Health.BUSY
    return Health.OK
