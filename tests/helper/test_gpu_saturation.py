"""The GPU-saturation verdict the alert engine will use."""

from smoothtask_helper.gpu_model import GpuDevice, GpuSample
from smoothtask_helper.gpu_saturation import saturated

GIB = 1024**3


def device(name: str, busy: float | None, used: int | None, total: int | None) -> GpuDevice:
    return GpuDevice(
        id=name,
        name=name,
        driver="amdgpu",
        source="sysfs",
        utilisation_percent=busy,
        memory_used_bytes=used,
        memory_total_bytes=total,
    )


def test_busy_or_full_memory() -> None:
    sample = GpuSample(
        devices=(
            device("idle", 10.0, 1 * GIB, 16 * GIB),
            device("busy", 99.0, 1 * GIB, 16 * GIB),
            device("full", 20.0, int(15.5 * GIB), 16 * GIB),
            device("unknown", None, 5 * GIB, None),
        )
    )
    found = saturated(sample)
    assert [(s.device.name, s.busy, s.memory_full) for s in found] == [
        ("busy", True, False),
        ("full", False, True),
    ]
    assert found[0].why == "busy: 99% busy"
    assert found[1].why == "full: 97% of its memory used"
    assert saturated(sample, busy_percent=5.0)[0].device.name == "idle"


def test_nothing_to_judge() -> None:
    assert saturated(None) == []
    assert saturated(GpuSample()) == []
