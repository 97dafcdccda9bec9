"""GPUs from synthetic /sys trees: amdgpu, i915, none; the figures amdgpu publishes."""

import logging
from pathlib import Path

import pytest

from smoothtask_helper.collectors.gpu.errors import LogOnce
from smoothtask_helper.collectors.gpu.sysfs import (
    SysfsFigures,
    SysfsReader,
    drm_class_problem,
    find_cards,
    nvidia_pci_devices,
)
from tests.gpu.trees import AMD_SLOT, INTEL_SLOT, NVIDIA_SLOT, Tree

AMDGPU_FILES = {
    "gpu_busy_percent": "37\n",
    "mem_info_vram_used": "1073741824\n",
    "mem_info_vram_total": "17163091968\n",
    "power/runtime_status": "active\n",
}
PCI_IDS = """# a few lines of pci.ids
1002  Advanced Micro Devices, Inc. [AMD/ATI]
\t73bf  Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]
\t\t1002 0e3a  Radeon RX 6900 XT
8086  Intel Corporation
\t3e92  CoffeeLake-S GT2 [UHD Graphics 630]
\t5917  UHD Graphics 620
C 03  Display controller
"""


@pytest.fixture
def problems() -> LogOnce:
    return LogOnce(logging.getLogger("test"))


def test_amdgpu_and_intel_cards(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.card("card1", "amdgpu", AMD_SLOT, "1002:73bf", AMDGPU_FILES)
    tree.card("card0", "i915", INTEL_SLOT, "8086:3e92")
    (tmp_path / "usr/share/misc").mkdir(parents=True)
    (tmp_path / "usr/share/misc/pci.ids").write_text(PCI_IDS)
    intel, amd = find_cards(tmp_path)  # in card order; connectors and render nodes left out
    assert (intel.card, intel.driver, intel.id, intel.pci_id) == (
        "card0",
        "i915",
        INTEL_SLOT,
        "8086:3e92",
    )
    assert intel.name == "Intel CoffeeLake-S GT2 [UHD Graphics 630]"
    assert not intel.has_busy and not intel.has_vram
    assert (amd.card, amd.driver, amd.id) == ("card1", "amdgpu", AMD_SLOT)
    assert amd.name == "AMD/ATI Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]"
    assert amd.has_busy and amd.has_vram
    assert drm_class_problem(tmp_path) == ""


def test_names_without_a_pci_database(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.card("card0", "amdgpu", AMD_SLOT, "1002:73bf", {"product_name": "AMD Radeon RX 6800\n"})
    tree.card("card1", "i915", INTEL_SLOT, "8086:5917")
    tree.card("card2", "panfrost", None, None)  # not on PCI: named after its card
    amd, intel, arm = find_cards(tmp_path)
    assert amd.name == "AMD Radeon RX 6800"  # the board's own name, where amdgpu has it
    assert intel.name == "Intel GPU 8086:5917"
    assert (arm.name, arm.id, arm.pci_slot) == ("panfrost GPU", "card2", None)


def test_no_gpu(tmp_path: Path) -> None:
    Tree(tmp_path)
    assert find_cards(tmp_path) == []
    assert "no /sys/class/drm" in drm_class_problem(tmp_path)
    (tmp_path / "sys/class/drm").mkdir()
    assert find_cards(tmp_path) == [] and drm_class_problem(tmp_path) == ""


def test_a_malformed_card_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tree = Tree(tmp_path)
    tree.card("card0", "i915", INTEL_SLOT, "8086:3e92")
    bad = tree.card("card1", "amdgpu", AMD_SLOT, "1002:73bf")
    (bad / "uevent").write_text("DRIVER=amdgpu\nPCI_ID=XYZ:73BF\nPCI_SLOT_NAME=0000:03:00.0\n")
    assert [c.card for c in find_cards(tmp_path)] == ["card0"]
    assert "skipping GPU card1" in caplog.text and "PCI_ID" in caplog.text


def test_amdgpu_figures(tmp_path: Path, problems: LogOnce) -> None:
    Tree(tmp_path).card("card0", "amdgpu", AMD_SLOT, "1002:73bf", AMDGPU_FILES)
    (card,) = find_cards(tmp_path)
    assert SysfsReader(card, problems).read() == SysfsFigures(37.0, 1073741824, 17163091968)


def test_a_suspended_gpu_is_idle_and_left_asleep(tmp_path: Path, problems: LogOnce) -> None:
    files = AMDGPU_FILES | {"power/runtime_status": "suspended\n", "gpu_busy_percent": "oops"}
    Tree(tmp_path).card("card0", "amdgpu", AMD_SLOT, "1002:73bf", files)
    (card,) = find_cards(tmp_path)
    # its files are not read (the malformed one would be logged if it were)
    assert SysfsReader(card, problems).read() == SysfsFigures(busy_percent=0.0)


def test_malformed_figures_are_skipped_and_logged_once(
    tmp_path: Path, problems: LogOnce, caplog: pytest.LogCaptureFixture
) -> None:
    files = AMDGPU_FILES | {"gpu_busy_percent": "busy\n", "mem_info_vram_used": "140\n"}
    device = Tree(tmp_path).card("card0", "amdgpu", AMD_SLOT, "1002:73bf", files)
    (card,) = find_cards(tmp_path)
    reader = SysfsReader(card, problems)
    for _ in range(3):
        assert reader.read() == SysfsFigures(None, 140, 17163091968)
    assert caplog.text.count("gpu_busy_percent") == 1
    (device / "gpu_busy_percent").write_text("250\n")
    assert reader.read().busy_percent is None
    assert "not a percentage" in caplog.text


def test_nvidia_on_the_pci_bus(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.pci_device("0000:00:1f.3", 0x8086, 0x040300)  # audio
    tree.pci_device(NVIDIA_SLOT, 0x10DE, 0x030000)  # VGA
    tree.pci_device("0000:01:00.1", 0x10DE, 0x040300)  # its HDMI audio
    assert nvidia_pci_devices(tmp_path) == [NVIDIA_SLOT]
    assert nvidia_pci_devices(tmp_path / "nothing") == []
