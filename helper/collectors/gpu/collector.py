"""The GPU collector: devices from sysfs, use per device and per process from DRM fdinfo,
sysfs (amdgpu) and NVML (NVIDIA). All paths are under ``GpuConfig.root``.

    collector = GpuCollector(GpuConfig())
    collector.start()          # finds the GPUs (fast; sysfs only)
    collector.start_nvml()     # loads NVML where an NVIDIA GPU is (slow: run it in a thread)
    sample = collector.read(processes)   # GpuSample, or None when switched off
    collector.close()

With no GPU at all a sample costs nothing but a look for new GPUs every
``devices_every`` samples.
"""

import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smoothtask_helper.collectors.gpu.clients import REVISIT_EVERY, DrmClient, DrmClients
from smoothtask_helper.collectors.gpu.errors import LogOnce
from smoothtask_helper.collectors.gpu.nvml import NOT_AVAILABLE, NvmlReading, NvmlSource
from smoothtask_helper.collectors.gpu.sysfs import (
    DrmCard,
    SysfsReader,
    drm_class_problem,
    find_cards,
    nvidia_pci_devices,
)
from smoothtask_helper.gpu_model import NO_GPU_STATS, GpuDevice, GpuProcessStats, GpuSample
from smoothtask_helper.model import JsonDict, ProcessSample

log = logging.getLogger(__name__)

# Drivers whose DRM fdinfo has engine busy time (their docs in the kernel's
# Documentation/gpu/): with no client open, such a GPU is idle, not unknown.
ENGINE_STATS_DRIVERS = frozenset(
    {"amdgpu", "i915", "xe", "msm", "panfrost", "panthor", "v3d", "lima"}
)
SWITCHED_OFF = "GPU monitoring is switched off (--no-gpu)"
NO_FIGURES = GpuProcessStats(gpu_percent=0.0, gpu_memory_bytes=0)


@dataclass(frozen=True)
class GpuConfig:
    enabled: bool = True
    root: Path = Path("/")  # where sys/ and proc/ are: tests use synthetic trees
    revisit_every: int = REVISIT_EVERY  # samples between looks at one process's fds
    devices_every: int = 60  # samples between looks for GPUs that appeared
    nvml: bool = True


class GpuCollector:
    def __init__(
        self,
        config: GpuConfig | None = None,
        nvml_library: Any | None = None,
        clock: Callable[[], int] = time.monotonic_ns,  # tests give the time between reads
    ) -> None:
        self.config = config or GpuConfig()
        self._clock = clock
        self._problems = LogOnce(log)
        self._cards: list[DrmCard] = []
        self._sysfs: dict[str, SysfsReader] = {}
        self._clients = DrmClients(
            self.config.root / "proc", self._problems, self.config.revisit_every
        )
        self._nvml = NvmlSource(self._problems, nvml_library)
        self._nvidia: list[str] = []
        self._samples = 0
        self._devices = 0

    # -- life --------------------------------------------------------------------------

    def start(self) -> None:
        """Find the GPUs (a few sysfs files). Never raises."""
        if self.config.enabled:
            self._discover()

    def start_nvml(self) -> None:
        """Load NVML where an NVIDIA GPU is on the PCI bus. Blocking; never raises."""
        if not self.config.enabled:
            self._nvml.reason = SWITCHED_OFF
        elif not self.config.nvml:
            self._nvml.reason = NOT_AVAILABLE + "switched off in the settings"
        elif not self._nvidia:
            self._nvml.reason = NOT_AVAILABLE + "no NVIDIA GPU on the PCI bus"
        else:
            self._nvml.start()
        if self._nvml.available:
            log.info("NVML: %d NVIDIA GPU(s)", self._nvml.gpu_count)
        else:
            log.info("%s", self._nvml.reason)

    def close(self) -> None:
        self._nvml.close()

    def _discover(self) -> None:
        root = self.config.root
        cards = find_cards(root)
        if [c.card for c in cards] != [c.card for c in self._cards]:
            found = ", ".join(f"{c.card} {c.name} ({c.driver})" for c in cards)
            log.info("GPUs: %s", found or "none")
        self._cards = cards
        self._sysfs = {
            c.card: self._sysfs.get(c.card) or SysfsReader(c, self._problems) for c in cards
        }
        self._nvidia = nvidia_pci_devices(root)
        if not self._samples:
            self._devices = len(cards)

    # -- reading -----------------------------------------------------------------------

    def read(self, processes: Iterable[ProcessSample]) -> GpuSample | None:
        """The GPUs now and each process's GPU use over the last interval."""
        if not self.config.enabled:
            return None
        self._samples += 1
        if self._samples % self.config.devices_every == 0:
            self._discover()
        nvml = self._nvml.read() if self._nvml.available else None
        if not self._cards and nvml is None:
            self._devices = 0
            return GpuSample()  # no GPU: nothing to do each sample
        processes = tuple(processes)
        if self._cards:
            alive = {p.pid for p in processes if not p.kernel_thread}
            self._clients.update(alive, self._clock())
        devices = self._read_devices(nvml)
        self._devices = len(devices)
        per_pid = self._per_process(nvml)
        # Root sees every process's fds; otherwise only its own user's are known.
        sees_all = os.geteuid() == 0 or not self._cards
        own = os.geteuid()
        keyed = {}
        for p in processes:
            stats = per_pid.get(p.pid)
            if stats is None and not sees_all and p.uid == own:
                stats = NO_FIGURES
            if stats is not None:
                keyed[(p.pid, p.start_time)] = stats
        return GpuSample(
            devices=tuple(devices),
            processes=keyed,
            default_stats=NO_FIGURES if sees_all else NO_GPU_STATS,
        )

    def _read_devices(self, nvml: NvmlReading | None) -> list[GpuDevice]:
        by_slot = {d.pci_slot: d for d in nvml.devices} if nvml else {}
        devices = []
        clients = list(self._clients.clients.values())
        for card in self._cards:
            mine = [c for c in clients if _belongs(c, card)]
            devices.append(self._device(card, mine, by_slot.pop(card.pci_slot or "", None)))
        for rest in by_slot.values():  # NVIDIA GPUs without a DRM card (no nvidia-drm)
            devices.append(
                GpuDevice(
                    id=rest.pci_slot,
                    name=rest.name,
                    driver="nvidia",
                    source="nvml",
                    utilisation_percent=rest.utilisation_percent,
                    memory_used_bytes=rest.memory_used_bytes,
                    memory_total_bytes=rest.memory_total_bytes,
                )
            )
        return devices

    def _device(self, card: DrmCard, clients: list[DrmClient], nvml: Any) -> GpuDevice:
        engines: dict[str, float] = {}
        for client in clients:
            for engine, percent in client.busy.items():
                engines[engine] = engines.get(engine, 0.0) + percent
        engines = {e: round(min(p, 100.0), 1) for e, p in sorted(engines.items())}
        common: dict[str, Any] = {
            "id": card.id,
            "name": card.name,
            "driver": card.driver,
            "card": card.card,
            "pci_id": card.pci_id,
            "engines": tuple(engines.items()),
            "clients": len(clients),
        }
        if nvml is not None:
            common["name"] = nvml.name  # the driver's own name beats a PCI database's
            return GpuDevice(
                **common,
                source="nvml",
                utilisation_percent=nvml.utilisation_percent,
                memory_used_bytes=nvml.memory_used_bytes,
                memory_total_bytes=nvml.memory_total_bytes,
            )
        figures = self._sysfs[card.card].read()
        if figures.busy_percent is not None:
            return GpuDevice(
                **common,
                source="sysfs",
                utilisation_percent=figures.busy_percent,
                memory_used_bytes=figures.vram_used_bytes,
                memory_total_bytes=figures.vram_total_bytes,
            )
        if engines or card.driver in ENGINE_STATS_DRIVERS:
            return GpuDevice(
                **common,
                source="fdinfo",
                utilisation_percent=max(engines.values(), default=0.0),
                # what its clients hold, in every region; the size of the whole is unknown
                memory_used_bytes=sum(c.memory_bytes for c in clients),
                memory_total_bytes=figures.vram_total_bytes,
            )
        return GpuDevice(
            **common,
            source="sysfs",
            memory_used_bytes=figures.vram_used_bytes,
            memory_total_bytes=figures.vram_total_bytes,
        )

    def _per_process(self, nvml: NvmlReading | None) -> dict[int, GpuProcessStats]:
        busy: dict[int, dict[tuple[str, str], float]] = {}
        memory: dict[int, int] = {}
        for client in self._clients.clients.values():
            owner = client.owner
            engines = busy.setdefault(owner, {})
            for engine, percent in client.busy.items():
                key = (client.key[0], engine)
                engines[key] = engines.get(key, 0.0) + percent
            memory[owner] = memory.get(owner, 0) + client.memory_bytes
        out = {
            pid: GpuProcessStats(
                gpu_percent=round(min(max(engines.values(), default=0.0), 100.0), 1),
                gpu_memory_bytes=memory[pid],
            )
            for pid, engines in busy.items()
        }
        for pid, process in (nvml.processes if nvml else {}).items():
            have = out.get(pid, NO_GPU_STATS)
            percents = [p for p in (have.gpu_percent, process.percent) if p is not None]
            memories = [m for m in (have.gpu_memory_bytes, process.memory_bytes) if m is not None]
            out[pid] = GpuProcessStats(
                gpu_percent=round(max(percents), 1) if percents else None,
                gpu_memory_bytes=sum(memories) if memories else None,
            )
        return out

    # -- status ------------------------------------------------------------------------

    def status(self) -> JsonDict:
        """Which GPU sources run here, and why not."""
        if not self.config.enabled:
            return off_status()
        root = self.config.root
        problem = drm_class_problem(root)
        if not problem and not self._cards:
            problem = "no GPU: no card* in /sys/class/drm"
        fdinfo_reason = "no DRM device to follow" if not self._cards else ""
        if self._cards and os.geteuid() != 0:
            fdinfo_reason = (
                f"not running as root: only the processes of uid {os.geteuid()} are seen"
            )
        return {
            "enabled": True,
            "devices": self._devices,
            "sysfs": {"available": not problem, "reason": problem},
            "fdinfo": {
                "available": bool(self._cards),
                "reason": fdinfo_reason,
                "clients": len(self._clients.clients),
                "fd_links_read": self._clients.links_read,
                "revisit_every_samples": self._clients.revisit_every,
            },
            "nvml": {"available": self._nvml.available, "reason": self._nvml.reason},
        }


def off_status() -> JsonDict:
    """The status of GPU monitoring that is switched off."""
    sources = ("sysfs", "fdinfo", "nvml")
    return {
        "enabled": False,
        "devices": 0,
        **{s: {"available": False, "reason": SWITCHED_OFF} for s in sources},
    }


def _belongs(client: DrmClient, card: DrmCard) -> bool:
    if client.pdev is not None:
        return client.pdev == card.pci_slot
    return client.driver == card.driver
