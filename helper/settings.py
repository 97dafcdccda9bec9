"""The helper's settings: schema, validation and TOML (``/etc/smoothtask/settings.toml``).

Every key has a type and a range; unknown keys are refused (a typo must not pass
silently). A partial document is merged over the current settings, then the whole result
is validated; only a valid whole is ever used or written.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any, Final

import tomli_w

from smoothtask_helper.alerting.rules import DEFAULT_RULES, AlertRule, rules_from
from smoothtask_helper.api import CLASSES, MODES
from smoothtask_helper.collectors.ebpf.loader import MapSizes
from smoothtask_helper.collectors.ebpf.probes import PROBE_NAMES
from smoothtask_helper.configfile import load_toml
from smoothtask_helper.errors import InvalidArgument, shown
from smoothtask_helper.priority import (
    DEFAULT_CLASS_TABLE,
    Priority,
    check_nice,
    check_weight,
    parse_ionice,
)

MAX_DOCUMENT_BYTES: Final = 64 * 1024
MAX_LIST: Final = 64
MIN_HISTORY_S: Final = 900  # the dashboard's longest window: 15 minutes


@dataclass(frozen=True, slots=True)
class Settings:
    mode: str = "active"
    interval_s: float = 1.0
    history_s: int = 1800
    hysteresis_samples: int = 3
    focus_boost: bool = True
    user_idle_s: float = 300.0
    io_pressure_idle_pct: float = 40.0  # 0 turns it off
    manage_uids: tuple[int, ...] = ()  # empty: every user's processes
    ananicy_dirs: tuple[str, ...] = ()
    autogroup: bool = True
    cgroup: bool = True
    calls_per_s: float = 5.0
    call_burst: int = 20
    classes: tuple[tuple[str, Priority], ...] = tuple(DEFAULT_CLASS_TABLE.items())
    # eBPF: which probes load, how large their maps may grow, the kernel's BPF statistics
    ebpf_enabled: bool = True
    ebpf_probes: tuple[str, ...] = PROBE_NAMES
    ebpf_max_processes: int = MapSizes().max_processes
    ebpf_max_tasks: int = MapSizes().max_tasks
    ebpf_bpf_stats: bool = True
    # alert kinds: threshold, duration, cooldown, severity, on/off (alerting/rules.py)
    alerts: tuple[tuple[str, AlertRule], ...] = tuple(DEFAULT_RULES.items())

    def class_table(self) -> dict[str, Priority]:
        return dict(self.classes)

    def alert_rules(self) -> dict[str, AlertRule]:
        return dict(self.alerts)

    def to_document(self) -> dict[str, Any]:
        """The nested document: the same in TOML, in GetSettings and in SetSettings."""
        return {
            "general": {
                "mode": self.mode,
                "interval_s": self.interval_s,
                "history_s": self.history_s,
            },
            "policy": {
                "hysteresis_samples": self.hysteresis_samples,
                "focus_boost": self.focus_boost,
                "user_idle_s": self.user_idle_s,
                "io_pressure_idle_pct": self.io_pressure_idle_pct,
                "manage_uids": list(self.manage_uids),
                "ananicy_dirs": list(self.ananicy_dirs),
            },
            "levers": {"autogroup": self.autogroup, "cgroup": self.cgroup},
            "limits": {"calls_per_s": self.calls_per_s, "call_burst": self.call_burst},
            "classes": {name: p.to_json() for name, p in self.classes},
            "ebpf": {
                "enabled": self.ebpf_enabled,
                "probes": {name: name in self.ebpf_probes for name in PROBE_NAMES},
                "max_processes": self.ebpf_max_processes,
                "max_tasks": self.ebpf_max_tasks,
                "bpf_stats": self.ebpf_bpf_stats,
            },
            "alerts": {
                kind: {
                    "enabled": rule.enabled,
                    "threshold": rule.threshold,
                    "duration_s": rule.duration_s,
                    "cooldown_s": rule.cooldown_s,
                    "severity": rule.severity,
                }
                for kind, rule in self.alerts
            },
        }


DEFAULTS: Final = Settings()


def _number(lo: float, hi: float, integer: bool) -> Callable[[Any, str], Any]:
    def check(value: Any, where: str) -> Any:
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type:
            kind = "an integer" if integer else "a number"
            raise InvalidArgument(f"{where} must be {kind}, not {shown(value)}")
        if not (math.isfinite(value) and lo <= value <= hi):
            raise InvalidArgument(f"{where} must be between {lo:g} and {hi:g}, not {shown(value)}")
        return value if integer else float(value)

    return check


def _boolean(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(f"{where} must be true or false, not {shown(value)}")
    return value


def _mode(value: Any, where: str) -> str:
    if value not in MODES:
        raise InvalidArgument(
            f"{where} must be one of {', '.join(MODES)}, not {shown(value)}"[:200]
        )
    return str(value)


def _uids(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise InvalidArgument(f"{where} must be a list of at most {MAX_LIST} uids")
    check = _number(0, 2**32 - 2, integer=True)
    return tuple(sorted({check(v, where) for v in value}))


def _paths(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > 8:
        raise InvalidArgument(f"{where} must be a list of at most 8 folders")
    out = []
    for item in value:
        if not isinstance(item, str) or not item.startswith("/") or len(item) > 512:
            raise InvalidArgument(f"{where}: each entry must be an absolute path (<= 512 chars)")
        if "\0" in item or ".." in PurePosixPath(item).parts:
            raise InvalidArgument(f"{where}: {item[:80]!r} is not a plain absolute path")
        out.append(item)
    return tuple(out)


# section -> key -> (attribute, check)
SCHEMA: Final[dict[str, dict[str, tuple[str, Callable[[Any, str], Any]]]]] = {
    "general": {
        "mode": ("mode", _mode),
        "interval_s": ("interval_s", _number(0.1, 60, integer=False)),
        "history_s": ("history_s", _number(MIN_HISTORY_S, 86400, integer=True)),
    },
    "policy": {
        "hysteresis_samples": ("hysteresis_samples", _number(1, 600, integer=True)),
        "focus_boost": ("focus_boost", _boolean),
        "user_idle_s": ("user_idle_s", _number(5, 86400, integer=False)),
        "io_pressure_idle_pct": ("io_pressure_idle_pct", _number(0, 100, integer=False)),
        "manage_uids": ("manage_uids", _uids),
        "ananicy_dirs": ("ananicy_dirs", _paths),
    },
    "levers": {"autogroup": ("autogroup", _boolean), "cgroup": ("cgroup", _boolean)},
    "limits": {
        "calls_per_s": ("calls_per_s", _number(0.1, 1000, integer=False)),
        "call_burst": ("call_burst", _number(1, 10000, integer=True)),
    },
}


def _classes(value: Any, base: dict[str, Priority]) -> tuple[tuple[str, Priority], ...]:
    if not isinstance(value, dict):
        raise InvalidArgument("classes must be a table of [classes.NAME] tables")
    table = dict(base)
    for name, body in value.items():
        where = f"classes.{str(name)[:40]}"
        if name not in CLASSES:
            raise InvalidArgument(f"{where}: unknown class (use {', '.join(CLASSES)})")
        if not isinstance(body, dict):
            raise InvalidArgument(f"{where} must be a table with nice, ionice, cpu_weight")
        unknown = set(body) - {"nice", "ionice", "cpu_weight"}
        if unknown:
            raise InvalidArgument(f"{where}: unknown key {sorted(unknown)[0]!r}")
        current = table[name]
        try:
            table[name] = Priority(
                check_nice(body.get("nice", current.nice), f"{where}.nice"),
                parse_ionice(body["ionice"]) if "ionice" in body else current.ionice,
                check_weight(body.get("cpu_weight", current.cpu_weight), f"{where}.cpu_weight"),
            )
        except InvalidArgument as exc:
            raise InvalidArgument(f"{where}: {exc}") from None
    return tuple((name, table[name]) for name in CLASSES)


MAP_SIZE = _number(64, 1 << 20, integer=True)


def _ebpf(value: Any, base: Settings) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidArgument("[ebpf] must be a table")
    changes: dict[str, Any] = {}
    for key, item in value.items():
        where = f"ebpf.{str(key)[:40]}"
        if key in ("enabled", "bpf_stats"):
            changes[f"ebpf_{key}"] = _boolean(item, where)
        elif key in ("max_processes", "max_tasks"):
            changes[f"ebpf_{key}"] = MAP_SIZE(item, where)
        elif key == "probes":
            changes["ebpf_probes"] = _probes(item, base.ebpf_probes)
        else:
            raise InvalidArgument(
                f"unknown setting {where} (known: enabled, probes, max_processes, max_tasks, "
                "bpf_stats)"
            )
    return changes


def _probes(value: Any, base: tuple[str, ...]) -> tuple[str, ...]:
    """``{probe: true|false}``: which eBPF probes load."""
    if not isinstance(value, dict):
        raise InvalidArgument("ebpf.probes must be a table of probe = true|false")
    on = set(base)
    for name, enabled in value.items():
        if name not in PROBE_NAMES:
            raise InvalidArgument(
                f"ebpf.probes: unknown probe {str(name)[:40]!r} (known: {', '.join(PROBE_NAMES)})"
            )
        if _boolean(enabled, f"ebpf.probes.{name}"):
            on.add(name)
        else:
            on.discard(name)
    return tuple(name for name in PROBE_NAMES if name in on)


def from_document(document: Any, base: Settings = DEFAULTS) -> Settings:
    """Settings from a (possibly partial) nested document over ``base``; validated whole."""
    if not isinstance(document, dict):
        raise InvalidArgument("settings must be a table (a JSON object)")
    changes: dict[str, Any] = {}
    for section, body in document.items():
        if section == "classes":
            changes["classes"] = _classes(body, base.class_table())
            continue
        if section == "ebpf":
            changes |= _ebpf(body, base)
            continue
        if section == "alerts":
            if not isinstance(body, dict):
                raise InvalidArgument("[alerts] must be a table of [alerts.KIND] tables")
            rules = rules_from(body, base.alert_rules())
            changes["alerts"] = tuple(rules.items())
            continue
        keys = SCHEMA.get(section)
        if keys is None:
            known = ", ".join([*SCHEMA, "classes", "ebpf", "alerts"])
            raise InvalidArgument(
                f"unknown settings section {str(section)[:40]!r} (known: {known})"
            )
        if not isinstance(body, dict):
            raise InvalidArgument(f"[{section}] must be a table")
        for key, value in body.items():
            if key not in keys:
                raise InvalidArgument(
                    f"unknown setting {section}.{str(key)[:40]} (known: {', '.join(keys)})"
                )
            attribute, check = keys[key]
            changes[attribute] = check(value, f"{section}.{key}")
    return replace(base, **changes)


def parse_toml(text: str, source: str) -> Settings:
    document = load_toml(text, source, MAX_DOCUMENT_BYTES)
    try:
        return from_document(document)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{source}: {exc}") from None


def to_toml(settings: Settings) -> str:
    header = (
        "# SmoothTask helper settings (docs/settings.md). Written by the helper; hand edits\n"
        "# are picked up within 2 s, and a file that does not validate is refused whole.\n\n"
    )
    return header + tomli_w.dumps(settings.to_document())


def merged(current: Settings, patch: Any) -> Settings:
    """``patch`` (a partial document) over ``current``, validated whole (nothing in
    ``patch`` is changed or kept)."""
    return from_document(patch, base=current)
