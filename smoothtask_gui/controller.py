"""Wires the tray app together: alerts become notifications (as the person's preferences
allow), notification actions go to the helper, and the focused window's process and the
person's idle time are reported to the helper."""

import datetime
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QSystemTrayIcon

from smoothtask_gui import preferences
from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.focus import FocusTracker
from smoothtask_gui.main_window import MainWindow
from smoothtask_gui.notifier import Notifier
from smoothtask_gui.settings_window import SettingsWindow
from smoothtask_gui.tray import Tray
from smoothtask_helper.errors import NotAuthorized
from smoothtask_helper.model import JsonDict

log = logging.getLogger(__name__)

IDLE_REPORT_MS = 5000  # the helper learns the person's idle time this often
LOWER_TO = "BACKGROUND"  # what "Lower priority" asks for


class Controller(QObject):
    def __init__(
        self,
        connection: HelperConnection,
        window: MainWindow,
        notifier: Notifier,
        tray: Tray | None,
        focus: FocusTracker | None,
        prefs: preferences.Preferences,
    ) -> None:
        super().__init__()
        self.connection, self.window, self.notifier = connection, window, notifier
        self.tray, self.focus, self.prefs = tray, focus, prefs
        self.last_report: FocusReport | None = None
        connection.alert_received.connect(self.on_alert)
        connection.connected.connect(lambda _status: self.report_focus())
        notifier.action_invoked.connect(self.on_action)
        notifier.fallback.connect(self.balloon)
        self.settings_window: SettingsWindow | None = None
        window.settings_button.clicked.connect(self.show_settings)
        if tray is not None:
            tray.settings_action.triggered.connect(self.show_settings)
        if focus is not None:
            focus.focus_changed.connect(lambda _pid: self.report_focus())
            self.idle_timer = QTimer(self)
            self.idle_timer.timeout.connect(self.report_focus)
            self.idle_timer.start(IDLE_REPORT_MS)

    @Slot(dict)
    def on_alert(self, alert: JsonDict) -> None:
        now = datetime.datetime.now().time()
        if preferences.should_notify(alert, self.prefs, now):
            self.notifier.show(alert)

    @Slot(dict, str)
    def on_action(self, alert: JsonDict, action: str) -> None:
        pid = alert.get("pid")
        if action == "lower-priority" and isinstance(pid, int):
            self.connection.call(
                "SetProcessClass",
                "us",
                [pid, LOWER_TO],
                lambda _r: self.balloon(
                    {"title": "Priority lowered", "body": f"pid {pid} is now {LOWER_TO}"}
                ),
                lambda error: self.balloon(
                    {"title": "Could not lower the priority", "body": _refusal(error)}
                ),
            )
        elif action == "show":
            if isinstance(pid, int):
                self.window.show_process(pid)
            else:
                self.window.show()
        elif action == "mute-kind" and alert.get("kind"):
            self.prefs.muted_kinds.add(str(alert["kind"]))
            preferences.save(self.prefs)

    @Slot()
    def show_settings(self) -> None:
        if self.settings_window is None:
            self.settings_window = SettingsWindow(self.connection, self.prefs)
        self.settings_window.load()
        self.settings_window.show()
        self.settings_window.raise_()
        self.settings_window.activateWindow()

    @Slot(dict)
    def balloon(self, alert: JsonDict) -> None:
        """The tray's own message, where no notification server is."""
        if self.tray is not None:
            self.tray.icon.showMessage(
                str(alert.get("title", "SmoothTask")),
                str(alert.get("body", "")),
                QSystemTrayIcon.MessageIcon.Warning,
                10_000,
            )

    @Slot()
    def report_focus(self) -> None:
        if self.focus is None or not self.focus.available:
            return
        report = FocusReport(self.focus.pid or 0, round(self.focus.idle_seconds(), 1))
        if not report.is_news_after(self.last_report):
            return
        self.last_report = report
        self.connection.call(
            "ReportFocus", "ud", [report.pid, report.idle_s], _ignore, self._focus_refused
        )

    def _focus_refused(self, error: BaseException) -> None:
        log.info("focus report refused: %s", error)


@dataclass(frozen=True)
class FocusReport:
    pid: int  # 0: no focused window
    idle_s: float
    at: float = field(default_factory=time.monotonic)

    def is_news_after(self, last: "FocusReport | None") -> bool:
        """The helper counts idle time on from the last report, so a report is news when
        the focus moved or the person was active since (idle did not grow with the clock).
        An active person's idle stays near 0: that is news every time."""
        if last is None or self.pid != last.pid:
            return True
        expected_idle = last.idle_s + (self.at - last.at)
        return abs(self.idle_s - expected_idle) >= 1.0


def _ignore(_result: Any) -> None:
    pass


def _refusal(error: BaseException) -> str:
    if isinstance(error, NotAuthorized):
        return f"Not allowed: {error}"
    return str(error)
