"""The tray icon: its colour says how the system is doing; its menu opens the dashboard."""

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.figures import ebpf_note
from smoothtask_gui.health import COLOURS, Health, assess
from smoothtask_helper.model import JsonDict

ICON_SIZE = 64


def status_icon(health: Health, degraded: bool = False) -> QIcon:
    """A filled circle in the health colour (no image files to install); degraded (the
    helper runs without eBPF) adds a dark ring inside: the colour is a partial view."""
    pixmap = QPixmap(ICON_SIZE, ICON_SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QColor("#1f2328"))
    painter.setBrush(QColor(COLOURS[health]))
    margin = ICON_SIZE // 8
    painter.drawEllipse(margin, margin, ICON_SIZE - 2 * margin, ICON_SIZE - 2 * margin)
    if degraded:
        painter.setPen(QPen(QColor("#1f2328"), ICON_SIZE / 10))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        inner = ICON_SIZE * 3 // 10
        painter.drawEllipse(inner, inner, ICON_SIZE - 2 * inner, ICON_SIZE - 2 * inner)
    painter.end()
    return QIcon(pixmap)


def tooltip(sample: JsonDict | None, reason: str, degraded: str = "", focus: str = "") -> str:
    focus_line = f"\nfocus not followed: {focus}" if focus else ""
    if sample is None:
        return f"SmoothTask: {reason}{focus_line}"
    cpu = sample["cpu"]["percent"]
    memory = sample["memory"]["percent"]
    lines = [f"SmoothTask: {assess(sample).value}", f"CPU {cpu:.0f}%, memory {memory:.0f}%"]
    psi = sample.get("psi")
    if psi:
        lines.append(
            "pressure "
            + ", ".join(f"{r} {psi[r]['some_avg10']:.1f}%" for r in ("cpu", "io", "memory"))
        )
    p99 = (sample.get("runqueue_latency_us") or {}).get("p99")
    if p99 is not None:
        lines.append(f"run-queue wait p99 {p99 / 1000:.1f} ms")
    if degraded:
        lines.append(degraded)
    return "\n".join(lines) + focus_line


class Tray(QObject):
    def __init__(self, connection: HelperConnection, dashboard: QWidget) -> None:
        super().__init__()
        self.dashboard = dashboard
        self.health = Health.DISCONNECTED
        self._sample: JsonDict | None = None
        self._reason = "connecting to the helper…"
        self.degraded = ""  # why the helper runs without (some) eBPF, or ""
        self.focus_note = ""  # why the focused application cannot be followed, or ""
        self._last_status: JsonDict = {}
        self._icons = {(h, d): status_icon(h, d) for h in Health for d in (False, True)}

        self.connection = connection
        self.mode = "unknown"
        self.menu = QMenu()
        self.dashboard_action = QAction("Dashboard", self.menu)
        self.dashboard_action.triggered.connect(self.show_dashboard)
        self.pause_action = QAction("Pause management", self.menu)
        self.pause_action.setEnabled(False)  # until the helper says which mode it is in
        self.pause_action.triggered.connect(self.toggle_pause)
        self.settings_action = QAction("Settings…", self.menu)
        self.quit_action = QAction("Quit", self.menu)
        self.quit_action.triggered.connect(QApplication.quit)
        self.menu.addAction(self.dashboard_action)
        self.menu.addAction(self.pause_action)
        self.menu.addAction(self.settings_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)

        self._shown = (self.health, False)
        self.icon = QSystemTrayIcon(self._icons[self._shown])
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self._refresh()

        connection.connected.connect(self._on_connected)
        connection.disconnected.connect(self._on_disconnected)
        connection.sample_received.connect(self._on_sample)
        connection.status_changed.connect(self._on_status)

    def show(self) -> None:
        self.icon.show()

    def set_focus_note(self, note: str) -> None:
        """Say in the tooltip that the focus boost cannot work here (e.g. plain Wayland)."""
        self.focus_note = note
        self._refresh()

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
    def _on_connected(self, status: JsonDict) -> None:
        self._reason = "waiting for the first sample…"
        self._on_status(status)

    @Slot(dict)
    def _on_status(self, status: JsonDict) -> None:
        self._last_status = status
        state = (status.get("ebpf") or {}).get("state")
        self.degraded = ebpf_note(status) if state not in ("ready", "loading") else ""
        self.mode = str(status.get("mode", "unknown"))
        self.pause_action.setEnabled(self.mode in ("active", "paused", "dry-run"))
        self.pause_action.setText(
            "Resume management" if self.mode == "paused" else "Pause management"
        )
        self._refresh()

    @Slot()
    def toggle_pause(self) -> None:
        """Paused: the helper restores every priority it changed and changes none."""
        wanted = "active" if self.mode == "paused" else "paused"
        self.connection.call("SetMode", "s", [wanted], self._mode_set, self._mode_refused)

    def _mode_set(self, result: object) -> None:
        mode = result.get("mode") if isinstance(result, dict) else None
        if isinstance(mode, str):
            self._on_status({**self._last_status, "mode": mode})

    def _mode_refused(self, error: BaseException) -> None:
        self.icon.showMessage(
            "SmoothTask",
            f"Could not change the mode: {error}",
            QSystemTrayIcon.MessageIcon.Warning,
            10_000,
        )

    @Slot(str)
    def _on_disconnected(self, reason: str) -> None:
        self._sample, self._reason, self.degraded = None, reason, ""
        self._refresh()

    @Slot(dict)
    def _on_sample(self, sample: JsonDict) -> None:
        self._sample = sample
        self._refresh()

    def _refresh(self) -> None:
        self.health = assess(self._sample)
        shown = (self.health, bool(self.degraded) and self.health is not Health.DISCONNECTED)
        if shown != self._shown:  # repaint the icon only when it changes
            self._shown = shown
            self.icon.setIcon(self._icons[shown])
        self.icon.setToolTip(tooltip(self._sample, self._reason, self.degraded, self.focus_note))
