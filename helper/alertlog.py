"""The bounded alert log behind ``GetAlerts`` and the ``Alert`` signal.

Alerts are numbered from 1 in the order they were raised; a client asks for those after
the last id it has seen. Producers today: the helper itself (kind ``helper-degraded``:
an invalid settings or rules file, a journal that cannot be written, a lever that was
lost). The metric-driven alert engine adds its kinds to the same log.
"""

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

SEVERITIES = ("info", "warning", "critical")
CAPACITY = 500


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    time: float
    kind: str
    severity: str
    title: str
    body: str
    pid: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

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

    def since(self, last_id: int) -> list[Alert]:
        return [a for a in self._alerts if a.id > last_id]

    def document(self, last_id: int) -> dict[str, Any]:
        return {
            "alerts": [a.to_json() for a in self.since(last_id)],
            "next_id": self._next_id,
            "capacity": self._alerts.maxlen,
        }
