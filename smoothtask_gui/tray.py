"""The tray icon: its colour says how the system is doing; its menu opens the dashboard."""

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.health import COLOURS, Health, assess
from smoothtask_helper.model import JsonDict

ICON_SIZE = 64


def status_icon(health: Health) -> QIcon:
    """A filled circle in the health colour (no image files to install)."""
    pixmap = QPixmap(ICON_SIZE, ICON_SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("#1f2328"))
    painter.setBrush(QColor(COLOURS[health]))
    margin = ICON_SIZE // 8
    painter.drawEllipse(margin, margin, ICON_SIZE - 2 * margin, ICON_SIZE - 2 * margin)
    painter.end()
    return QIcon(pixmap)


def tooltip(sample: JsonDict | None, reason: str) -> str:
    if sample is None:
        return f"SmoothTask: {reason}"
    cpu = sample["cpu"]["percent"]
    memory = sample["memory"]["percent"]
    lines = [f"SmoothTask: {assess(sample).value}", f"CPU {cpu:.0f}%, memory {memory:.0f}%"]
    psi = sample.get("psi")
    if psi:
        lines.append(
            "pressure "
            + ", ".join(f"{r} {psi[r]['some_avg10']:.1f}%" for r in ("cpu", "io", "memory"))
        )
    return "\n".join(lines)


class Tray(QObject):
    def __init__(self, connection: HelperConnection, dashboard: QWidget) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.health = Health.DISCONNECTED
        self._sample: JsonDict | None = None
        self._reason = "connecting to the helper…"
        self._icons = {h: status_icon(h) for h in Health}

        self.menu = QMenu()
        self.dashboard_action = QAction("Dashboard", self.menu)
        self.dashboard_action.triggered.connect(self.show_dashboard)
        self.quit_action = QAction("Quit", self.menu)
        self.quit_action.triggered.connect(QApplication.quit)
        self.menu.addAction(self.dashboard_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)

        self.icon = QSystemTrayIcon(self._icons[self.health])
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self._refresh()

        connection.connected.connect(self._on_connected)
        connection.disconnected.connect(self._on_disconnected)
        connection.sample_received.connect(self._on_sample)

    def show(self) -> None:
        self.icon.show()

    @Slot()
    def show_dashboard(self) -> None:
        self.dashboard.show()
        self.dashboard.raise_()
        self.dashboard.activateWindow()

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            if self.dashboard.isVisible():
                self.dashboard.hide()
            else:
                self.show_dashboard()

    @Slot(dict)
    def _on_connected(self, _status: JsonDict) -> None:
        self._reason = "waiting for the first sample…"
        self._refresh()

    @Slot(str)
    def _on_disconnected(self, reason: str) -> None:
        self._sample, self._reason = None, reason
        self._refresh()

    @Slot(dict)
    def _on_sample(self, sample: JsonDict) -> None:
        self._sample = sample
        self._refresh()

    def _refresh(self) -> None:
        health = assess(self._sample)
        if health != self.health:
            self.health = health
            self.icon.setIcon(self._icons[health])
        self.icon.setToolTip(tooltip(self._sample, self._reason))
