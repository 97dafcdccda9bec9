"""The alert history: every alert the helper raised, newest first, updated live."""

import time
from typing import Any

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QLabel, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from smoothtask_gui.connection import HelperConnection
from smoothtask_helper.model import JsonDict

COLUMNS = ("Time", "Severity", "Kind", "What", "Process", "State")


class AlertHistory(QWidget):
    def __init__(self, connection: HelperConnection) -> None:
        super().__init__()
        self.connection = connection
        self.alerts: dict[int, JsonDict] = {}
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setSortingEnabled(False)
        self.message = QLabel()
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message)
        connection.connected.connect(lambda _status: self.reload())
        connection.alert_received.connect(self.add)

    @Slot()
    def reload(self) -> None:
        self.connection.call("GetAlerts", "u", [0], self._loaded, self._failed)

    def _loaded(self, document: Any) -> None:
        alerts = document.get("alerts", []) if isinstance(document, dict) else []
        self.alerts = {}
        for alert in alerts:
            self._remember(alert)
        self._redraw()

    def _failed(self, error: BaseException) -> None:
        self.message.setText(f"Cannot read the alert log: {error}")

    @Slot(dict)
    def add(self, alert: JsonDict) -> None:
        """A new or updated alert (the same id replaces the row)."""
        self._remember(alert)
        self._redraw()

    def _remember(self, alert: JsonDict) -> None:
        if isinstance(alert.get("id"), int):
            self.alerts[alert["id"]] = alert

    def _redraw(self) -> None:
        self.tree.clear()
        for alert_id in sorted(self.alerts, reverse=True):
            alert = self.alerts[alert_id]
            when = time.strftime("%H:%M:%S", time.localtime(float(alert.get("time", 0))))
            pid = alert.get("pid")
            state = "ongoing" if alert.get("active") else "ended"
            item = QTreeWidgetItem(
                [
                    when,
                    str(alert.get("severity", "")),
                    str(alert.get("kind", "")),
                    str(alert.get("title", "")),
                    "" if pid is None else str(pid),
                    state,
                ]
            )
            item.setToolTip(3, str(alert.get("body", "")))
            item.setData(0, Qt.ItemDataRole.UserRole, alert_id)
            self.tree.addTopLevelItem(item)
        count = len(self.alerts)
        self.message.setText(f"{count} alert{'s' if count != 1 else ''} in the helper's log")
