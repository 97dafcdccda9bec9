"""``smoothtask``: the tray app."""

import argparse
import os
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from smoothtask_gui import preferences
from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.controller import Controller
from smoothtask_gui.focus import FocusTracker
from smoothtask_gui.main_window import MainWindow
from smoothtask_gui.notifier import Notifier
from smoothtask_gui.tray import Tray
from smoothtask_gui.worker import AsyncWorker
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
    # Qt's raster painter hands parts of larger fills and blends to a thread pool and waits
    # for them: for the dashboard's small plots that is ~1,800 thread wake-ups a second and
    # costs more than it saves (bench/gui_cpu.py: 2.9% -> 1.5% of a core, docs/PERFORMANCE.md).
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
    app = QApplication(sys.argv[:1])
    app.setApplicationName("SmoothTask")
    app.setDesktopFileName("smoothtask")
    worker = AsyncWorker()
    connection = HelperConnection(args.bus, worker)
    window = MainWindow(connection)
    tray: Tray | None = None
    if QSystemTrayIcon.isSystemTrayAvailable():
        app.setQuitOnLastWindowClosed(False)  # closing the dashboard leaves the tray icon
        tray = Tray(connection, window)
        tray.show()
    else:
        print("smoothtask: no system tray on this desktop; showing the dashboard", file=sys.stderr)
    if tray is None or args.dashboard:
        window.show()
    focus = FocusTracker()
    if not focus.start():
        print(f"smoothtask: focus tracking unavailable: {focus.reason}", file=sys.stderr)
        if tray is not None:
            tray.set_focus_note(focus.reason)
    notifier = Notifier(worker)
    notifier.start()
    controller = Controller(connection, window, notifier, tray, focus, preferences.load())

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
        del controller
        focus.stop()
        notifier.stop()
        connection.stop()
        worker.stop()
