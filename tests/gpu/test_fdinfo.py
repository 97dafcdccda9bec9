"""DRM fdinfo parsing, on texts as amdgpu, i915 and xe write them."""

import pytest

from smoothtask_helper.collectors.gpu import GpuDataError
from smoothtask_helper.collectors.gpu.fdinfo import EngineCounters, parse_fdinfo
from tests.gpu.trees import AMD_SLOT, INTEL_SLOT, amdgpu_fdinfo, i915_fdinfo, xe_fdinfo


def test_amdgpu() -> None:
    info = parse_fdinfo(amdgpu_fdinfo(42, gfx_ns=1_000_000_000))
    assert info is not None
    assert (info.driver, info.client_id, info.pdev) == ("amdgpu", 42, AMD_SLOT)
    assert info.engines["gfx"] == EngineCounters(busy_ns=1_000_000_000)
    assert set(info.engines) == {"gfx", "compute", "dec"}
    # resident per region; the amd- keys and drm-shared/active/purgeable are not memory held
    assert info.memory == {"cpu": 0, "gtt": 6144 * 1024, "vram": 262144 * 1024}
    assert info.memory_bytes == (6144 + 262144) * 1024


def test_i915_capacity_and_resident_memory() -> None:
    info = parse_fdinfo(i915_fdinfo(7, render_ns=5, video_ns=9, resident_mib=12))
    assert info is not None
    assert info.engines["video"] == EngineCounters(busy_ns=9, capacity=2)
    assert info.engines["video-enhance"] == EngineCounters(busy_ns=0)
    assert info.engines["render"].capacity == 1  # absent: one engine
    # drm-total- (24 MiB) is what was created; drm-resident- (12 MiB) is what is held
    assert info.memory == {"system0": 12 * 1024**2, "stolen-system0": 0}
    assert info.pdev == INTEL_SLOT


def test_xe_cycles_are_not_memory() -> None:
    info = parse_fdinfo(xe_fdinfo(10, rcs_cycles=100, ccs_cycles=0, gpu_timestamp=5000))
    assert info is not None
    assert info.engines["rcs"] == EngineCounters(cycles=100, total_cycles=5000)
    assert info.engines["ccs"] == EngineCounters(cycles=0, total_cycles=5000, capacity=4)
    assert info.memory == {"system": 0, "gtt": 192 * 1024, "vram0": 23992 * 1024}


def test_older_drivers_memory_alias() -> None:
    text = (
        "drm-driver: amdgpu\ndrm-client-id: 3\ndrm-memory-vram:\t1024 KiB\ndrm-memory-gtt: 2 MiB\n"
    )
    info = parse_fdinfo(text)
    assert info is not None
    assert info.memory == {"vram": 1024**2, "gtt": 2 * 1024**2}
    assert info.pdev is None


def test_a_file_that_is_no_drm_client() -> None:
    assert parse_fdinfo("pos:\t0\nflags:\t0100002\nmnt_id:\t15\nino:\t7\n") is None


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("drm-engine-gfx: lots ns", "drm-engine-gfx"),
        ("drm-engine-gfx: 12 ms", "drm-engine-gfx"),
        ("drm-resident-vram: 12 TiB", "drm-resident-vram"),
        ("drm-engine-capacity-video: 0", "capacity must be at least 1"),
        ("drm-client-id: -3", "drm-client-id"),
        ("drm-total-cycles-rcs: 1e9", "drm-total-cycles-rcs"),
    ],
)
def test_malformed_figures_are_named(line: str, named: str) -> None:
    with pytest.raises(GpuDataError, match=named):
        parse_fdinfo(f"drm-driver: i915\n{line}\n")


def test_empty_driver_is_malformed() -> None:
    with pytest.raises(GpuDataError, match="drm-driver"):
        parse_fdinfo("drm-driver:\t\ndrm-client-id: 1\n")
