"""GPU names from the PCI ID database (pci.ids, Debian's pci.ids package, hwdata
elsewhere), read once per device at discovery."""

import logging
from pathlib import Path

log = logging.getLogger(__name__)

PCI_IDS = ("usr/share/misc/pci.ids", "usr/share/hwdata/pci.ids")
# Where no database is installed: the vendor at least.
VENDORS = {0x1002: "AMD", 0x8086: "Intel", 0x10DE: "NVIDIA", 0x1AF4: "virtio", 0x15AD: "VMware"}


def gpu_name(root: Path, vendor: int, device: int) -> str:
    """ "AMD/ATI Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]", or "AMD GPU 1002:73bf"."""
    for relative in PCI_IDS:
        found = _lookup(root / relative, vendor, device)
        if found is not None:
            return found
    return f"{VENDORS.get(vendor, 'PCI')} GPU {vendor:04x}:{device:04x}"


def _lookup(path: Path, vendor: int, device: int) -> str | None:
    vendor_key, device_key = f"{vendor:04x}  ", f"\t{device:04x}  "
    vendor_name = None
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if vendor_name is None:
                    if line.startswith(vendor_key):
                        vendor_name = _short_vendor(line[len(vendor_key) :].strip())
                elif line.startswith(device_key):
                    return f"{vendor_name} {line[len(device_key) :].strip()}"
                elif line[:1] not in ("\t", "#", "\n"):
                    break  # the next vendor: this one has no such device
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("cannot read the PCI ID database %s: %s", path, exc)
        return None
    return f"{vendor_name} {vendor:04x}:{device:04x}" if vendor_name else None


def _short_vendor(name: str) -> str:
    """ "Advanced Micro Devices, Inc. [AMD/ATI]" -> "AMD/ATI"; "Intel Corporation" -> "Intel"."""
    if name.endswith("]") and "[" in name:
        return name[name.rindex("[") + 1 : -1]
    return name.split(maxsplit=1)[0] if name else name
