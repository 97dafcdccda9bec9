"""The settings window against the real helper: what it applies reaches the helper's
settings and rules; a rule is validated as you type and tested on running processes."""

import pwd
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from smoothtask_gui import preferences
from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.controller import Controller
from smoothtask_gui.main_window import MainWindow
from smoothtask_gui.notifier import Notifier
from smoothtask_gui.settings_window import SettingsWindow
from tests.conftest import require_user
from tests.integration.conftest import managing_settings
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.procs import end, spawn_as


@pytest.fixture
def window(
    qtbot: QtBot, own_bus: PrivateBus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[SettingsWindow, HelperProcess]]:
    tester: pwd.struct_passwd = require_user("tester")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config-home"))
    QSettings.setPath(
        QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings")
    )
    helper = HelperProcess(
        own_bus.address, tmp_path / "helper.log", settings=managing_settings(tester.pw_uid)
    ).start()
    connection = HelperConnection(own_bus.address)
    widget = SettingsWindow(connection, preferences.Preferences())
    qtbot.addWidget(widget)
    try:
        with qtbot.waitSignal(connection.connected, timeout=15_000):
            connection.start()
        widget.show()
        widget.load()
        assert not widget.rules_tab.isEnabled()  # no rule can be added before the helper's come
        qtbot.waitUntil(
            lambda: bool(widget.loaded and widget.probe_boxes) and widget.rules_tab.isEnabled(),
            timeout=15_000,
        )
        yield widget, helper
    finally:
        widget.close()
        connection.stop()
        helper.stop()


def helper_settings(helper: HelperProcess) -> dict[str, object]:
    return dict(helper.status()["settings"])


def test_shows_the_helpers_settings_and_applies_changes(
    qtbot: QtBot, window: tuple[SettingsWindow, HelperProcess]
) -> None:
    widget, helper = window
    assert widget.mode.currentText() == "active"
    assert widget.interval.value() == 1.0
    assert set(widget.alert_rows) >= {"cpu-hog", "oom-kill", "runqueue-latency"}
    widget.interval.setValue(2.0)
    widget.probe_boxes["tcp"].setChecked(False)
    widget.alert_rows["cpu-hog"][1].setValue(75.0)  # threshold
    patch = widget.settings_patch()
    assert patch == {
        "general": {"interval_s": 2.0},
        "ebpf": {"probes": {"tcp": False}},
        "alerts": {"cpu-hog": {"threshold": 75.0}},
    }
    widget.apply()
    qtbot.waitUntil(lambda: widget.message.text() != "Applying through the helper…", timeout=10_000)
    assert widget.message.text() == "Applied."
    config = (helper.config_dir / "settings.toml").read_text()
    assert "interval_s = 2.0" in config and "tcp = false" in config
    assert widget.settings_patch() == {}  # what is shown is what the helper has now


def test_refused_settings_are_shown_and_nothing_changes(
    qtbot: QtBot, window: tuple[SettingsWindow, HelperProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    widget, helper = window
    before = (helper.config_dir / "settings.toml").read_text()
    # The spin boxes only take values in the helper's ranges, so to get a real refusal
    # from the helper the patch is written by hand.
    monkeypatch.setattr(
        widget, "settings_patch", lambda: {"alerts": {"cpu-hog": {"duration_s": 90000.0}}}
    )
    widget.apply()
    qtbot.waitUntil(lambda: widget.message.text().startswith("Not applied"), timeout=10_000)
    assert "duration_s" in widget.message.text()
    assert (helper.config_dir / "settings.toml").read_text() == before


def test_a_rule_is_checked_as_you_type_tested_and_applied(
    qtbot: QtBot, window: tuple[SettingsWindow, HelperProcess]
) -> None:
    widget, helper = window
    proc = spawn_as("st-settings-me")
    try:
        widget.add_rule()
        widget.rule_name.setText("my renders")
        widget.rule_name.textEdited.emit("my renders")
        widget.rule_type.setEditText("no-such-type")
        qtbot.waitUntil(lambda: widget.rule_check.text().startswith("Not valid"), timeout=10_000)
        assert "no-such-type" in widget.rule_check.text()
        widget.rule_type.setEditText("build")
        widget.match_fields["comm"].setText("st-settings-*")
        widget.match_fields["comm"].textEdited.emit("st-settings-*")
        widget.test_rules()
        qtbot.waitUntil(lambda: widget.rule_matches.count() >= 1, timeout=10_000)
        assert f"st-settings-me (pid {proc.pid})" in widget.rule_matches.item(0).text()
        widget.apply()
        qtbot.waitUntil(lambda: widget.message.text().startswith("Rules applied"), timeout=10_000)
        rules = (helper.config_dir / "rules.toml").read_text()
        assert 'name = "my renders"' in rules and "st-settings-*" in rules
    finally:
        end(proc)


def test_personal_choices_stay_on_this_side(
    qtbot: QtBot, window: tuple[SettingsWindow, HelperProcess], tmp_path: Path
) -> None:
    widget, helper = window
    before = (helper.config_dir / "settings.toml").read_text()
    widget.alert_rows["cpu-hog"][4].setChecked(False)  # notify me: off
    widget.quiet.setChecked(True)
    widget.autostart.setChecked(True)
    widget.apply()
    assert "cpu-hog" in preferences.load().muted_kinds
    assert preferences.load().quiet_from is not None
    entry = tmp_path / "config-home" / "autostart" / "smoothtask.desktop"
    assert entry.is_file() and "Exec=smoothtask" in entry.read_text()
    assert (helper.config_dir / "settings.toml").read_text() == before  # helper untouched
    widget.autostart.setChecked(False)
    widget.apply()
    assert not entry.exists()


def test_the_dashboards_settings_button_opens_the_window_filled_in(
    qtbot: QtBot, own_bus: PrivateBus, tmp_path: Path
) -> None:
    settings_file = '[general]\nmode = "dry-run"\ninterval_s = 2.5\n'
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log", settings=settings_file)
    helper.start()
    connection = HelperConnection(own_bus.address)
    window = MainWindow(connection)
    qtbot.addWidget(window)
    notifier = Notifier(connection.worker)  # not started: no notification is raised here
    controller = Controller(connection, window, notifier, None, None, preferences.Preferences())
    try:
        with qtbot.waitSignal(connection.connected, timeout=15_000):
            connection.start()
        window.show()
        window.settings_button.click()
        settings = controller.settings_window
        assert settings is not None and settings.isVisible()
        qtbot.waitUntil(lambda: bool(settings.alert_rows), timeout=15_000)
        assert settings.interval.value() == 2.5  # what the helper's settings file says
        assert settings.mode.currentText() == "dry-run"
        settings.close()
    finally:
        connection.stop()
        helper.stop()
