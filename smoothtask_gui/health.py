"""How the system is doing, in one word, from a ``Sample``: drives the tray icon's colour."""

from enum import Enum
from typing import Any

from smoothtask_helper.model import JsonDict


class Health(Enum):
    DISCONNECTED = "disconnected"
    OK = "ok"
    BUSY = "busy"
    STRAINED = "strained"


# PSI avg10 thresholds (percent). "Strained" follows the defaults of established
# pressure monitors: cpu some 50, memory some 10, io full 15; "busy" is a fraction of that.
STRAINED = {("cpu", "some_avg10"): 50.0, ("memory", "some_avg10"): 10.0, ("io", "full_avg10"): 15.0}
BUSY_FRACTION = 0.4

COLOURS = {
    Health.DISCONNECTED: "#8a8f98",
    Health.OK: "#3fb950",
    Health.BUSY: "#d29922",
    Health.STRAINED: "#f85149",
}


def assess(sample: JsonDict | None) -> Health:
    if sample is None:
        return Health.DISCONNECTED
    psi: dict[str, Any] | None = sample.get("psi")
    if not psi:
        return Health.OK  # without PSI there is nothing to judge pressure by yet
    worst = 0.0
    for (resource, key), limit in STRAINED.items():
        value = float(psi.get(resource, {}).get(key, 0.0))
        worst = max(worst, value / limit)
    if worst >= 1.0:
        return Health.STRAINED
    if worst >= BUSY_FRACTION:
        return Health.BUSY
    return Health.OK
