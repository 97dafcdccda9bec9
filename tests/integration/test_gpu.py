"""GPU figures over D-Bus from the real helper: what this machine has (no GPU here, in
CI neither), what status says about each source, and GPU monitoring switched off."""

import os
from pathlib import Path

from tests.support.bus import HelperProcess, PrivateBus


def drm_cards() -> list[str]:
    try:
        return sorted(
            n for n in os.listdir("/sys/class/drm") if n[4:].isdigit() and n[:4] == "card"
        )
    except OSError:
        return []


def test_gpu_status_and_snapshot(helper: HelperProcess) -> None:
    status = helper.status()
    gpu = status["gpu"]
    assert gpu["enabled"] is True
    assert set(gpu) >= {"devices", "sysfs", "fdinfo", "nvml"}
    for source in ("sysfs", "fdinfo", "nvml"):
        assert isinstance(gpu[source]["available"], bool)
        assert gpu[source]["available"] or gpu[source]["reason"], source
    snapshot = helper.snapshot()
    assert isinstance(snapshot["gpu"], list)  # a list while monitoring runs, even empty
    assert [d["card"] for d in snapshot["gpu"] if d["card"]] == drm_cards()
    assert gpu["devices"] == len(snapshot["gpu"])
    assert all({"gpu_percent", "gpu_memory_bytes"} <= set(p) for p in snapshot["processes"])
    if not drm_cards() and not gpu["nvml"]["available"]:  # this machine, CI
        assert snapshot["gpu"] == []
        assert gpu["sysfs"]["available"] is False
        assert gpu["nvml"]["reason"].startswith("NVML: not available: ")
        assert status["collectors"]["gpu"]["available"] is False
        assert all(p["gpu_percent"] is None for p in snapshot["processes"])


def test_switched_off(own_bus: PrivateBus, tmp_path: Path) -> None:
    helper = HelperProcess(
        own_bus.address, tmp_path / "helper.log", extra_args=("--no-gpu", "--no-ebpf")
    ).start()
    try:
        snapshot = helper.snapshot()
        assert snapshot["gpu"] is None
        status = helper.status()
        assert status["gpu"]["enabled"] is False
        assert status["gpu"]["nvml"]["reason"] == "GPU monitoring is switched off (--no-gpu)"
        assert status["collectors"]["gpu"] == {"available": False, "reason": "switched off"}
    finally:
        assert helper.stop() == 0
