"""Synthetic /sys and /proc trees for the GPU collector, and fdinfo texts as the kernel's
drivers write them (Documentation/gpu/ of the kernel: drm-usage-stats.rst, i915, xe,
amdgpu). The collector takes a root, so it reads these exactly as it reads the real ones."""

import os
from pathlib import Path

from smoothtask_helper.model import ProcessSample

AMD_SLOT = "0000:03:00.0"
INTEL_SLOT = "0000:00:02.0"
NVIDIA_SLOT = "0000:01:00.0"


def amdgpu_fdinfo(client_id: int, gfx_ns: int, vram_kib: int = 262144, gtt_kib: int = 6144) -> str:
    return f"""pos:\t0
flags:\t02100002
mnt_id:\t24
ino:\t1095
drm-driver:\tamdgpu
drm-client-id:\t{client_id}
drm-pdev:\t{AMD_SLOT}
pasid:\t32770
drm-total-cpu:\t0
drm-resident-cpu:\t0
drm-total-gtt:\t{gtt_kib} KiB
drm-shared-gtt:\t0
drm-resident-gtt:\t{gtt_kib} KiB
drm-total-vram:\t{vram_kib} KiB
drm-shared-vram:\t0
drm-active-vram:\t0
drm-resident-vram:\t{vram_kib} KiB
drm-purgeable-vram:\t0
amd-evicted-vram:\t0 KiB
amd-requested-vram:\t{vram_kib} KiB
drm-engine-gfx:\t{gfx_ns} ns
drm-engine-compute:\t0 ns
drm-engine-dec:\t0 ns
"""


def i915_fdinfo(client_id: int, render_ns: int, video_ns: int = 0, resident_mib: int = 12) -> str:
    return f"""pos:\t0
flags:\t02100002
mnt_id:\t25
ino:\t1049
drm-driver:\ti915
drm-client-id:\t{client_id}
drm-pdev:\t{INTEL_SLOT}
drm-total-system0:\t{resident_mib * 2} MiB
drm-shared-system0:\t0
drm-active-system0:\t0
drm-resident-system0:\t{resident_mib} MiB
drm-purgeable-system0:\t0
drm-total-stolen-system0:\t0
drm-resident-stolen-system0:\t0
drm-engine-render:\t{render_ns} ns
drm-engine-copy:\t0 ns
drm-engine-video:\t{video_ns} ns
drm-engine-capacity-video:\t2
drm-engine-video-enhance:\t0 ns
"""


def xe_fdinfo(client_id: int, rcs_cycles: int, ccs_cycles: int, gpu_timestamp: int) -> str:
    return f"""pos:\t0
flags:\t02100002
drm-driver:\txe
drm-client-id:\t{client_id}
drm-pdev:\t{INTEL_SLOT}
drm-total-system:\t0
drm-total-gtt:\t192 KiB
drm-resident-gtt:\t192 KiB
drm-total-vram0:\t23992 KiB
drm-resident-vram0:\t23992 KiB
drm-cycles-rcs:\t{rcs_cycles}
drm-total-cycles-rcs:\t{gpu_timestamp}
drm-cycles-ccs:\t{ccs_cycles}
drm-total-cycles-ccs:\t{gpu_timestamp}
drm-engine-capacity-ccs:\t4
"""


class Tree:
    """A root with sys/ and proc/ as the collector expects them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "sys" / "class").mkdir(parents=True, exist_ok=True)
        (root / "proc").mkdir(exist_ok=True)

    def card(
        self,
        name: str,
        driver: str,
        slot: str | None,
        pci_id: str | None,
        files: dict[str, str] | None = None,
    ) -> Path:
        device = self.root / "sys/class/drm" / name / "device"
        device.mkdir(parents=True)
        uevent = [f"DRIVER={driver}"]
        if slot is not None and pci_id is not None:
            uevent += ["PCI_CLASS=30000", f"PCI_ID={pci_id.upper()}", f"PCI_SLOT_NAME={slot}"]
        (device / "uevent").write_text("\n".join(uevent) + "\n")
        for relative, text in (files or {}).items():
            (device / relative).parent.mkdir(parents=True, exist_ok=True)
            (device / relative).write_text(text)
        # the render node and a connector sit beside the card: neither is a GPU of its own
        (self.root / "sys/class/drm/renderD128").mkdir(exist_ok=True)
        (self.root / "sys/class/drm" / f"{name}-DP-1").mkdir(exist_ok=True)
        return device

    def pci_device(self, slot: str, vendor: int, pci_class: int) -> None:
        folder = self.root / "sys/bus/pci/devices" / slot
        folder.mkdir(parents=True)
        (folder / "vendor").write_text(f"0x{vendor:04x}\n")
        (folder / "class").write_text(f"0x{pci_class:06x}\n")

    def fd(self, pid: int, fd: int, target: str, fdinfo: str = "pos:\t0\nflags:\t02\n") -> None:
        """An open file of a process: its link and its fdinfo."""
        for folder in ("fd", "fdinfo"):
            (self.root / "proc" / str(pid) / folder).mkdir(parents=True, exist_ok=True)
        link = self.root / "proc" / str(pid) / "fd" / str(fd)
        if link.is_symlink():
            link.unlink()
        os.symlink(target, link)
        (self.root / "proc" / str(pid) / "fdinfo" / str(fd)).write_text(fdinfo)

    def close_fd(self, pid: int, fd: int) -> None:
        (self.root / "proc" / str(pid) / "fd" / str(fd)).unlink()
        (self.root / "proc" / str(pid) / "fdinfo" / str(fd)).unlink()

    def set_fdinfo(self, pid: int, fd: int, text: str) -> None:
        (self.root / "proc" / str(pid) / "fdinfo" / str(fd)).write_text(text)


def process(pid: int, uid: int = 1000, comm: str = "app") -> ProcessSample:
    return ProcessSample(
        pid=pid,
        start_time=1700000000.0 + pid,
        comm=comm,
        uid=uid,
        ppid=1,
        state="S",
        threads=1,
        cpu_percent=0.0,
        rss_bytes=0,
        nice=0,
        ionice="none",
        kernel_thread=False,
        process_class="NORMAL",
        process_type="unclassified",
    )
