"""The GPU collector end to end on synthetic /sys and /proc trees: an amdgpu machine, an
Intel (i915, xe) machine and a machine without a GPU."""

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from smoothtask_helper.collectors.gpu import GpuCollector, GpuConfig
from smoothtask_helper.gpu_model import GpuDevice, GpuProcessStats
from tests.gpu.test_sysfs import AMDGPU_FILES
from tests.gpu.trees import (
    AMD_SLOT,
    INTEL_SLOT,
    Tree,
    amdgpu_fdinfo,
    i915_fdinfo,
    process,
    xe_fdinfo,
)

SECOND = 1_000_000_000
RENDER = "/dev/dri/renderD128"


def ticking(step_ns: int = SECOND) -> Callable[[], int]:
    """A clock that moves one sample interval per read."""
    counter = itertools.count(1)
    return lambda: next(counter) * step_ns


def collector_on(tree: Tree, **config: object) -> GpuCollector:
    config.setdefault("revisit_every", 1)  # every process looked at from the first sample
    collector = GpuCollector(GpuConfig(root=tree.root, **config), clock=ticking())  # type: ignore[arg-type]
    collector.start()
    collector.start_nvml()
    return collector


def test_amdgpu_machine(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.card("card0", "amdgpu", AMD_SLOT, "1002:73bf", AMDGPU_FILES | {"product_name": "RX 6800"})
    tree.fd(200, 5, RENDER, amdgpu_fdinfo(42, gfx_ns=0, vram_kib=4096, gtt_kib=1024))
    tree.fd(300, 3, "/dev/pts/1")
    procs = (process(200, comm="game"), process(300, comm="shell"))
    collector = collector_on(tree)
    collector.read(procs)
    tree.set_fdinfo(200, 5, amdgpu_fdinfo(42, gfx_ns=SECOND // 4, vram_kib=4096, gtt_kib=1024))
    sample = collector.read(procs)
    assert sample is not None
    (device,) = sample.devices
    assert device == GpuDevice(
        id=AMD_SLOT,
        name="RX 6800",
        driver="amdgpu",
        source="sysfs",  # utilisation and VRAM from amdgpu's own files
        card="card0",
        pci_id="1002:73bf",
        utilisation_percent=37.0,
        memory_used_bytes=1073741824,
        memory_total_bytes=17163091968,
        engines=(("compute", 0.0), ("dec", 0.0), ("gfx", 25.0)),  # from the clients
        clients=1,
    )
    game, shell = procs
    assert sample.stats_for(game) == GpuProcessStats(gpu_percent=25.0, gpu_memory_bytes=5 * 1024**2)
    assert sample.stats_for(shell) == GpuProcessStats(gpu_percent=0.0, gpu_memory_bytes=0)
    status = collector.status()
    assert status["devices"] == 1
    assert status["sysfs"] == {"available": True, "reason": ""}
    assert status["fdinfo"]["available"] and status["fdinfo"]["clients"] == 1
    assert status["nvml"] == {
        "available": False,
        "reason": "NVML: not available: no NVIDIA GPU on the PCI bus",
    }


def test_intel_machine_from_fdinfo(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.card("card0", "i915", INTEL_SLOT, "8086:3e92")
    tree.fd(200, 4, RENDER, i915_fdinfo(7, render_ns=0, video_ns=0, resident_mib=12))
    tree.fd(201, 4, RENDER, i915_fdinfo(7, render_ns=0, video_ns=0, resident_mib=12))  # shared
    tree.fd(300, 9, "/dev/dri/card0", i915_fdinfo(8, render_ns=0, resident_mib=30))
    procs = (process(200, comm="mpv"), process(201, comm="mpv-child"), process(300, comm="kwin"))
    collector = collector_on(tree)
    collector.read(procs)
    tree.set_fdinfo(
        200, 4, i915_fdinfo(7, render_ns=SECOND // 10, video_ns=SECOND, resident_mib=12)
    )
    tree.set_fdinfo(
        201, 4, i915_fdinfo(7, render_ns=SECOND // 10, video_ns=SECOND, resident_mib=12)
    )
    tree.set_fdinfo(300, 9, i915_fdinfo(8, render_ns=SECOND // 5, resident_mib=30))
    sample = collector.read(procs)
    assert sample is not None
    (device,) = sample.devices
    assert device.source == "fdinfo"
    engines = dict(device.engines)
    assert engines["render"] == pytest.approx(30.0)  # 10% + 20%: two clients, not three fds
    assert engines["video"] == pytest.approx(50.0)  # one of its two video engines
    assert device.utilisation_percent == pytest.approx(50.0)  # the busiest engine
    assert device.memory_used_bytes == 42 * 1024**2 and device.memory_total_bytes is None
    assert device.clients == 2
    mpv, child, kwin = procs
    assert sample.stats_for(mpv) == GpuProcessStats(50.0, 12 * 1024**2)
    assert sample.stats_for(child) == GpuProcessStats(0.0, 0)  # counted once, in its parent
    assert sample.stats_for(kwin) == GpuProcessStats(20.0, 30 * 1024**2)


def test_xe_cycles(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.card("card0", "xe", INTEL_SLOT, "8086:56a0")
    tree.fd(200, 4, RENDER, xe_fdinfo(10, rcs_cycles=0, ccs_cycles=0, gpu_timestamp=1000))
    procs = (process(200),)
    collector = collector_on(tree)
    collector.read(procs)
    tree.set_fdinfo(200, 4, xe_fdinfo(10, rcs_cycles=750, ccs_cycles=2000, gpu_timestamp=2000))
    sample = collector.read(procs)
    assert sample is not None
    assert dict(sample.devices[0].engines) == {"ccs": 50.0, "rcs": 75.0}


def test_an_idle_intel_gpu_is_idle_and_an_unknown_driver_unknown(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.card("card0", "i915", INTEL_SLOT, "8086:3e92")
    tree.card("card1", "virtio_gpu", "0000:00:05.0", "1af4:1050")
    sample = collector_on(tree).read([process(200)])
    assert sample is not None
    intel, virtio = sample.devices
    assert (intel.source, intel.utilisation_percent, intel.clients) == ("fdinfo", 0.0, 0)
    assert (virtio.source, virtio.utilisation_percent) == ("sysfs", None)
    assert virtio.name == "virtio GPU 1af4:1050"


def test_machine_without_gpu(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.fd(200, 4, RENDER, i915_fdinfo(7, render_ns=0))  # even so: no device, no look
    collector = collector_on(tree)
    procs = [process(200)]
    for _ in range(3):
        sample = collector.read(procs)
        assert sample is not None
        assert sample.devices == ()
        assert sample.devices_json() == []
        assert sample.stats_for(procs[0]) == GpuProcessStats(None, None)  # nothing measures it
    status = collector.status()
    assert status["devices"] == 0
    assert status["fdinfo"]["fd_links_read"] == 0  # nothing was done per sample
    assert status["sysfs"] == {
        "available": False,
        "reason": "no /sys/class/drm: the kernel has no DRM support, or no GPU driver is loaded",
    }
    assert status["fdinfo"]["available"] is False
    assert status["nvml"]["available"] is False


def test_a_gpu_that_appears_is_found(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    collector = collector_on(tree, devices_every=3)
    collector.read([])
    tree.card("card0", "i915", INTEL_SLOT, "8086:3e92")  # a driver loaded, an eGPU plugged
    second, third = collector.read([]), collector.read([])
    assert second is not None and second.devices == ()  # looked for every 3rd sample
    assert third is not None and [d.card for d in third.devices] == ["card0"]


def test_switched_off(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.card("card0", "i915", INTEL_SLOT, "8086:3e92")
    collector = collector_on(tree, enabled=False)
    assert collector.read([process(1)]) is None
    status = collector.status()
    assert status["enabled"] is False
    assert status["nvml"]["reason"] == "GPU monitoring is switched off (--no-gpu)"
