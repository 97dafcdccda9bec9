"""``smoothtask``: the tray app."""

import argparse
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.dashboard import Dashboard
from smoothtask_gui.tray import Tray
from smoothtask_helper import bus
from smoothtask_helper.errors import SmoothTaskError


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="smoothtask", description="SmoothTask tray app.")
    parser.add_argument(
        "--bus",
        default=bus.DEFAULT_BUS,
        help="where the helper is: 'system' (default), 'session' or a D-Bus address",
    )
    parser.add_argument("--dashboard", action="store_true", help="open the dashboard at start")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        bus.validate(args.bus)  # refuse a malformed address now, not in the worker thread
    except SmoothTaskError as exc:
        print(f"smoothtask: {exc}", file=sys.stderr)
        return 2
    app = QApplication(sys.argv[:1])
    app.setApplicationName("SmoothTask")
    app.setDesktopFileName("smoothtask")
    connection = HelperConnection(args.bus)
    dashboard = Dashboard(connection)
    tray: Tray | None = None
    if QSystemTrayIcon.isSystemTrayAvailable():
        app.setQuitOnLastWindowClosed(False)  # closing the dashboard leaves the tray icon
        tray = Tray(connection, dashboard)
        tray.show()
    else:
        print("smoothtask: no system tray on this desktop; showing the dashboard", file=sys.stderr)
    if tray is None or args.dashboard:
        dashboard.show()

    # Ctrl-C: Qt's loop does not let Python see signals unless Python runs now and then.
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    wakeup = QTimer()
    wakeup.timeout.connect(lambda: None)
    wakeup.start(250)

    connection.start()
    try:
        return app.exec()
    finally:
        connection.stop()
