"""Desktop notifications through a real notification server (dunst) on the test desktop."""

import json
import time
from collections.abc import Iterator
from datetime import time as clock
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from smoothtask_gui import preferences
from smoothtask_gui.notifier import Notifier
from smoothtask_gui.worker import AsyncWorker
from tests.support.desktop import Desktop


def alert(alert_id: int, body: str = "firefox waits", **extra: Any) -> dict[str, Any]:
    return {
        "id": alert_id,
        "kind": "runqueue-latency",
        "severity": "warning",
        "title": "The desktop is waiting for the CPU",
        "body": body,
        "pid": 42,
        "actions": ["lower-priority", "show", "mute-kind"],
        "active": True,
        **extra,
    }


@pytest.fixture
def notifier(qtbot: QtBot, on_desktop: Desktop) -> Iterator[Notifier]:
    on_desktop.run("dunstctl", "close-all")
    worker = AsyncWorker("test-notifier")
    made = Notifier(worker)
    made.start()
    qtbot.waitUntil(lambda: made.available, timeout=10_000)
    yield made
    made.stop()
    worker.stop()
    on_desktop.run("dunstctl", "close-all")


def displayed(desktop: Desktop) -> int:
    return int(desktop.run("dunstctl", "count", "displayed").stdout.strip() or 0)


def history(desktop: Desktop) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(desktop.run("dunstctl", "history").stdout)["data"][0]
    return entries


def test_an_ongoing_alert_is_one_notification_updated_in_place(
    qtbot: QtBot, notifier: Notifier, on_desktop: Desktop
) -> None:
    token = f"in-place-{time.monotonic_ns()}"  # dunst 1.9 keeps its history: find ours
    for second in range(5):
        notifier.show(alert(7, body=f"{token} firefox waits ({second} s)"))
    qtbot.waitUntil(lambda: 7 in notifier._by_alert, timeout=10_000)
    qtbot.wait(500)
    assert displayed(on_desktop) == 1
    on_desktop.run("dunstctl", "close-all")

    def ours() -> list[dict[str, Any]]:
        return [e for e in history(on_desktop) if token in e["body"]["data"]]

    qtbot.waitUntil(lambda: len(ours()) == 1, timeout=10_000)
    (entry,) = ours()
    assert entry["appname"]["data"] == "SmoothTask"
    assert entry["summary"]["data"] == "The desktop is waiting for the CPU"
    assert entry["body"]["data"] == f"{token} firefox waits (4 s)"  # the last update
    assert entry["category"]["data"] == "x-smoothtask.alert"  # our hints reached it


def test_an_invoked_action_comes_back_with_its_alert(
    qtbot: QtBot, notifier: Notifier, on_desktop: Desktop
) -> None:
    notifier.show(alert(8))
    qtbot.waitUntil(lambda: displayed(on_desktop) == 1, timeout=10_000)
    with qtbot.waitSignal(notifier.action_invoked, timeout=10_000) as invoked:
        # dunst's context menu, answered by the test desktop's "dmenu" (grep -i lower)
        assert on_desktop.run("dunstctl", "action", "0").returncode == 0
    chosen, action = invoked.args
    assert action == "lower-priority"
    assert chosen["id"] == 8 and chosen["pid"] == 42


def test_without_a_session_bus_the_tray_balloon_takes_over(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, qapp: object
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/session")
    worker = AsyncWorker("test-notifier")
    lonely = Notifier(worker)
    lonely.start()
    qtbot.waitUntil(lambda: lonely.reason != "not started", timeout=10_000)
    assert not lonely.available and "no session bus" in lonely.reason
    with qtbot.waitSignal(lonely.fallback, timeout=10_000) as fell_back:
        lonely.show(alert(9))
    assert fell_back.args[0]["id"] == 9
    worker.stop()


def test_preferences_round_trip_and_decide(tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "smoothtask.conf"), QSettings.Format.IniFormat)
    prefs = preferences.Preferences(
        muted_kinds={"cpu-hog"},
        quiet_from=clock(22, 0),
        quiet_until=clock(7, 0),
        dashboard_window_s=300,
    )
    preferences.save(prefs, settings)
    loaded = preferences.load(
        QSettings(str(tmp_path / "smoothtask.conf"), QSettings.Format.IniFormat)
    )
    assert loaded == prefs
    hog = {"kind": "cpu-hog", "severity": "info"}
    latency = {"kind": "runqueue-latency", "severity": "warning"}
    oom = {"kind": "oom-kill", "severity": "critical"}
    assert not preferences.should_notify(hog, loaded, clock(12, 0))  # muted
    assert preferences.should_notify(latency, loaded, clock(12, 0))
    assert not preferences.should_notify(latency, loaded, clock(23, 30))  # quiet hours
    assert not preferences.should_notify(latency, loaded, clock(6, 59))
    assert preferences.should_notify(oom, loaded, clock(23, 30))  # critical gets through


def test_unreadable_preferences_fall_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "smoothtask.conf"
    path.write_text("[notifications]\nquiet_from=tea time\n[dashboard]\nwindow_s=forever\n")
    loaded = preferences.load(QSettings(str(path), QSettings.Format.IniFormat))
    assert loaded.quiet_from is None and loaded.dashboard_window_s == 60
