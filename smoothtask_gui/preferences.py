"""The tray app's own preferences (QSettings): which alert kinds notify, quiet hours,
the dashboard's window. The helper's settings (thresholds, rules) live in the helper."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time as clock

from PySide6.QtCore import QSettings

ORGANISATION, APPLICATION = "SmoothTask", "smoothtask"


@dataclass
class Preferences:
    notifications: bool = True
    muted_kinds: set[str] = field(default_factory=set)
    quiet_from: clock | None = None  # quiet hours: only critical alerts notify
    quiet_until: clock | None = None
    dashboard_window_s: int = 60

    def in_quiet_hours(self, now: clock) -> bool:
        start, end = self.quiet_from, self.quiet_until
        if start is None or end is None or start == end:
            return False
        if start < end:
            return start <= now < end
        return now >= start or now < end  # across midnight, e.g. 22:00-07:00


def _time(text: object) -> clock | None:
    try:
        return clock.fromisoformat(str(text)) if text else None
    except ValueError:
        return None  # a hand-edited value we cannot read: no quiet hours, not a crash


def _text(when: clock | None) -> str:
    return when.isoformat("minutes") if when else ""


def load(settings: QSettings | None = None) -> Preferences:
    s = settings or QSettings(ORGANISATION, APPLICATION)
    muted = s.value("notifications/muted_kinds", [])
    window = s.value("dashboard/window_s", 60)
    return Preferences(
        notifications=str(s.value("notifications/enabled", "true")).lower() != "false",
        muted_kinds={str(k) for k in (muted if isinstance(muted, list) else [muted]) if k},
        quiet_from=_time(s.value("notifications/quiet_from", "")),
        quiet_until=_time(s.value("notifications/quiet_until", "")),
        dashboard_window_s=int(str(window)) if str(window).isdigit() else 60,
    )


def save(prefs: Preferences, settings: QSettings | None = None) -> None:
    s = settings or QSettings(ORGANISATION, APPLICATION)
    s.setValue("notifications/enabled", "true" if prefs.notifications else "false")
    s.setValue("notifications/muted_kinds", sorted(prefs.muted_kinds))
    s.setValue(
        "notifications/quiet_from",
        prefs.quiet_from.isoformat("minutes") if prefs.quiet_from else "",
    )
    s.setValue(
        "notifications/quiet_until",
        prefs.quiet_until.isoformat("minutes") if prefs.quiet_until else "",
    )
    s.setValue("dashboard/window_s", prefs.dashboard_window_s)
    s.sync()


def should_notify(alert: Mapping[str, object], prefs: Preferences, now: clock) -> bool:
    """Whether an alert becomes a desktop notification under these preferences."""
    if not prefs.notifications or alert.get("kind") in prefs.muted_kinds:
        return False
    return alert.get("severity") == "critical" or not prefs.in_quiet_hours(now)
