"""Alert kinds and their rules: threshold, how long it must hold, cooldown, severity.

Defaults follow established pressure monitors (PSI cpu some avg10 50, memory some avg10
10, io full avg10 15) and what a person notices (a 40 ms wait for a CPU is 2-3 lost
frames). Every rule is a setting.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from smoothtask_helper.errors import InvalidArgument

SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class AlertRule:
    threshold: float  # in the kind's unit (see UNITS)
    duration_s: float  # the condition must hold this long before an alert
    cooldown_s: float  # after an alert ends, the same kind and subject stay quiet this long
    severity: str = "warning"
    enabled: bool = True


UNITS = {
    "runqueue-latency": "µs (system run-queue wait p99)",
    "cpu-pressure": "% (PSI cpu some avg10)",
    "memory-pressure": "% (PSI memory some avg10)",
    "io-pressure": "% (PSI io full avg10)",
    "oom-kill": "(any kill)",
    "cpu-hog": "% of one core (one process, while the user is active)",
    "fork-storm": "new programs started per second by one parent",
    "connection-storm": "TCP connections opened per second by one process",
    "helper-degraded": "(any lost capability)",
    "gpu-saturation": "% (a GPU's utilisation, or its memory used)",
}

DEFAULT_RULES: dict[str, AlertRule] = {
    "runqueue-latency": AlertRule(40_000.0, 5.0, 300.0),
    "cpu-pressure": AlertRule(50.0, 10.0, 300.0),
    "memory-pressure": AlertRule(10.0, 10.0, 300.0),
    "io-pressure": AlertRule(15.0, 10.0, 300.0),
    "oom-kill": AlertRule(0.0, 0.0, 0.0, severity="critical"),
    "cpu-hog": AlertRule(90.0, 30.0, 600.0, severity="info"),
    "fork-storm": AlertRule(20.0, 3.0, 300.0),
    "connection-storm": AlertRule(50.0, 5.0, 300.0),
    "helper-degraded": AlertRule(0.0, 0.0, 3600.0),
    "gpu-saturation": AlertRule(95.0, 10.0, 300.0),
}
KINDS = tuple(DEFAULT_RULES)

LIMITS = {"threshold": (0.0, 1e9), "duration_s": (0.0, 86_400.0), "cooldown_s": (0.0, 604_800.0)}


def rules_from(
    document: Mapping[str, Any], base: Mapping[str, AlertRule] = DEFAULT_RULES
) -> dict[str, AlertRule]:
    """Rules from a settings document ``{kind: {threshold, duration_s, ...}}`` over
    ``base``; anything wrong is an ``InvalidArgument`` naming the kind and field."""
    rules = dict(base)
    for kind, fields in document.items():
        if kind not in DEFAULT_RULES:
            raise InvalidArgument(f"alerts: unknown kind {kind!r} (known: {', '.join(KINDS)})")
        if not isinstance(fields, Mapping):
            raise InvalidArgument(f"alerts.{kind}: expected a table of settings")
        rules[kind] = _rule(kind, rules[kind], fields)
    return rules


def _rule(kind: str, base: AlertRule, fields: Mapping[str, Any]) -> AlertRule:
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        where = f"alerts.{kind}.{name}"
        if name in LIMITS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidArgument(f"{where}: expected a number, got {value!r}")
            low, high = LIMITS[name]
            if not low <= value <= high:
                raise InvalidArgument(f"{where}: {value} is outside {low:g}..{high:g}")
            changes[name] = float(value)
        elif name == "severity":
            if value not in SEVERITIES:
                raise InvalidArgument(f"{where}: one of {', '.join(SEVERITIES)}")
            changes[name] = value
        elif name == "enabled":
            if not isinstance(value, bool):
                raise InvalidArgument(f"{where}: expected true or false")
            changes[name] = value
        else:
            raise InvalidArgument(f"{where}: unknown setting")
    return replace(base, **changes)
