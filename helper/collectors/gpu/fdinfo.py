"""DRM client usage stats in /proc/<pid>/fdinfo/<fd> (the kernel's
Documentation/gpu/drm-usage-stats.rst): parsing only, no I/O.

    drm-driver:     i915
    drm-pdev:       0000:00:02.0
    drm-client-id:  7
    drm-engine-render:      9288864723 ns
    drm-engine-capacity-video:      2
    drm-cycles-rcs: 28257900            (xe: busy GPU cycles ...
    drm-total-cycles-rcs:   7655183225  ... against a GPU timestamp)
    drm-resident-vram0:     23992 KiB   (drm-memory-<region> is its older alias)
    drm-total-system:       192 KiB     (created, not necessarily resident)
"""

from dataclasses import dataclass, field

from smoothtask_helper.collectors.gpu.errors import GpuDataError

UNITS = {"": 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
# Keys sharing a prefix are told apart longest first ("drm-total-cycles-" is not memory).
ENGINE_CAPACITY = "drm-engine-capacity-"
ENGINE = "drm-engine-"
CYCLES = "drm-cycles-"
TOTAL_CYCLES = "drm-total-cycles-"
RESIDENT = ("drm-resident-", "drm-memory-")  # drm-memory- is the deprecated alias
TOTAL = "drm-total-"


@dataclass(frozen=True, slots=True)
class EngineCounters:
    """One engine's counters as a client sees it (None where the driver gives none)."""

    busy_ns: int | None = None  # drm-engine-<name>: time busy with this client's work
    cycles: int | None = None  # drm-cycles-<name>: busy GPU cycles
    total_cycles: int | None = None  # drm-total-cycles-<name>: the GPU's timestamp
    capacity: int = 1  # drm-engine-capacity-<name>: identical engines behind the name


@dataclass(frozen=True, slots=True)
class DrmFdinfo:
    """The DRM part of one fdinfo file: which client it is, its engines and memory."""

    driver: str
    client_id: int | None = None
    pdev: str | None = None  # PCI slot of the device ("0000:03:00.0"), where it has one
    engines: dict[str, EngineCounters] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)  # region -> bytes

    @property
    def memory_bytes(self) -> int:
        return sum(self.memory.values())


def parse_fdinfo(text: str) -> DrmFdinfo | None:
    """The DRM client in an fdinfo file; None when it is no DRM client (no drm-driver).

    Raises GpuDataError for a DRM client's file whose figures cannot be read.
    """
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.startswith("drm-"):
            pairs[key.strip()] = value.strip()
    driver = pairs.pop("drm-driver", None)
    if driver is None:
        return None
    if not driver:
        raise GpuDataError("drm-driver is empty")
    client_id = pairs.pop("drm-client-id", None)
    pdev = pairs.pop("drm-pdev", None)
    engines: dict[str, dict[str, int]] = {}
    resident: dict[str, int] = {}
    total: dict[str, int] = {}
    for key, value in pairs.items():
        if key.startswith(ENGINE_CAPACITY):
            capacity = _number(key, value, ("",))
            if capacity < 1:
                raise GpuDataError(f"{key}: capacity must be at least 1, not {capacity}")
            engines.setdefault(key.removeprefix(ENGINE_CAPACITY), {})["capacity"] = capacity
        elif key.startswith(ENGINE):
            engines.setdefault(key.removeprefix(ENGINE), {})["busy_ns"] = _number(
                key, value, ("ns", "")
            )
        elif key.startswith(TOTAL_CYCLES):
            engines.setdefault(key.removeprefix(TOTAL_CYCLES), {})["total_cycles"] = _number(
                key, value, ("",)
            )
        elif key.startswith(CYCLES):
            engines.setdefault(key.removeprefix(CYCLES), {})["cycles"] = _number(key, value, ("",))
        elif key.startswith(RESIDENT):
            region = key.split("-", 2)[2]
            resident[region] = _bytes(key, value)
        elif key.startswith(TOTAL):
            total[key.removeprefix(TOTAL)] = _bytes(key, value)
    return DrmFdinfo(
        driver=driver,
        client_id=_number("drm-client-id", client_id, ("",)) if client_id is not None else None,
        pdev=pdev.lower() if pdev else None,
        engines={name: EngineCounters(**counters) for name, counters in engines.items()},
        # resident where the driver says it, else what was created in that region
        memory=total | resident,
    )


def _number(key: str, value: str, units: tuple[str, ...]) -> int:
    number, _, unit = value.partition(" ")
    if unit.strip() not in units or not number.isdigit():
        raise GpuDataError(f"{key}: {value!r} is not a number in {' or '.join(units) or 'no unit'}")
    return int(number)


def _bytes(key: str, value: str) -> int:
    number, _, unit = value.partition(" ")
    scale = UNITS.get(unit.strip())
    if scale is None or not number.isdigit():
        raise GpuDataError(f"{key}: {value!r} is not a size in bytes, KiB or MiB")
    return int(number) * scale
