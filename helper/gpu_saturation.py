"""Is a GPU saturated in this sample? Pure logic for the alert engine (its
``gpu-saturation`` alert kind), which adds the duration, cooldown and notification."""

from dataclasses import dataclass

from smoothtask_helper.gpu_model import GpuDevice, GpuSample

BUSY_PERCENT = 95.0  # utilisation at or above which a GPU has nothing left to give
MEMORY_PERCENT = 95.0  # memory use at or above which allocations start to evict or fail


@dataclass(frozen=True)
class Saturation:
    device: GpuDevice
    busy: bool  # utilisation at or above the threshold
    memory_full: bool  # memory use at or above the threshold

    @property
    def why(self) -> str:
        parts = []
        if self.busy:
            parts.append(f"{self.device.utilisation_percent:.0f}% busy")
        if self.memory_full:
            parts.append(f"{memory_percent(self.device):.0f}% of its memory used")
        return f"{self.device.name}: {' and '.join(parts)}"


def saturated(
    gpu: GpuSample | None,
    busy_percent: float = BUSY_PERCENT,
    memory_full_percent: float = MEMORY_PERCENT,
) -> list[Saturation]:
    """The GPUs of this sample that are saturated, and how; a figure that is unknown
    (None) never counts as saturated."""
    found = []
    for device in gpu.devices if gpu is not None else ():
        busy = device.utilisation_percent is not None and device.utilisation_percent >= busy_percent
        memory_full = memory_percent(device) >= memory_full_percent
        if busy or memory_full:
            found.append(Saturation(device, busy, memory_full))
    return found


def memory_percent(device: GpuDevice) -> float:
    """Memory used in percent; 0 where either figure is unknown."""
    used, total = device.memory_used_bytes, device.memory_total_bytes
    if used is None or not total:
        return 0.0
    return 100.0 * used / total
