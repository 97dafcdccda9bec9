"""NVML (NVIDIA): absent -> a clear status and no error; the library's own errors.

There is no NVIDIA GPU on the test machines, so no real NVML driver can answer here. The
absent cases use the real package (made unimportable, or with no libnvidia-ml.so.1 to
load). Where a driver's answers are needed, ``StandInNvml`` stands in for the driver
only: it raises pynvml's own error classes and returns pynvml's own structures.
"""

import ctypes.util
import logging
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest

from smoothtask_helper.collectors.gpu import GpuCollector, GpuConfig
from smoothtask_helper.collectors.gpu.errors import LogOnce
from smoothtask_helper.collectors.gpu.nvml import NvmlSource, pci_slot
from smoothtask_helper.gpu_model import GpuProcessStats
from tests.conftest import require
from tests.gpu.trees import NVIDIA_SLOT, Tree, process

GIB = 1024**3


def nvidia_machine(tmp_path: Path, drm_card: bool = True) -> Tree:
    tree = Tree(tmp_path)
    tree.pci_device(NVIDIA_SLOT, 0x10DE, 0x030000)
    if drm_card:  # nvidia-drm loaded: the GPU is a DRM card too, with no figures there
        tree.card("card0", "nvidia", NVIDIA_SLOT, "10de:2335")
    return tree


def started(tree: Tree, library: Any | None = None) -> GpuCollector:
    collector = GpuCollector(GpuConfig(root=tree.root), nvml_library=library)
    collector.start()
    collector.start_nvml()
    return collector


def test_package_not_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # "import pynvml" raises ImportError
    collector = started(nvidia_machine(tmp_path))
    nvml = collector.status()["nvml"]
    assert nvml["available"] is False
    assert nvml["reason"].startswith(
        "NVML: not available: nvidia-ml-py (module pynvml) is not installed"
    )
    sample = collector.read([process(100)])  # no error: the GPU is listed, figures unknown
    assert sample is not None
    (device,) = sample.devices
    assert (device.driver, device.source, device.utilisation_percent) == ("nvidia", "sysfs", None)


def test_driver_library_missing_with_the_real_package(tmp_path: Path) -> None:
    require(
        ctypes.util.find_library("nvidia-ml") is None,
        "this machine has libnvidia-ml: the missing-library case cannot happen here",
    )
    collector = started(nvidia_machine(tmp_path))
    assert collector.status()["nvml"] == {
        "available": False,
        "reason": "NVML: not available: NVMLError_LibraryNotFound (NVML Shared Library Not "
        "Found): libnvidia-ml.so.1 is missing (is the NVIDIA driver installed?)",
    }
    assert collector.read([]) is not None


def test_not_even_imported_without_an_nvidia_gpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    collector = started(Tree(tmp_path))
    assert "pynvml" not in sys.modules
    assert collector.status()["nvml"]["reason"] == (
        "NVML: not available: no NVIDIA GPU on the PCI bus"
    )


class StandInNvml:
    """The parts of pynvml the collector calls, answering as one H200 would; errors and
    structures are pynvml's own. ``failing`` maps a function name to the NVML error code
    it raises."""

    NVMLError = pynvml.NVMLError
    NVMLError_NotFound = pynvml.NVMLError_NotFound
    NVMLError_LibraryNotFound = pynvml.NVMLError_LibraryNotFound
    NVMLError_DriverNotLoaded = pynvml.NVMLError_DriverNotLoaded
    NVMLError_NoPermission = pynvml.NVMLError_NoPermission
    NVML_SUCCESS = pynvml.NVML_SUCCESS

    def __init__(self, failing: dict[str, int] | None = None) -> None:
        self.failing = failing or {}
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)  # a function the collector should not call

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.failing:
            raise pynvml.NVMLError(self.failing[name])

    def nvmlInit(self) -> None:
        self._call("nvmlInit")

    def nvmlShutdown(self) -> None:
        self._call("nvmlShutdown")

    def nvmlDeviceGetCount(self) -> int:
        self._call("nvmlDeviceGetCount")
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        self._call("nvmlDeviceGetHandleByIndex")
        return f"gpu{index}"

    def nvmlDeviceGetName(self, handle: str) -> bytes:
        self._call("nvmlDeviceGetName")
        return b"NVIDIA H200"

    def nvmlDeviceGetPciInfo(self, handle: str) -> SimpleNamespace:
        self._call("nvmlDeviceGetPciInfo")
        return SimpleNamespace(busId="00000000:01:00.0")

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> Any:
        self._call("nvmlDeviceGetUtilizationRates")
        return pynvml.c_nvmlUtilization_t(gpu=87, memory=40)

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> Any:
        self._call("nvmlDeviceGetMemoryInfo")
        return pynvml.c_nvmlMemory_t(total=141 * GIB, free=121 * GIB, used=20 * GIB)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: str) -> list[Any]:
        self._call("nvmlDeviceGetComputeRunningProcesses")
        return [_process(4242, 16 * GIB), _process(4343, 4 * GIB)]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: str) -> list[Any]:
        self._call("nvmlDeviceGetGraphicsRunningProcesses")
        return [_process(4343, 4 * GIB)]  # in both lists: its memory counts once

    def nvmlDeviceGetProcessUtilization(self, handle: str, since: int) -> list[Any]:
        self._call("nvmlDeviceGetProcessUtilization")
        sample = pynvml.c_nvmlProcessUtilizationSample_t
        return [
            sample(pid=4242, timeStamp=since + 10, smUtil=80),
            sample(pid=4242, timeStamp=since + 20, smUtil=90),
        ]


def _process(pid: int, used: int) -> Any:
    return pynvml.nvmlStructToFriendlyObject(
        pynvml.c_nvmlProcessInfo_v3_t(pid=pid, usedGpuMemory=used)
    )


def test_figures_from_nvml(tmp_path: Path) -> None:
    collector = started(nvidia_machine(tmp_path), StandInNvml())
    assert collector.status()["nvml"] == {"available": True, "reason": ""}
    procs = (process(4242, comm="train"), process(4343, comm="Xorg"), process(1, comm="init"))
    sample = collector.read(procs)
    assert sample is not None
    (device,) = sample.devices  # the DRM card and the NVML device are one GPU
    assert (device.card, device.name, device.source) == ("card0", "NVIDIA H200", "nvml")
    assert device.utilisation_percent == 87.0
    assert (device.memory_used_bytes, device.memory_total_bytes) == (20 * GIB, 141 * GIB)
    train, xorg, init = procs
    assert sample.stats_for(train) == GpuProcessStats(85.0, 16 * GIB)
    assert sample.stats_for(xorg) == GpuProcessStats(0.0, 4 * GIB)  # no SM samples: idle
    assert sample.stats_for(init) == GpuProcessStats(0.0, 0)
    collector.close()


def test_an_nvidia_gpu_without_a_drm_card(tmp_path: Path) -> None:
    collector = started(nvidia_machine(tmp_path, drm_card=False), StandInNvml())
    sample = collector.read([])
    assert sample is not None
    (device,) = sample.devices
    assert (device.id, device.card, device.driver, device.source) == (
        NVIDIA_SLOT,
        None,
        "nvidia",
        "nvml",
    )


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "the nvidia kernel module is not loaded"),
        (pynvml.NVML_ERROR_NO_PERMISSION, "no permission to open the NVIDIA device"),
        (pynvml.NVML_ERROR_UNKNOWN, "initialising NVML failed: NVMLError_Unknown"),
    ],
)
def test_init_errors_are_a_status(tmp_path: Path, code: int, reason: str) -> None:
    library = StandInNvml({"nvmlInit": code})
    collector = started(nvidia_machine(tmp_path), library)
    nvml = collector.status()["nvml"]
    assert nvml["available"] is False
    assert nvml["reason"].startswith("NVML: not available: ") and reason in nvml["reason"]
    assert collector.read([process(1)]) is not None
    assert library.calls == ["nvmlInit"]  # nothing more is asked of a library that failed


def test_listing_fails(tmp_path: Path) -> None:
    library = StandInNvml({"nvmlDeviceGetCount": pynvml.NVML_ERROR_UNINITIALIZED})
    collector = started(nvidia_machine(tmp_path), library)
    assert collector.status()["nvml"]["reason"] == (
        "NVML: not available: listing the GPUs failed: NVMLError_Uninitialized (Uninitialized)"
    )
    assert library.calls[-1] == "nvmlShutdown"


def test_a_figure_nvml_refuses_is_null_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    library = StandInNvml(
        {
            "nvmlDeviceGetUtilizationRates": pynvml.NVML_ERROR_GPU_IS_LOST,
            "nvmlDeviceGetProcessUtilization": pynvml.NVML_ERROR_NOT_SUPPORTED,
        }
    )
    collector = started(nvidia_machine(tmp_path), library)
    procs = (process(4242),)
    for _ in range(3):
        sample = collector.read(procs)
        assert sample is not None
        (device,) = sample.devices
        assert device.utilisation_percent is None and device.memory_used_bytes == 20 * GIB
        assert sample.stats_for(procs[0]) == GpuProcessStats(None, 16 * GIB)
    assert caplog.text.count("NVMLError_GpuIsLost") == 1
    assert caplog.text.count("NVMLError_NotSupported") == 1


def test_no_process_samples_is_idle() -> None:
    library = StandInNvml({"nvmlDeviceGetProcessUtilization": pynvml.NVML_ERROR_NOT_FOUND})
    source = NvmlSource(LogOnce(logging.getLogger("test")), library)
    source.start()
    assert source.read().processes[4242].percent == 0.0


def test_bus_ids() -> None:
    assert pci_slot("00000000:01:00.0") == "0000:01:00.0"
    assert pci_slot(b"0000:0A:00.0") == "0000:0a:00.0"
