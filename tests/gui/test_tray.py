"""The tray icon on a real XEmbed tray host (trayer) under Xvfb."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.dashboard import Dashboard
from smoothtask_gui.health import COLOURS, Health, assess
from smoothtask_gui.tray import Tray
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.desktop import Desktop
from tests.support.waiting import wait_for


@pytest.fixture
def tray(qtbot: QtBot, on_desktop: Desktop, helper: HelperProcess) -> Iterator[Tray]:
    connection = HelperConnection(helper.address)
    dashboard = Dashboard(connection)
    qtbot.addWidget(dashboard)
    icon = Tray(connection, dashboard)
    icon.show()
    connection.start()
    yield icon
    connection.stop()
    icon.icon.hide()


def screen_pixel(desktop: Desktop, x: int, y: int, tmp_path: Path) -> QColor:
    shot = tmp_path / "screen.png"
    result = desktop.run("import", "-window", "root", str(shot))
    assert result.returncode == 0, result.stderr
    return QImage(str(shot)).pixelColor(x, y)


def colour_distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def test_tray_host_is_seen(on_desktop: Desktop) -> None:
    assert QSystemTrayIcon.isSystemTrayAvailable()


def test_icon_is_embedded_and_coloured_by_health(
    qtbot: QtBot, tray: Tray, on_desktop: Desktop, tmp_path: Path
) -> None:
    qtbot.waitUntil(lambda: not tray.icon.geometry().isEmpty(), timeout=10_000)
    assert tray.icon.geometry().top() < 40  # trayer sits at the top edge
    qtbot.waitUntil(lambda: tray.health is not Health.DISCONNECTED, timeout=15_000)

    def shows_its_health() -> bool:
        # trayer may move the icon while it lays out others, and the health may change
        # with the load: look where the icon is now, for the colour it should have now
        QApplication.processEvents()
        centre = tray.icon.geometry().center()
        expected = QColor(COLOURS[tray.health])
        # where the icon is now: its first geometry may be (0, 0) until trayer places it
        centre = tray.icon.geometry().center()
        return (
            colour_distance(screen_pixel(on_desktop, centre.x(), centre.y(), tmp_path), expected)
            < 40
        )

    qtbot.waitUntil(shows_its_health, timeout=10_000)
    assert tray.health is assess(tray._sample)
    assert "CPU" in tray.icon.toolTip()


def test_menu_and_click_open_the_dashboard(qtbot: QtBot, tray: Tray, on_desktop: Desktop) -> None:
    texts = [a.text() for a in tray.menu.actions() if a.text()]
    assert texts == ["Dashboard", "Pause management", "Settings…", "Quit"]
    tray.dashboard_action.trigger()
    qtbot.waitUntil(tray.dashboard.isVisible, timeout=5_000)
    tray.dashboard.hide()

    # A real left click on the embedded icon, through the X server. trayer may still be
    # laying out icons of earlier tests, so aim again if the first click lands elsewhere.
    for _attempt in range(5):
        qtbot.waitUntil(lambda: not tray.icon.geometry().isEmpty(), timeout=10_000)
        centre = tray.icon.geometry().center()
        result = on_desktop.run(
            "xdotool", "mousemove", str(centre.x()), str(centre.y()), "click", "1"
        )
        assert result.returncode == 0, result.stderr
        try:
            qtbot.waitUntil(tray.dashboard.isVisible, timeout=2_000)
            break
        except qtbot.TimeoutError:
            continue
    assert tray.dashboard.isVisible()


def ancestors(desktop: Desktop, window: int) -> list[int]:
    """The window's parents up to the root, from xwininfo."""
    chain: list[int] = []
    while window and len(chain) < 20:
        tree = desktop.run("xwininfo", "-id", str(window), "-tree").stdout
        line = next((ln for ln in tree.splitlines() if "Parent window id:" in ln), "")
        window = int(line.split(":", 1)[1].split()[0], 16) if line else 0
        chain.append(window)
    return chain


def test_the_app_embeds_its_icon_and_stops_on_ctrl_c(
    on_desktop: Desktop, helper: HelperProcess
) -> None:
    app = subprocess.Popen(
        [sys.executable, "-m", "smoothtask_gui", "--bus", helper.address],
        env={**os.environ, **on_desktop.env, "QT_QPA_PLATFORM": "xcb"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        trayer = {
            int(w) for w in on_desktop.run("xdotool", "search", "--class", "trayer").stdout.split()
        }

        def embedded_icon() -> int | None:
            for window in on_desktop.run("xdotool", "search", "--pid", str(app.pid)).stdout.split():
                if trayer & set(ancestors(on_desktop, int(window))):
                    return int(window)
            return None

        try:
            wait_for(embedded_icon, 60, "the app's icon inside trayer")
        except TimeoutError:
            app.kill()
            _, stderr = app.communicate(timeout=15)
            tree = on_desktop.run("xwininfo", "-root", "-tree").stdout
            raise AssertionError(
                f"no icon embedded; app stderr:\n{stderr}\nwindows:\n{tree}"
            ) from None
        app.send_signal(signal.SIGINT)
        _, stderr = app.communicate(timeout=15)
        assert app.returncode == 0, stderr
        assert "Traceback" not in stderr
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()


def test_degraded_without_ebpf_says_why(
    qtbot: QtBot, on_desktop: Desktop, own_bus: PrivateBus, tmp_path: Path
) -> None:
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log", extra_args=("--no-ebpf",))
    helper.start()
    connection = HelperConnection(own_bus.address)
    dashboard = Dashboard(connection)
    qtbot.addWidget(dashboard)
    tray = Tray(connection, dashboard)
    tray.show()
    connection.start()
    try:
        qtbot.waitUntil(lambda: "switched off" in tray.degraded, timeout=10_000)
        qtbot.waitUntil(lambda: tray.health is not Health.DISCONNECTED, timeout=10_000)
        assert tray._shown == (tray.health, True)  # the degraded icon
        assert "switched off" in tray.icon.toolTip()
    finally:
        connection.stop()
        tray.icon.hide()
        helper.stop()
