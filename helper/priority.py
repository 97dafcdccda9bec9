"""Priority values the actuator sets, the class table, and the guardrails on both.

Guardrails (BRIEF.md): never real-time scheduling (no real-time I/O class either), never
nice below -10. Everything that accepts a value from a rule, a setting or the bus parses
it here, so the limits live in one place.
"""

from dataclasses import dataclass
from typing import Final

import psutil

from smoothtask_helper.api import CLASSES
from smoothtask_helper.errors import InvalidArgument, shown

MIN_NICE: Final = -10  # guardrail: a rule or setting asking for less is refused
MAX_NICE: Final = 19
MIN_WEIGHT, MAX_WEIGHT = 1, 10000  # cgroup v2 cpu.weight range
DEFAULT_WEIGHT: Final = 100

# psutil's I/O class numbers, named as in ``ionice`` and in the snapshot
IOCLASS_NONE = int(psutil.IOPRIO_CLASS_NONE)
IOCLASS_BE = int(psutil.IOPRIO_CLASS_BE)
IOCLASS_IDLE = int(psutil.IOPRIO_CLASS_IDLE)
IOCLASS_RT = int(psutil.IOPRIO_CLASS_RT)

REALTIME_WORDS = frozenset({"realtime", "real-time", "rt", "fifo", "rr", "deadline"})


@dataclass(frozen=True, slots=True)
class IoPriority:
    ioclass: int  # IOCLASS_*
    level: int  # 0..7, only meaningful for best-effort (and real-time)

    def __str__(self) -> str:
        if self.ioclass == IOCLASS_BE:
            return f"best-effort/{self.level}"
        if self.ioclass == IOCLASS_IDLE:
            return "idle"
        if self.ioclass == IOCLASS_RT:
            return f"realtime/{self.level}"
        return "none"


def parse_ionice(text: object) -> IoPriority:
    """``best-effort/N`` (N 0..7) or ``idle``; real-time is refused (guardrail)."""
    if not isinstance(text, str):
        raise InvalidArgument(
            f"ionice must be a string like 'best-effort/4' or 'idle', not {shown(text)}"
        )
    word, _, level = text.partition("/")
    if word.lower() in REALTIME_WORDS:
        raise InvalidArgument(
            f"ionice {shown(text)}: the real-time I/O class is never used by SmoothTask"
        )
    if word == "idle" and not level:
        return IoPriority(IOCLASS_IDLE, 0)
    if word == "best-effort" and level.isdigit() and 0 <= int(level) <= 7:
        return IoPriority(IOCLASS_BE, int(level))
    raise InvalidArgument(f"ionice {shown(text)}: use 'best-effort/N' with N 0..7, or 'idle'")


def check_nice(value: object, what: str = "nice") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{what} must be an integer, not {shown(value)}")
    if value < MIN_NICE:
        raise InvalidArgument(
            f"{what} {value} is below {MIN_NICE}: SmoothTask never sets nice below {MIN_NICE}"
        )
    if value > MAX_NICE:
        raise InvalidArgument(f"{what} {value} is above {MAX_NICE}")
    return value


def check_weight(value: object, what: str = "cpu_weight") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{what} must be an integer, not {shown(value)}")
    if not MIN_WEIGHT <= value <= MAX_WEIGHT:
        raise InvalidArgument(f"{what} {value} is outside {MIN_WEIGHT}..{MAX_WEIGHT}")
    return value


def refuse_realtime_sched(value: object, where: str) -> None:
    """Rules may not ask for a scheduling policy; real-time gets the guardrail's reason."""
    if isinstance(value, str) and value.lower() in REALTIME_WORDS:
        raise InvalidArgument(
            f"{where}: real-time scheduling ({shown(value)}) is never used by SmoothTask"
        )
    raise InvalidArgument(
        f"{where}: SmoothTask does not change scheduling policies ({shown(value)}); "
        "use a class or nice"
    )


def check_class(name: object) -> str:
    if not isinstance(name, str) or name not in CLASSES:
        shown = repr(name)[:40]
        raise InvalidArgument(f"unknown class {shown}: use one of {', '.join(CLASSES)}")
    return name


@dataclass(frozen=True, slots=True)
class Priority:
    """What the actuator sets on a process (nice, ionice) and on a whole cgroup (weight)."""

    nice: int
    ionice: IoPriority
    cpu_weight: int

    def to_json(self) -> dict[str, object]:
        return {"nice": self.nice, "ionice": str(self.ionice), "cpu_weight": self.cpu_weight}


# The starting point from BRIEF.md; settings may change each value within the guardrails.
DEFAULT_CLASS_TABLE: Final[dict[str, Priority]] = {
    "CRIT_INTERACTIVE": Priority(-8, IoPriority(IOCLASS_BE, 0), 200),
    "INTERACTIVE": Priority(-4, IoPriority(IOCLASS_BE, 2), 150),
    "NORMAL": Priority(0, IoPriority(IOCLASS_BE, 4), 100),
    "BACKGROUND": Priority(19, IoPriority(IOCLASS_BE, 7), 10),
    "IDLE": Priority(19, IoPriority(IOCLASS_IDLE, 0), 1),
}

# Order of "importance": a focused app is raised only from these classes; a build in the
# focused terminal stays BACKGROUND.
BOOSTABLE: Final = frozenset({"NORMAL", "INTERACTIVE"})
