"""NVIDIA GPUs through NVML (nvidia-ml-py, module ``pynvml``): utilisation, memory and
per-process use. The proprietary driver publishes none of this in sysfs or DRM fdinfo.

pynvml is imported lazily, and only where an NVIDIA GPU is on the PCI bus. NVML missing
(the package, ``libnvidia-ml.so.1``, or the loaded driver) is a status, never an error:
``available`` is False and ``reason`` says "NVML: not available: <why>".
"""

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

from smoothtask_helper.collectors.gpu.errors import LogOnce

log = logging.getLogger(__name__)

NOT_AVAILABLE = "NVML: not available: "


@dataclass(frozen=True)
class NvmlDevice:
    pci_slot: str  # "0000:01:00.0", as in sysfs
    name: str
    utilisation_percent: float | None
    memory_used_bytes: int | None
    memory_total_bytes: int | None


@dataclass(frozen=True)
class NvmlProcess:
    percent: float | None = None  # streaming-multiprocessor busy share, last interval
    memory_bytes: int | None = None


@dataclass(frozen=True)
class NvmlReading:
    devices: list[NvmlDevice] = field(default_factory=list)
    processes: dict[int, NvmlProcess] = field(default_factory=dict)


@dataclass
class _Gpu:
    handle: Any
    pci_slot: str
    name: str
    last_sample_us: int = 0  # NVML's timestamp of the last process sample seen


def pci_slot(bus_id: str | bytes) -> str:
    """NVML's "00000000:01:00.0" as sysfs writes it: "0000:01:00.0"."""
    text = bus_id.decode() if isinstance(bus_id, bytes) else bus_id
    domain, _, rest = text.strip().lower().partition(":")
    return f"{domain[-4:]:0>4}:{rest}"


class NvmlSource:
    """``library`` is the pynvml module; tests pass a stand-in (there is no NVIDIA GPU on
    the test machines) that raises pynvml's own error classes."""

    def __init__(self, problems: LogOnce, library: Any | None = None) -> None:
        self._library: Any = library  # None until pynvml is imported
        self._problems = problems
        self._gpus: list[_Gpu] = []
        self.available = False
        self.reason = NOT_AVAILABLE + "not started"

    def start(self) -> None:
        """Load NVML and list its GPUs. Never raises."""
        nvml = self._library
        if nvml is None:
            try:
                nvml = importlib.import_module("pynvml")
            except ImportError as exc:
                self.reason = f"{NOT_AVAILABLE}nvidia-ml-py (module pynvml) is not installed: {exc}"
                return
            self._library = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            self.reason = NOT_AVAILABLE + _init_failure(nvml, exc)
            return
        try:
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                name = nvml.nvmlDeviceGetName(handle)
                self._gpus.append(
                    _Gpu(
                        handle=handle,
                        pci_slot=pci_slot(nvml.nvmlDeviceGetPciInfo(handle).busId),
                        name=name.decode() if isinstance(name, bytes) else str(name),
                    )
                )
        except nvml.NVMLError as exc:
            self.reason = f"{NOT_AVAILABLE}listing the GPUs failed: {_describe(exc)}"
            self._gpus = []
            self._shutdown()
            return
        self.available = True
        self.reason = ""

    @property
    def gpu_count(self) -> int:
        return len(self._gpus) if self.available else 0

    def close(self) -> None:
        if self.available:
            self._shutdown()
        self.available = False
        self.reason = NOT_AVAILABLE + "stopped"

    def _shutdown(self) -> None:
        nvml = self._library
        try:
            nvml.nvmlShutdown()
        except nvml.NVMLError as exc:
            log.warning("NVML shutdown failed: %s", _describe(exc))

    def read(self) -> NvmlReading:
        """Each GPU's figures and each process's use now; a figure NVML refuses is None."""
        if not self.available:
            return NvmlReading()
        reading = NvmlReading()
        for gpu in self._gpus:
            reading.devices.append(self._device(gpu))
            for pid, process in self._processes(gpu).items():
                reading.processes[pid] = _merge(reading.processes.get(pid), process)
        return reading

    def _device(self, gpu: _Gpu) -> NvmlDevice:
        utilisation = self._call(gpu, "nvmlDeviceGetUtilizationRates")
        memory = self._call(gpu, "nvmlDeviceGetMemoryInfo")
        return NvmlDevice(
            pci_slot=gpu.pci_slot,
            name=gpu.name,
            utilisation_percent=None if utilisation is None else float(utilisation.gpu),
            memory_used_bytes=None if memory is None else int(memory.used),
            memory_total_bytes=None if memory is None else int(memory.total),
        )

    def _processes(self, gpu: _Gpu) -> dict[int, NvmlProcess]:
        """Processes with GPU contexts (compute and graphics), their memory and SM share."""
        memory: dict[int, int | None] = {}
        for function in (
            "nvmlDeviceGetComputeRunningProcesses",
            "nvmlDeviceGetGraphicsRunningProcesses",
        ):
            for info in self._call(gpu, function) or []:
                used = info.usedGpuMemory  # None where the driver cannot tell (e.g. WDDM)
                known = memory.get(int(info.pid))
                # a process in both lists shows the same memory twice: take it once
                memory[int(info.pid)] = used if known is None else max(known, used or 0)
        percents = self._utilisation(gpu)
        return {
            pid: NvmlProcess(
                percent=None if percents is None else percents.get(pid, 0.0),
                memory_bytes=None if used is None else int(used),
            )
            for pid, used in memory.items()
        }

    def _utilisation(self, gpu: _Gpu) -> dict[int, float] | None:
        """Mean SM share per process over the samples since the last read; None where
        NVML cannot tell (not supported on this GPU)."""
        nvml = self._library
        try:
            samples = nvml.nvmlDeviceGetProcessUtilization(gpu.handle, gpu.last_sample_us)
        except nvml.NVMLError_NotFound:
            return {}  # no process ran on it since the last read
        except nvml.NVMLError as exc:
            if getattr(exc, "value", None) == nvml.NVML_SUCCESS:
                return {}  # pynvml raises "success" when there is no sample at all
            self._problem(gpu, "nvmlDeviceGetProcessUtilization", exc)
            return None
        shares: dict[int, list[float]] = {}
        for sample in samples:
            shares.setdefault(int(sample.pid), []).append(float(sample.smUtil))
            gpu.last_sample_us = max(gpu.last_sample_us, int(sample.timeStamp))
        return {pid: sum(values) / len(values) for pid, values in shares.items()}

    def _call(self, gpu: _Gpu, function: str) -> Any | None:
        nvml = self._library
        try:
            return getattr(nvml, function)(gpu.handle)
        except nvml.NVMLError as exc:
            self._problem(gpu, function, exc)
            return None

    def _problem(self, gpu: _Gpu, function: str, exc: Exception) -> None:
        self._problems.warning(
            f"nvml:{gpu.pci_slot}:{function}:{type(exc).__name__}",
            "NVML %s on %s failed: %s (that figure is null)",
            function,
            gpu.pci_slot,
            _describe(exc),
        )


def _init_failure(nvml: Any, exc: Exception) -> str:
    if isinstance(exc, nvml.NVMLError_LibraryNotFound):
        return f"{_describe(exc)}: libnvidia-ml.so.1 is missing (is the NVIDIA driver installed?)"
    if isinstance(exc, nvml.NVMLError_DriverNotLoaded):
        return f"{_describe(exc)}: the nvidia kernel module is not loaded"
    if isinstance(exc, nvml.NVMLError_NoPermission):
        return f"{_describe(exc)}: no permission to open the NVIDIA device"
    return f"initialising NVML failed: {_describe(exc)}"


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__} ({exc})"


def _merge(a: NvmlProcess | None, b: NvmlProcess) -> NvmlProcess:
    """One process on several NVIDIA GPUs: its busiest share, its memory on all."""
    if a is None:
        return b
    percents = [p for p in (a.percent, b.percent) if p is not None]
    memory = [m for m in (a.memory_bytes, b.memory_bytes) if m is not None]
    return NvmlProcess(
        percent=max(percents) if percents else None,
        memory_bytes=sum(memory) if memory else None,
    )
