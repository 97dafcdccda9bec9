"""Engine utilisation from two readings of a DRM client's counters (pure arithmetic).

Per drm-usage-stats.rst: busy time in ns over the wall time between the readings, or busy
GPU cycles over the GPU's own timestamp (drm-total-cycles, xe), which needs no wall clock;
both divided by the engine's capacity (identical engines behind one name). Counters may
briefly go backwards; then the larger previous value stands until they catch up.
"""

from smoothtask_helper.collectors.gpu.fdinfo import EngineCounters


def engine_percent(before: EngineCounters, after: EngineCounters, elapsed_ns: int) -> float | None:
    """Busy percent (0..100) of one engine for one client; None where it cannot be told."""
    capacity = max(after.capacity, 1)
    if before.busy_ns is not None and after.busy_ns is not None:
        if elapsed_ns <= 0:
            return None
        busy = max(after.busy_ns - before.busy_ns, 0)
        return _clamp(100.0 * busy / (elapsed_ns * capacity))
    cycles = (before.cycles, after.cycles, before.total_cycles, after.total_cycles)
    match cycles:
        case (int(busy_before), int(busy_after), int(total_before), int(total_after)):
            span = total_after - total_before
            if span <= 0:  # both readings caught the same GPU tick: no interval to judge
                return None
            return _clamp(100.0 * max(busy_after - busy_before, 0) / (span * capacity))
    return None


def baseline(before: EngineCounters | None, after: EngineCounters) -> EngineCounters:
    """What the next reading is compared with: each counter's larger value."""
    if before is None:
        return after
    return EngineCounters(
        busy_ns=_larger(before.busy_ns, after.busy_ns),
        cycles=_larger(before.cycles, after.cycles),
        total_cycles=_larger(before.total_cycles, after.total_cycles),
        capacity=after.capacity,
    )


def _larger(a: int | None, b: int | None) -> int | None:
    if a is None or b is None:
        return b
    return max(a, b)


def _clamp(percent: float) -> float:
    return min(max(percent, 0.0), 100.0)
