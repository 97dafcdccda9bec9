"""The bounded alert log behind ``GetAlerts`` and the ``Alert`` signal.

Alerts are numbered from 1 in the order they were raised; a client asks for those after
the last id it has seen. An alert about an ongoing condition keeps its id while it lasts:
``update`` replaces its text (and ``updated``), ``end`` marks it over (``active`` false,
``ended``); each change is sent again as an ``Alert`` signal with the same id, so a
notification can be updated in place. Producers: the helper itself (kind
``helper-degraded``: an invalid settings or rules file, a journal that cannot be written,
a lever that was lost) and the alert engine (smoothtask_helper.alerting).
"""

import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

SEVERITIES = ("info", "warning", "critical")
CAPACITY = 500


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    time: float  # raised
    kind: str
    severity: str
    title: str
    body: str
    pid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    updated: float | None = None
    ended: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "body": self.body,
            "pid": self.pid,
            **self.extra,
            "updated": self.updated or self.time,
            "active": self.ended is None,
            "ended": self.ended,
        }


class AlertLog:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._alerts: deque[Alert] = deque(maxlen=capacity)
        self._next_id = 1

    def add(
        self,
        kind: str,
        severity: str,
        title: str,
        body: str,
        pid: int | None = None,
        **extra: Any,
    ) -> Alert:
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}")
        alert = Alert(self._next_id, time.time(), kind, severity, title, body, pid, extra)
        self._next_id += 1
        self._alerts.append(alert)
        return alert

    def update(self, alert_id: int, title: str, body: str, **extra: Any) -> Alert | None:
        """New text for an ongoing alert (the same id); None if it left the log."""
        return self._replace(alert_id, title=title, body=body, updated=time.time(), extra=extra)

    def end(self, alert_id: int) -> Alert | None:
        """The condition is over; None if the alert left the log."""
        return self._replace(alert_id, ended=time.time())

    def _replace(self, alert_id: int, **changes: Any) -> Alert | None:
        for index, alert in enumerate(self._alerts):
            if alert.id == alert_id:
                if "extra" in changes:
                    changes["extra"] = alert.extra | changes["extra"]
                self._alerts[index] = replace(alert, **changes)
                return self._alerts[index]
        return None

    def since(self, last_id: int) -> list[Alert]:
        return [a for a in self._alerts if a.id > last_id]

    def document(self, last_id: int) -> dict[str, Any]:
        return {
            "alerts": [a.to_json() for a in self.since(last_id)],
            "next_id": self._next_id,
            "capacity": self._alerts.maxlen,
        }
