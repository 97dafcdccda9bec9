"""GPUs in /sys/class/drm, and what their drivers publish in sysfs (amdgpu: busy percent
and VRAM). Every path is under a root, so tests run on synthetic trees."""

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from smoothtask_helper.collectors.gpu.errors import GpuDataError, LogOnce
from smoothtask_helper.collectors.gpu.pciids import gpu_name

log = logging.getLogger(__name__)

DRM_CLASS = "sys/class/drm"
PCI_DEVICES = "sys/bus/pci/devices"
CARD = re.compile(r"card\d+")  # card0, not card0-HDMI-A-1 (a connector) nor renderD128
NVIDIA_VENDOR = 0x10DE
DISPLAY_CLASS = 0x03  # PCI base class "display controller"


@dataclass(frozen=True)
class DrmCard:
    card: str  # "card0"
    device: Path  # <root>/sys/class/drm/card0/device
    driver: str  # "" while no driver is bound
    pci_slot: str | None  # "0000:03:00.0"; None for a device not on PCI
    pci_id: str | None  # "1002:73bf"
    name: str
    has_busy: bool  # the driver publishes gpu_busy_percent (amdgpu)
    has_vram: bool  # ... and mem_info_vram_used / _total

    @property
    def id(self) -> str:
        return self.pci_slot or self.card


@dataclass(frozen=True)
class SysfsFigures:
    busy_percent: float | None = None
    vram_used_bytes: int | None = None
    vram_total_bytes: int | None = None


def drm_class_problem(root: Path) -> str:
    """Why there is nothing to look at in /sys/class/drm, or ""."""
    if not (root / DRM_CLASS).is_dir():
        return "no /sys/class/drm: the kernel has no DRM support, or no GPU driver is loaded"
    return ""


def find_cards(root: Path) -> list[DrmCard]:
    """The GPUs (DRM cards) under root, in card order; unreadable ones are skipped."""
    try:
        names = os.listdir(root / DRM_CLASS)
    except OSError:
        return []
    cards = []
    for name in sorted(n for n in names if CARD.fullmatch(n)):
        try:
            cards.append(_card(root, name))
        except (OSError, GpuDataError) as exc:
            log.warning("skipping GPU %s: %s", name, exc)
    return cards


def _card(root: Path, name: str) -> DrmCard:
    device = root / DRM_CLASS / name / "device"
    uevent = read_uevent(device / "uevent")
    slot = uevent.get("PCI_SLOT_NAME")
    pci_id = uevent.get("PCI_ID", "").lower() or None
    driver = uevent.get("DRIVER", "")
    label = _product_name(device)
    if label is None and pci_id is not None:
        vendor, _, model = pci_id.partition(":")
        try:
            label = gpu_name(root, int(vendor, 16), int(model, 16))
        except ValueError:
            raise GpuDataError(f"{device / 'uevent'}: PCI_ID={pci_id!r} is not vvvv:dddd") from None
    return DrmCard(
        card=name,
        device=device,
        driver=driver,
        pci_slot=slot.lower() if slot else None,
        pci_id=pci_id,
        name=label or (f"{driver} GPU" if driver else name),
        has_busy=(device / "gpu_busy_percent").exists(),
        has_vram=(device / "mem_info_vram_used").exists(),
    )


def read_uevent(path: Path) -> dict[str, str]:
    """KEY=value lines (DRIVER, PCI_ID, PCI_SLOT_NAME, ...)."""
    out = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def _product_name(device: Path) -> str | None:
    try:
        text = (device / "product_name").read_text(errors="replace").strip()
    except OSError:
        return None
    return text or None  # amdgpu leaves it empty where the board does not say


def nvidia_pci_devices(root: Path) -> list[str]:
    """PCI slots of NVIDIA display controllers: where NVML is worth starting."""
    folder = root / PCI_DEVICES
    try:
        slots = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for slot in slots:
        try:
            vendor = int((folder / slot / "vendor").read_text(), 16)
            pci_class = int((folder / slot / "class").read_text(), 16)
        except (OSError, ValueError):
            continue
        if vendor == NVIDIA_VENDOR and pci_class >> 16 == DISPLAY_CLASS:
            found.append(slot.lower())
    return found


class SysfsReader:
    """Reads one card's busy percent and VRAM each sample, without waking it up."""

    def __init__(self, card: DrmCard, problems: LogOnce) -> None:
        self.card = card
        self._problems = problems
        self._vram_total: int | None = None  # fixed: read once while the GPU is awake

    def read(self) -> SysfsFigures:
        card = self.card
        if not (card.has_busy or card.has_vram):
            return SysfsFigures()
        if self._runtime_suspended():
            # asleep: nothing runs on it, and reading its files could wake it on some
            # kernels (amdgpu took a runtime-PM reference for them before Linux 6.x)
            return SysfsFigures(busy_percent=0.0, vram_total_bytes=self._vram_total)
        busy = self._integer("gpu_busy_percent") if card.has_busy else None
        if busy is not None and not 0 <= busy <= 100:
            self._problems.warning(
                f"{card.device}/gpu_busy_percent:range",
                "ignoring %s/gpu_busy_percent: %d is not a percentage",
                card.device,
                busy,
            )
            busy = None
        used = self._integer("mem_info_vram_used") if card.has_vram else None
        if card.has_vram and self._vram_total is None:
            self._vram_total = self._integer("mem_info_vram_total")
        return SysfsFigures(
            busy_percent=None if busy is None else float(busy),
            vram_used_bytes=used,
            vram_total_bytes=self._vram_total,
        )

    def _runtime_suspended(self) -> bool:
        try:
            status = (self.card.device / "power" / "runtime_status").read_text().strip()
        except OSError:
            return False  # no runtime power management: always awake
        return status == "suspended"

    def _integer(self, name: str) -> int | None:
        path = self.card.device / name
        try:
            text = path.read_text().strip()
        except OSError as exc:  # e.g. EBUSY while the GPU resets
            self._problems.warning(f"{path}:{exc.errno}", "cannot read %s: %s", path, exc)
            return None
        if not text.isdigit():
            self._problems.warning(
                f"{path}:format", "ignoring %s: %r is not a whole number", path, text
            )
            return None
        return int(text)
