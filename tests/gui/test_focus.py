"""The focus tracker reports the pid of a real X window focused with xdotool."""

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from smoothtask_gui.focus import FocusTracker
from tests.support.desktop import Desktop
from tests.support.waiting import wait_for

# A window in its own process: Qt sets _NET_WM_PID on it.
WINDOW = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv[:1])
label = QLabel(sys.argv[1])
label.setWindowTitle(sys.argv[1])
label.resize(240, 80)
label.show()
app.exec()
"""


@pytest.fixture
def windows(on_desktop: Desktop) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    env = {**os.environ, **on_desktop.env, "QT_QPA_PLATFORM": "xcb"}
    procs = {
        title: subprocess.Popen([sys.executable, "-c", WINDOW, title], env=env)
        for title in (f"st-focus-a-{os.getpid()}", f"st-focus-b-{os.getpid()}")
    }
    yield procs
    for proc in procs.values():
        proc.kill()
        proc.wait()


def activate(desktop: Desktop, title: str) -> None:
    def found() -> list[str]:
        return desktop.run("xdotool", "search", "--name", title).stdout.split()

    window = wait_for(found, 30, f"the window {title}")[0]
    result = desktop.run("xdotool", "windowactivate", "--sync", window)
    assert result.returncode == 0, result.stderr


def test_follows_the_focused_window(
    qtbot: QtBot, on_desktop: Desktop, windows: dict[str, subprocess.Popen[bytes]]
) -> None:
    tracker = FocusTracker()
    assert tracker.start(), tracker.reason
    try:
        for title, proc in [*windows.items(), *windows.items()]:  # there and back again
            activate(on_desktop, title)
            wanted = proc.pid

            def reported(wanted: int = wanted) -> bool:
                return tracker.pid == wanted

            qtbot.waitUntil(reported, timeout=10_000)
            assert tracker.focused_pid() == proc.pid
    finally:
        tracker.stop()


def test_says_why_without_x11(monkeypatch: pytest.MonkeyPatch, qtbot: QtBot) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    tracker = FocusTracker()
    assert not tracker.start()
    assert "Wayland" in tracker.reason
    assert not tracker.available
