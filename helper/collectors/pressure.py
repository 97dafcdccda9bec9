"""Pressure stall information (PSI) from /proc/pressure/{cpu,io,memory}.

psutil has no PSI reader, and the format is two short lines per file.
"""

from pathlib import Path

from smoothtask_helper.model import Pressure, PressureLine

RESOURCES = ("cpu", "io", "memory")


def parse_pressure(text: str) -> Pressure:
    """Parse one pressure file, e.g. ``some avg10=0.00 avg60=0.00 avg300=0.00 total=0``."""
    lines: dict[str, PressureLine] = {}
    for raw in text.splitlines():
        kind, _, rest = raw.partition(" ")
        values = dict(item.split("=", 1) for item in rest.split())
        lines[kind] = PressureLine(
            avg10=float(values["avg10"]),
            avg60=float(values["avg60"]),
            avg300=float(values["avg300"]),
            total_us=int(values["total"]),
        )
    if "some" not in lines:
        raise ValueError("pressure file has no 'some' line")
    return Pressure(some=lines["some"], full=lines.get("full"))


def read_pressure(root: Path = Path("/proc/pressure")) -> dict[str, Pressure] | None:
    """All three resources, or None where the kernel has no PSI (CONFIG_PSI off or psi=0)."""
    out: dict[str, Pressure] = {}
    for resource in RESOURCES:
        try:
            out[resource] = parse_pressure((root / resource).read_text())
        except (OSError, ValueError, KeyError):
            return None
    return out
