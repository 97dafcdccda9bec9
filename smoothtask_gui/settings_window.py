"""The settings window: the helper's settings and rules (applied through the helper, so
polkit decides), and the person's own choices (notifications, start on login).

Tabs: General (mode, sampling, focus boost), Probes (eBPF), Alerts (thresholds, and
which kinds notify, quiet hours), Rules (your rules: add, edit, delete, validated as you
type, tested against the running processes), Startup.
"""

import datetime
import json
from typing import Any

from PySide6.QtCore import QTime, QTimer, Slot
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTableWidget,
    QTabWidget,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from smoothtask_gui import autostart, preferences
from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.rule_editor import MATCH_KEYS, EditableRule, RulesText, parse, patterns
from smoothtask_helper.alerting.rules import LIMITS
from smoothtask_helper.api import CLASSES, MODES
from smoothtask_helper.errors import NotAuthorized
from smoothtask_helper.model import JsonDict

VALIDATE_AFTER_MS = 500  # typing pauses this long before the rules are checked


def _spin(low: float, high: float, decimals: int = 0) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    return box


class SettingsWindow(QDialog):
    def __init__(self, connection: HelperConnection, prefs: preferences.Preferences) -> None:
        super().__init__()
        self.setWindowTitle("SmoothTask — settings")
        self.connection = connection
        self.prefs = prefs
        self.loaded: JsonDict = {}  # the helper's settings as last read
        self.rules = RulesText([], {})
        self.rules_text = ""  # as last read: apply sends the rules only if they changed
        self.tabs = QTabWidget()
        self.tabs.addTab(self._general_tab(), "General")
        self.tabs.addTab(self._probes_tab(), "Probes")
        self.tabs.addTab(self._alerts_tab(), "Alerts")
        self.tabs.addTab(self._rules_tab(), "Rules")
        self.tabs.addTab(self._startup_tab(), "Startup")
        self.message = QLabel()
        self.message.setObjectName("settingsMessage")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Close
        )
        self.apply_button = buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.clicked.connect(self.apply)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(760, 560)

    # -- tabs ----------------------------------------------------------------------------

    def _general_tab(self) -> QWidget:
        self.mode = QComboBox()
        self.mode.addItems(list(MODES))
        self.interval = _spin(0.1, 60, 1)
        self.focus_boost = QCheckBox("Raise the focused application (CRIT_INTERACTIVE)")
        self.user_idle = _spin(5, 86400)
        self.hysteresis = _spin(1, 600)
        form = QFormLayout()
        form.addRow("Mode", self.mode)
        form.addRow("Sample every (seconds)", self.interval)
        form.addRow(self.focus_boost)
        form.addRow("Stop the boost after idle (seconds)", self.user_idle)
        form.addRow("Hold a class for (samples)", self.hysteresis)
        tab = QWidget()
        tab.setLayout(form)
        return tab

    def _probes_tab(self) -> QWidget:
        self.ebpf_enabled = QCheckBox("Measure with eBPF (needs root, bcc and kernel headers)")
        self.probe_boxes: dict[str, QCheckBox] = {}
        self.probe_layout = QVBoxLayout()
        self.max_processes = _spin(64, 1 << 20)
        self.max_tasks = _spin(64, 1 << 20)
        form = QFormLayout()
        form.addRow("Per-process map entries", self.max_processes)
        form.addRow("Per-thread map entries", self.max_tasks)
        layout = QVBoxLayout()
        layout.addWidget(self.ebpf_enabled)
        layout.addLayout(self.probe_layout)
        layout.addLayout(form)
        layout.addStretch(1)
        tab = QWidget()
        tab.setLayout(layout)
        return tab

    def _alerts_tab(self) -> QWidget:
        self.alert_table = QTableWidget(0, 6)
        self.alert_table.setHorizontalHeaderLabels(
            ["Kind", "On", "Threshold", "For (s)", "Quiet after (s)", "Notify me"]
        )
        self.alert_rows: dict[
            str, tuple[QCheckBox, QDoubleSpinBox, QDoubleSpinBox, QDoubleSpinBox, QCheckBox]
        ] = {}
        self.notifications = QCheckBox("Show desktop notifications")
        self.quiet = QCheckBox("Quiet hours (only critical alerts notify) from")
        self.quiet_from = QTimeEdit(QTime(22, 0))
        self.quiet_until = QTimeEdit(QTime(7, 0))
        quiet = QHBoxLayout()
        quiet.addWidget(self.quiet)
        quiet.addWidget(self.quiet_from)
        quiet.addWidget(QLabel("until"))
        quiet.addWidget(self.quiet_until)
        quiet.addStretch(1)
        layout = QVBoxLayout()
        layout.addWidget(self.alert_table, 1)
        layout.addWidget(self.notifications)
        layout.addLayout(quiet)
        tab = QWidget()
        tab.setLayout(layout)
        return tab

    def _rules_tab(self) -> QWidget:
        self.rule_list = QListWidget()
        self.rule_list.currentRowChanged.connect(self._show_rule)
        add, delete, test = QPushButton("Add"), QPushButton("Delete"), QPushButton("Test")
        add.clicked.connect(self.add_rule)
        delete.clicked.connect(self.delete_rule)
        test.clicked.connect(self.test_rules)
        buttons = QHBoxLayout()
        for button in (add, delete, test):
            buttons.addWidget(button)
        left = QVBoxLayout()
        left.addWidget(self.rule_list, 1)
        left.addLayout(buttons)

        self.rule_name = QLineEdit()
        self.rule_type = QComboBox()
        self.rule_type.setEditable(True)
        self.rule_class = QComboBox()
        self.rule_class.addItems(["(the type's class)", *CLASSES])
        self.match_fields = {key: QLineEdit() for key in MATCH_KEYS}
        form = QFormLayout()
        form.addRow("Name", self.rule_name)
        form.addRow("Type", self.rule_type)
        form.addRow("Class", self.rule_class)
        for key, field in self.match_fields.items():
            field.setPlaceholderText("patterns, separated by commas (globs: * ?)")
            form.addRow(f"match {key}", field)
        self.rule_check = QLabel()
        self.rule_check.setObjectName("ruleCheck")
        self.rule_check.setWordWrap(True)
        self.rule_matches = QListWidget()
        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(self.rule_check)
        right.addWidget(QLabel("Running processes it matches (Test):"))
        right.addWidget(self.rule_matches, 1)
        for widget in (self.rule_name, *self.match_fields.values()):
            widget.textEdited.connect(self._rule_edited)
        self.rule_type.editTextChanged.connect(self._rule_edited)
        self.rule_class.currentIndexChanged.connect(self._rule_edited)
        self.validate_timer = QTimer(self)
        self.validate_timer.setSingleShot(True)
        self.validate_timer.timeout.connect(self.validate_rules)

        layout = QHBoxLayout()
        layout.addLayout(left, 1)
        layout.addLayout(right, 2)
        self.rules_tab = QWidget()
        self.rules_tab.setLayout(layout)
        return self.rules_tab

    def _startup_tab(self) -> QWidget:
        self.autostart = QCheckBox("Start SmoothTask's tray icon when I log in")
        layout = QVBoxLayout()
        layout.addWidget(self.autostart)
        layout.addWidget(QLabel(f"(an XDG autostart entry: {autostart.autostart_path()})"))
        layout.addStretch(1)
        tab = QWidget()
        tab.setLayout(layout)
        return tab

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt names it
        self.validate_timer.stop()  # no check of half-typed rules after the window closed
        super().closeEvent(event)

    # -- loading -------------------------------------------------------------------------

    def load(self) -> None:
        """Read the helper's settings, rules and probes, and the person's preferences."""
        self.message.setText("Reading the helper's settings…")
        self.connection.call("GetSettings", "", [], self._settings_loaded, self._failed)
        # a rule added before the helper's rules arrive would be lost when they do
        self.rules_tab.setEnabled(False)
        self.rule_check.setText("Reading the rules from the helper…")
        self.connection.call("GetRules", "", [], self._rules_loaded, self._failed)
        self.connection.call("GetStatus", "", [], self._status_loaded, self._failed)
        self.notifications.setChecked(self.prefs.notifications)
        self.quiet.setChecked(self.prefs.quiet_from is not None)
        if self.prefs.quiet_from and self.prefs.quiet_until:
            self.quiet_from.setTime(QTime(self.prefs.quiet_from.hour, self.prefs.quiet_from.minute))
            self.quiet_until.setTime(
                QTime(self.prefs.quiet_until.hour, self.prefs.quiet_until.minute)
            )
        self.autostart.setChecked(autostart.enabled())

    def _settings_loaded(self, document: Any) -> None:
        settings = document.get("settings", {}) if isinstance(document, dict) else {}
        self.loaded = settings
        general, policy = settings.get("general", {}), settings.get("policy", {})
        self.mode.setCurrentText(str(general.get("mode", "active")))
        self.interval.setValue(float(general.get("interval_s", 1.0)))
        self.focus_boost.setChecked(bool(policy.get("focus_boost", True)))
        self.user_idle.setValue(float(policy.get("user_idle_s", 300)))
        self.hysteresis.setValue(float(policy.get("hysteresis_samples", 3)))
        ebpf = settings.get("ebpf", {})
        self.ebpf_enabled.setChecked(bool(ebpf.get("enabled", True)))
        self.max_processes.setValue(float(ebpf.get("max_processes", 8192)))
        self.max_tasks.setValue(float(ebpf.get("max_tasks", 32768)))
        for name, on in ebpf.get("probes", {}).items():
            self._probe_box(name).setChecked(bool(on))
        self._fill_alerts(settings.get("alerts", {}))
        if document.get("error"):
            self.message.setText(f"The settings file has an error: {document['error']}")
        else:
            self.message.setText("")

    def _probe_box(self, name: str) -> QCheckBox:
        box = self.probe_boxes.get(name)
        if box is None:
            box = self.probe_boxes[name] = QCheckBox(name)
            self.probe_layout.addWidget(box)
        return box

    def _status_loaded(self, status: Any) -> None:
        for name, probe in (status.get("probes", {}) if isinstance(status, dict) else {}).items():
            box = self._probe_box(name)
            state = "" if probe.get("available") else f" — not running: {probe.get('reason')}"
            box.setText(f"{name}: {probe.get('description', '')}{state}")

    def _fill_alerts(self, alerts: dict[str, Any]) -> None:
        self.alert_table.setRowCount(len(alerts))
        self.alert_rows = {}
        for row, (kind, rule) in enumerate(sorted(alerts.items())):
            on, notify = QCheckBox(), QCheckBox()
            threshold = _spin(*LIMITS["threshold"], 1)
            duration, cooldown = _spin(*LIMITS["duration_s"]), _spin(*LIMITS["cooldown_s"])
            on.setChecked(bool(rule.get("enabled", True)))
            threshold.setValue(float(rule.get("threshold", 0)))
            duration.setValue(float(rule.get("duration_s", 0)))
            cooldown.setValue(float(rule.get("cooldown_s", 0)))
            notify.setChecked(kind not in self.prefs.muted_kinds)
            self.alert_table.setCellWidget(row, 0, QLabel(kind))
            for column, widget in enumerate((on, threshold, duration, cooldown, notify), 1):
                self.alert_table.setCellWidget(row, column, widget)
            self.alert_rows[kind] = (on, threshold, duration, cooldown, notify)
        self.alert_table.resizeColumnsToContents()

    def _rules_loaded(self, document: Any) -> None:
        text = str(document.get("toml") or "") if isinstance(document, dict) else ""
        self.rule_check.setText("")
        self.rules_tab.setEnabled(True)
        try:
            self.rules = parse(text)
        except ValueError as exc:
            self.rules = RulesText([], {})
            self.rule_check.setText(f"Your rules file is not valid TOML ({exc}); starting empty.")
        self.rules_text = self.rules.to_toml()
        known = sorted((document.get("types") or {}) if isinstance(document, dict) else {})
        self.rule_type.clear()
        self.rule_type.addItems(known)
        self._refill_rule_list()

    def _failed(self, error: BaseException) -> None:
        self.message.setText(f"Cannot read from the helper: {error}")

    # -- rules ---------------------------------------------------------------------------

    def _refill_rule_list(self) -> None:
        self.rule_list.clear()
        self.rule_list.addItems([r.name or "(unnamed)" for r in self.rules.rules])

    @Slot(int)
    def _show_rule(self, row: int) -> None:
        if not 0 <= row < len(self.rules.rules):
            return
        rule = self.rules.rules[row]
        self.rule_name.setText(rule.name)
        self.rule_type.setEditText(rule.type)
        self.rule_class.setCurrentIndex(
            CLASSES.index(rule.process_class) + 1 if rule.process_class in CLASSES else 0
        )
        for key, field in self.match_fields.items():
            field.setText(", ".join(rule.match.get(key, [])))

    @Slot()
    def add_rule(self) -> None:
        self.rules.rules.append(
            EditableRule(
                name=f"rule {len(self.rules.rules) + 1}", type=self.rule_type.itemText(0) or "build"
            )
        )
        self._refill_rule_list()
        self.rule_list.setCurrentRow(len(self.rules.rules) - 1)
        self.validate_timer.start(VALIDATE_AFTER_MS)

    @Slot()
    def delete_rule(self) -> None:
        row = self.rule_list.currentRow()
        if 0 <= row < len(self.rules.rules):
            del self.rules.rules[row]
            self._refill_rule_list()
            self.validate_timer.start(VALIDATE_AFTER_MS)

    @Slot()
    def _rule_edited(self) -> None:
        row = self.rule_list.currentRow()
        if not 0 <= row < len(self.rules.rules):
            return
        rule = self.rules.rules[row]
        rule.name = self.rule_name.text().strip()
        rule.type = self.rule_type.currentText().strip()
        index = self.rule_class.currentIndex()
        rule.process_class = CLASSES[index - 1] if index > 0 else ""
        rule.match = {key: patterns(f.text()) for key, f in self.match_fields.items()}
        item = self.rule_list.item(row)
        if item is not None:
            item.setText(rule.name or "(unnamed)")
        self.validate_timer.start(VALIDATE_AFTER_MS)  # inline: checked when typing pauses

    @Slot()
    def validate_rules(self) -> None:
        self.connection.call(
            "TestRules", "s", [self.rules.to_toml()], self._rules_valid, self._rules_invalid
        )

    @Slot()
    def test_rules(self) -> None:
        self.validate_rules()

    def _rules_valid(self, result: Any) -> None:
        self.rule_check.setText("The rules are valid.")
        self.rule_check.setStyleSheet("color: #3fb950;")
        self.rule_matches.clear()
        for rule in result.get("rules", []) if isinstance(result, dict) else []:
            for match in rule.get("matches", []):
                self.rule_matches.addItem(f"{rule['name']}: {match['comm']} (pid {match['pid']})")

    def _rules_invalid(self, error: BaseException) -> None:
        self.rule_check.setText(f"Not valid: {error}")
        self.rule_check.setStyleSheet("color: #f85149;")
        self.rule_matches.clear()

    # -- applying ------------------------------------------------------------------------

    def settings_patch(self) -> JsonDict:
        """What the widgets change, as a partial settings document (only what differs)."""
        wanted: JsonDict = {
            "general": {"mode": self.mode.currentText(), "interval_s": self.interval.value()},
            "policy": {
                "focus_boost": self.focus_boost.isChecked(),
                "user_idle_s": self.user_idle.value(),
                "hysteresis_samples": int(self.hysteresis.value()),
            },
            "ebpf": {
                "enabled": self.ebpf_enabled.isChecked(),
                "probes": {name: box.isChecked() for name, box in self.probe_boxes.items()},
                "max_processes": int(self.max_processes.value()),
                "max_tasks": int(self.max_tasks.value()),
            },
            "alerts": {
                kind: {
                    "enabled": on.isChecked(),
                    "threshold": threshold.value(),
                    "duration_s": duration.value(),
                    "cooldown_s": cooldown.value(),
                }
                for kind, (on, threshold, duration, cooldown, _notify) in self.alert_rows.items()
            },
        }
        patch: JsonDict = _difference(wanted, self.loaded)
        return patch

    @Slot()
    def apply(self) -> None:
        self._apply_preferences()
        patch = self.settings_patch()
        rules = self.rules.to_toml()
        if not patch and rules == self.rules_text:
            self.message.setText("Your choices are saved; the helper's settings are unchanged.")
            return
        self.message.setText("Applying through the helper…")
        if patch:
            self.connection.call(
                "SetSettings", "s", [json.dumps(patch)], self._applied, self._refused
            )
        if rules != self.rules_text:
            self.connection.call("SetRules", "s", [rules], self._rules_applied, self._refused)

    def _apply_preferences(self) -> None:
        self.prefs.notifications = self.notifications.isChecked()
        self.prefs.muted_kinds = {k for k, row in self.alert_rows.items() if not row[4].isChecked()}
        if self.quiet.isChecked():
            start, end = self.quiet_from.time(), self.quiet_until.time()
            self.prefs.quiet_from = datetime.time(start.hour(), start.minute())
            self.prefs.quiet_until = datetime.time(end.hour(), end.minute())
        else:
            self.prefs.quiet_from = self.prefs.quiet_until = None
        preferences.save(self.prefs)
        try:
            autostart.set_enabled(self.autostart.isChecked())
        except OSError as exc:
            self.message.setText(f"Cannot change the autostart entry: {exc}")

    def _applied(self, document: Any) -> None:
        self._settings_loaded(document)  # SetSettings answers with the settings now in force
        self.message.setText("Applied.")

    def _rules_applied(self, result: Any) -> None:
        self.rules_text = self.rules.to_toml()
        self.message.setText(f"Rules applied: {result.get('rules', '?')} of yours.")

    def _refused(self, error: BaseException) -> None:
        if isinstance(error, NotAuthorized):
            self.message.setText(f"Not allowed to change the helper's settings: {error}")
        else:
            self.message.setText(f"Not applied: {error}")


def _difference(wanted: Any, loaded: Any) -> Any:
    """The parts of ``wanted`` that differ from ``loaded`` (nested tables)."""
    if isinstance(wanted, dict):
        out = {}
        for key, value in wanted.items():
            if isinstance(value, dict):
                inner = _difference(value, loaded.get(key, {}) if isinstance(loaded, dict) else {})
                if inner:
                    out[key] = inner
            elif not isinstance(loaded, dict) or loaded.get(key) != value:
                out[key] = value
        return out
    return wanted
