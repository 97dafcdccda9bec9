"""Plain data of the GPU part of a sample: devices and per-process GPU use. No I/O here.

``Snapshot.gpu`` is a ``GpuSample`` while GPU monitoring runs (its device list may be
empty: no GPU found) and None when it is switched off; see docs/dbus-api.md.
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smoothtask_helper.model import ProcessSample

JsonDict = dict[str, Any]

SOURCES = ("sysfs", "fdinfo", "nvml")  # where a device's utilisation and memory come from


@dataclass(frozen=True, slots=True)
class GpuDevice:
    """One GPU at one sample. A figure is None where no source gives it."""

    id: str  # PCI slot ("0000:03:00.0"), else the DRM card's name
    name: str
    driver: str
    source: str  # one of SOURCES: where utilisation_percent (and memory) came from
    card: str | None = None  # "card0"; None for an NVIDIA GPU without nvidia-drm
    pci_id: str | None = None  # "1002:73bf"
    utilisation_percent: float | None = None  # 0..100, over the last sample interval
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    engines: tuple[tuple[str, float], ...] = ()  # (engine, busy percent), from DRM fdinfo
    clients: int | None = None  # open DRM clients (fdinfo); None where not counted

    def to_json(self) -> JsonDict:
        return {
            "id": self.id,
            "name": self.name,
            "driver": self.driver,
            "source": self.source,
            "card": self.card,
            "pci_id": self.pci_id,
            "utilisation_percent": self.utilisation_percent,
            "memory_used_bytes": self.memory_used_bytes,
            "memory_total_bytes": self.memory_total_bytes,
            "engines": dict(self.engines),
            "clients": self.clients,
        }


@dataclass(frozen=True, slots=True)
class GpuProcessStats:
    """A process's GPU use: its busiest engine on any GPU, and its GPU memory on all."""

    gpu_percent: float | None = None
    gpu_memory_bytes: int | None = None

    def to_json(self) -> JsonDict:
        return {"gpu_percent": self.gpu_percent, "gpu_memory_bytes": self.gpu_memory_bytes}


NO_GPU_STATS = GpuProcessStats()  # nothing measures per-process GPU use here


@dataclass(frozen=True, slots=True)
class GpuSample:
    devices: tuple[GpuDevice, ...] = ()
    # keyed by (pid, start_time) as in ProcessSample: never by pid alone
    processes: dict[tuple[int, float], GpuProcessStats] = field(default_factory=dict)
    # what a process without an entry gets: zeros where a per-process source runs
    default_stats: GpuProcessStats = NO_GPU_STATS

    def devices_json(self) -> list[JsonDict]:
        return [device.to_json() for device in self.devices]

    def stats_for(self, process: "ProcessSample") -> GpuProcessStats:
        return self.processes.get((process.pid, process.start_time), self.default_stats)
