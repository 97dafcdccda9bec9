"""Which priority levers this machine and this process have, and why not where not.

- nice and ionice: per thread; raising priority and changing other users' processes
  needs CAP_SYS_NICE.
- autogroup: with ``sched_autogroup_enabled`` each session (setsid) is one scheduling
  group, and nice only weighs a task against others of its own session; the session's
  own nice (/proc/<pid>/autogroup) weighs it against other sessions.
- cgroup: ``cpu.weight`` where the cpu controller is on the unified (v2) hierarchy,
  ``cpu.shares`` of the v1 cpu hierarchy otherwise.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

CAP_DAC_OVERRIDE = 1
CAP_SYS_NICE = 23


@dataclass(frozen=True, slots=True)
class Lever:
    available: bool
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"available": self.available, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class CgroupLever:
    """Where per-cgroup CPU weight is set: a hierarchy's mount point and the file name."""

    version: int  # 2 or 1
    mount: Path
    file: str  # "cpu.weight" or "cpu.shares"

    def value_for(self, weight: int) -> int:
        """cpu.weight as is; cpu.shares scaled as systemd does (weight 100 = 1024 shares)."""
        if self.version == 2:
            return weight
        return max(2, round(weight * 1024 / 100))


@dataclass(frozen=True, slots=True)
class Levers:
    nice: Lever
    ionice: Lever
    autogroup: Lever
    cgroup: Lever
    cgroup_lever: CgroupLever | None

    def to_json(self) -> dict[str, Any]:
        cgroup = self.cgroup.to_json()
        if self.cgroup_lever is not None:
            cgroup["version"] = self.cgroup_lever.version
            cgroup["file"] = self.cgroup_lever.file
            cgroup["mount"] = str(self.cgroup_lever.mount)
        return {
            "nice": self.nice.to_json(),
            "ionice": self.ionice.to_json(),
            "autogroup": self.autogroup.to_json(),
            "cgroup": cgroup,
        }


def effective_capabilities(status_text: str) -> int:
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def has_capability(capability: int, proc: Path = Path("/proc")) -> bool:
    try:
        caps = effective_capabilities((proc / "self/status").read_text())
    except OSError:
        return False
    return bool(caps & (1 << capability))


def cgroup_mounts(mounts_text: str) -> tuple[Path | None, Path | None]:
    """(unified mount, v1 mount with the cpu controller) from /proc/self/mounts."""
    unified = v1_cpu = None
    for line in mounts_text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mount, fstype, options = fields[1], fields[2], fields[3].split(",")
        if fstype == "cgroup2" and unified is None:
            unified = Path(mount)
        elif fstype == "cgroup" and "cpu" in options and v1_cpu is None:
            v1_cpu = Path(mount)
    return unified, v1_cpu


def find_cgroup_lever(proc: Path = Path("/proc")) -> tuple[CgroupLever | None, str]:
    try:
        unified, v1_cpu = cgroup_mounts((proc / "self/mounts").read_text())
    except OSError as exc:
        return None, f"cannot read the mount table: {exc.strerror}"
    if unified is not None:
        try:
            controllers = (unified / "cgroup.controllers").read_text().split()
        except OSError:
            controllers = []
        if "cpu" in controllers:
            return CgroupLever(2, unified, "cpu.weight"), ""
    if v1_cpu is not None and (v1_cpu / "cpu.shares").exists():
        return CgroupLever(1, v1_cpu, "cpu.shares"), ""
    if unified is not None:
        return None, "the cpu controller is on neither the unified nor a v1 hierarchy"
    return None, "no cgroup hierarchy with the cpu controller is mounted"


def detect(proc: Path = Path("/proc")) -> Levers:
    nice_ok = has_capability(CAP_SYS_NICE, proc)
    no_nice = "no CAP_SYS_NICE (not running as root)"
    nice = Lever(True) if nice_ok else Lever(False, no_nice)
    ionice = Lever(True) if nice_ok else Lever(False, no_nice)
    try:
        enabled = (proc / "sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        enabled = False
    if not enabled:
        autogroup = Lever(False, "autogroup scheduling is off (or not in this kernel)")
    elif not nice_ok:
        autogroup = Lever(False, no_nice)
    elif not has_capability(CAP_DAC_OVERRIDE, proc):
        autogroup = Lever(False, "no CAP_DAC_OVERRIDE: other users' autogroup files are theirs")
    else:
        autogroup = Lever(True)
    cgroup_lever, reason = find_cgroup_lever(proc)
    if cgroup_lever is None:
        cgroup = Lever(False, reason)
    elif not nice_ok:
        cgroup, cgroup_lever = Lever(False, no_nice), None
    else:
        cgroup = Lever(True, f"{cgroup_lever.file} (cgroup v{cgroup_lever.version})")
    return Levers(nice, ionice, autogroup, cgroup, cgroup_lever)
