"""The helper's policy side, assembled: settings and rules files, the engine and its
actuator, history and alerts. The D-Bus service delegates every request here; the tick
loop (daemon.py) hands each sample to ``on_sample``.
"""

import fcntl
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from smoothtask_helper import levers as levers_module
from smoothtask_helper.actuator import Actuator, find_autogroup_member, read_ionice, read_nice
from smoothtask_helper.alerting.engine import AlertEngine, Change
from smoothtask_helper.alertlog import AlertLog
from smoothtask_helper.ananicy import AnanicyLoad, load_directory
from smoothtask_helper.configfile import ConfigFile, ensure_folder
from smoothtask_helper.engine import ChangeLog, Engine
from smoothtask_helper.errors import InvalidArgument, Unavailable
from smoothtask_helper.history import History
from smoothtask_helper.journal import Journal, read_boot_id
from smoothtask_helper.model import JsonDict, ProcessSample, Snapshot
from smoothtask_helper.priority import IoPriority
from smoothtask_helper.ratelimit import RateLimiter
from smoothtask_helper.rule_trial import try_rules
from smoothtask_helper.rules import RulesDocument, RuleSet, combine, load_defaults, parse_rules
from smoothtask_helper.settings import (
    DEFAULTS,
    MAX_DOCUMENT_BYTES,
    Settings,
    merged,
    parse_toml,
    to_toml,
)
from smoothtask_helper.validate import Target

log = logging.getLogger(__name__)

DEFAULT_CONFIG_DIR = Path("/etc/smoothtask")
DEFAULT_STATE_DIR = Path("/var/lib/smoothtask")
# The person counts as active (for alerts such as cpu-hog) with input this recent.
USER_ACTIVE_WITHIN_S = 60.0
MAX_RULES_LISTED = 5000  # GetRules lists this many; the count says how many there are


class Signals(Protocol):
    """What the control emits on the bus (the service implements it)."""

    def class_changes(self, document: JsonDict) -> None: ...

    def alert(self, document: JsonDict) -> None: ...

    def status_changed(self) -> None: ...


class _Quiet:
    def class_changes(self, document: JsonDict) -> None:
        pass

    def alert(self, document: JsonDict) -> None:
        pass

    def status_changed(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class Folders:
    config: Path = DEFAULT_CONFIG_DIR
    state: Path = DEFAULT_STATE_DIR


class Control:
    def __init__(self, folders: Folders, interval_override: float | None = None) -> None:
        self.folders = folders
        self.interval_override = interval_override
        self.signals: Signals = _Quiet()
        self.alerts = AlertLog()
        self._raised: set[str] = set()  # degradation messages already alerted
        self.levers = levers_module.detect()
        self.defaults = load_defaults()
        self.settings_file: ConfigFile[Settings] = ConfigFile(
            folders.config / "settings.toml",
            folders.state / "settings.last-good.toml",
            parse_toml,
            DEFAULTS,
        )
        self.rules_file: ConfigFile[RulesDocument] = ConfigFile(
            folders.config / "rules.toml",
            folders.state / "rules.last-good.toml",
            lambda text, source: parse_rules(text, source, self.defaults.types),
            RulesDocument((), {}),
        )
        self.state_problem = ensure_folder(folders.state, 0o700) or self._lock_state()
        self.settings_file.load()
        self.rules_file.load()
        self._ananicy: list[tuple[str, AnanicyLoad]] = []
        ruleset = self._build_rules()
        self.limitations: list[str] = []
        self.restored_at_start = 0
        actuator = self._make_actuator()
        self.engine = Engine(self.settings, ruleset, actuator, self.levers)
        self.engine.enabled = False  # until start_acting(): this helper owns its bus name
        self.alert_engine = AlertEngine(self.settings.alert_rules())
        self._user_idle: tuple[float, float] | None = None  # (idle s, when reported)
        self.history = History(self.settings.history_s, self.interval_s)
        self.limiter = RateLimiter(self.settings.calls_per_s, self.settings.call_burst)
        for problem in (self.settings_file.error, self.rules_file.error, self.state_problem):
            if problem:
                self._degraded("A configuration problem", problem)

    # -- assembly --------------------------------------------------------------------------

    def _lock_state(self) -> str | None:
        """Hold the state folder's lock for the life of the helper: two helpers on one
        journal would restore each other's changes. None, or why it is not ours."""
        try:
            self._lock = (self.folders.state / "lock").open("a")
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Unavailable(
                f"another helper uses {self.folders.state} (its lock is held)"
            ) from None
        except OSError as exc:
            return f"cannot lock {self.folders.state}: {exc.strerror}"
        return None

    @property
    def settings(self) -> Settings:
        return self.settings_file.value

    @property
    def interval_s(self) -> float:
        if self.interval_override is not None:
            return self.interval_override
        return self.settings.interval_s

    def _make_actuator(self) -> Actuator | None:
        if not self.levers.nice.available:
            self.limitations.append(f"priorities are not changed: {self.levers.nice.reason}")
            return None
        if self.state_problem:
            # without a journal a change could not be undone after a crash: make none
            self.limitations.append(f"priorities are not changed: {self.state_problem}")
            return None
        journal = Journal(self.folders.state / "journal.json", read_boot_id())
        journal.load()
        actuator = Actuator(journal, self.levers)
        if journal.processes or journal.groups:
            self.restored_at_start = actuator.restore_all(find_autogroup_member)
            log.info("restored %d values an earlier run left", self.restored_at_start)
        return actuator

    def _build_rules(self) -> RuleSet:
        self._ananicy = []
        layers = [self.rules_file.value]
        for folder in self.settings.ananicy_dirs:
            loaded = load_directory(Path(folder))
            self._ananicy.append((folder, loaded))
            layers.append(loaded.document)
            if loaded.error_count:
                log.warning(
                    "ananicy-cpp rules in %s: %d lines skipped, e.g. %s",
                    folder,
                    loaded.error_count,
                    loaded.errors[0],
                )
        layers.append(self.defaults)
        return combine(layers)

    def _degraded(self, title: str, body: str) -> None:
        if body in self._raised:
            return
        self._raised.add(body)
        self._alert("helper-degraded", "warning", title, body)

    def _alert(self, kind: str, severity: str, title: str, body: str) -> None:
        alert = self.alerts.add(kind, severity, title, body)
        self.signals.alert(alert.to_json())

    # -- alerts from the metrics ---------------------------------------------------------

    def evaluate_alerts(
        self,
        snapshot: Snapshot,
        new_processes: tuple[ProcessSample, ...] = (),
        degraded: tuple[str, ...] = (),
        events_only: bool = False,
    ) -> None:
        """Run the alert engine over a sample: raise, update or end alerts in the log and
        send each change as an ``Alert`` signal. ``events_only`` between ticks (OOM)."""
        focus = self.engine.focus_json()
        situation = self.alert_engine.situation(
            snapshot, self.user_active(), focus["pid"] if focus else None, new_processes, degraded
        )
        now = time.time()
        evaluate = self.alert_engine.evaluate_events if events_only else self.alert_engine.evaluate
        for change in evaluate(situation, now):
            self._apply_alert(change)

    def _apply_alert(self, change: Change) -> None:
        finding = change.finding
        extra = {
            "subject": finding.subject,
            "value": round(finding.value, 1),
            "start_time": finding.start_time,
            "actions": list(finding.actions),
            "culprits": list(finding.culprits),
        }
        alert = None
        if change.action == "raise":
            alert = self.alerts.add(
                finding.kind,
                change.rule.severity,
                finding.title,
                finding.body,
                finding.pid,
                **extra,
            )
            self.alert_engine.bind(finding, alert.id)
        elif change.alert_id is not None and change.action == "update":
            alert = self.alerts.update(change.alert_id, finding.title, finding.body, **extra)
        elif change.alert_id is not None and change.action == "end":
            alert = self.alerts.end(change.alert_id)
        if alert is not None:
            self.signals.alert(alert.to_json())

    # -- the tick ----------------------------------------------------------------------------

    def on_sample(self, snapshot: Snapshot, tick: bool = True) -> Snapshot:
        """Each sample passes here: labelled (type, class, rule) and acted on. ``tick=False``
        for a sample patched between ticks (new processes from exec events)."""
        result = self.engine.update(snapshot, tick)
        if result.changes.items or result.changes.dropped:
            self.signals.class_changes(result.changes.to_json())
        report = result.report
        if report is not None and report.journal_error:
            self._degraded("Priorities cannot be changed safely", report.journal_error)
        return result.snapshot

    def remember(self, time: float, summary_json: str) -> None:
        self.history.add(time, summary_json)

    def poll_files(self) -> None:
        """Pick up hand edits of the settings and rules files (called every second)."""
        changed = False
        if self.settings_file.poll():
            changed = True
            if self.settings_file.error:
                self._degraded("The settings file is invalid", self.settings_file.error)
            else:
                self._apply_settings(rules_may_change=True)
        if self.rules_file.poll():
            changed = True
            if self.rules_file.error:
                self._degraded("The rules file is invalid", self.rules_file.error)
            else:
                self.engine.set_rules(self._build_rules())
        if changed:
            self.signals.status_changed()

    def _apply_settings(self, rules_may_change: bool) -> None:
        settings = self.settings
        self.engine.configure(settings)
        self.history.resize(settings.history_s, self.interval_s)
        self.limiter.configure(settings.calls_per_s, settings.call_burst)
        self.alert_engine.rules = settings.alert_rules()
        if rules_may_change:
            self.engine.set_rules(self._build_rules())

    def start_acting(self) -> None:
        """This helper is the one on its bus: from the next sample it changes priorities."""
        self.engine.enabled = True

    def close(self) -> int:
        """At stop: put back every value we changed, and change nothing after that (a
        sample patched by a late event must not act again)."""
        self.engine.enabled = False
        restored = self.engine.restore_all()
        log.info("restored %d processes' and groups' values", restored)
        return restored

    # -- requests ----------------------------------------------------------------------------

    def set_class(self, target: Target, process_class: str | None) -> JsonDict:
        result, changes = self.engine.set_override(target, process_class)
        self._emit(changes)
        result["nice"], result["ionice"] = _current_values(target.pid)
        return result

    def _emit(self, changes: ChangeLog) -> None:
        if changes.items:
            self.signals.class_changes(changes.to_json())

    def report_focus(self, target: Target | None, user_idle_s: float) -> JsonDict:
        # the idle time counts even without a focused window (pid 0): for alerts
        self._user_idle = (user_idle_s, time.monotonic())
        return {"focus": self.engine.report_focus(target, user_idle_s)}

    def user_active(self) -> bool:
        """The person used keyboard or mouse within USER_ACTIVE_WITHIN_S, as last reported."""
        if self._user_idle is None:
            return False
        idle, reported = self._user_idle
        return idle + (time.monotonic() - reported) < USER_ACTIVE_WITHIN_S

    def set_mode(self, mode: str) -> JsonDict:
        previous = self.settings.mode
        self._save_settings(merged(self.settings, {"general": {"mode": mode}}))
        restored = 0
        if mode != "active" and previous == "active":
            restored = self.engine.restore_all()
        return {"mode": mode, "previous": previous, "restored": restored}

    def set_settings(self, text: str) -> JsonDict:
        try:
            patch = json.loads(text)
        except ValueError as exc:
            raise InvalidArgument(f"settings must be a JSON object: {exc}") from None
        except RecursionError:
            raise InvalidArgument("settings must be a JSON object: nested too deeply") from None
        if not isinstance(patch, dict):
            raise InvalidArgument("settings must be a JSON object of sections")
        if "settings" in patch and len(patch) == 1:
            patch = patch["settings"]  # what GetSettings returned, sent back whole
        before = self.settings
        new = merged(before, patch)
        was_active = before.mode == "active"
        self._save_settings(new)
        if was_active and new.mode != "active":
            self.engine.restore_all()
        return self.settings_document()

    def _save_settings(self, settings: Settings) -> None:
        text = to_toml(settings)
        if len(text) > MAX_DOCUMENT_BYTES:
            raise InvalidArgument("the settings would be too large")
        rules_change = settings.ananicy_dirs != self.settings.ananicy_dirs
        try:
            self.settings_file.save(text)
        except OSError as exc:
            raise Unavailable(f"cannot write {self.settings_file.path}: {exc.strerror}") from None
        self._apply_settings(rules_may_change=rules_change)
        self.signals.status_changed()

    def set_rules(self, text: str) -> JsonDict:
        try:
            document = self.rules_file.save(text)
        except OSError as exc:
            raise Unavailable(f"cannot write {self.rules_file.path}: {exc.strerror}") from None
        self.engine.set_rules(self._build_rules())
        self.signals.status_changed()
        return {
            "path": str(self.rules_file.path),
            "rules": len(document.rules),
            "types": sorted(document.types),
        }

    def test_rules(self, text: str, processes: Iterable[ProcessSample]) -> JsonDict:
        """Which processes a candidate rules document would match (nothing changes)."""
        return try_rules(text, processes, self.defaults)

    # -- documents ---------------------------------------------------------------------------

    def settings_document(self) -> JsonDict:
        return {
            **self.settings_file.status(),
            "settings": self.settings.to_document(),
            "interval_override_s": self.interval_override,
        }

    def rules_document(self) -> JsonDict:
        rules = self.engine.rules
        sources: list[JsonDict] = [
            {
                "name": "user",
                **self.rules_file.status(),
                "rules": len(self.rules_file.value.rules),
            }
        ]
        for folder, loaded in self._ananicy:
            sources.append(
                {
                    "name": "ananicy-cpp",
                    "path": folder,
                    "files": loaded.files,
                    "rules": len(loaded.document.rules),
                    "errors": loaded.errors,
                    "error_count": loaded.error_count,
                }
            )
        sources.append({"name": "defaults", "rules": len(self.defaults.rules)})
        return {
            "toml": self.rules_file.text,
            "sources": sources,
            "types": {name: info.to_json() for name, info in sorted(rules.types.items())},
            "rules": [r.to_json() for r in rules.rules[:MAX_RULES_LISTED]],
            "rules_total": len(rules.rules),
        }

    def history_json(self, seconds: int) -> str:
        return self.history.json_since(seconds)

    def alerts_document(self, since: int) -> JsonDict:
        return self.alerts.document(since)

    def status(self) -> JsonDict:
        return {
            "mode": self.settings.mode,
            "levers": self.levers.to_json(),
            "settings": self.settings_file.status(),
            "rules": {
                **self.rules_file.status(),
                "count": len(self.engine.rules.rules),
                "ananicy": [
                    {"path": folder, "rules": len(a.document.rules), "errors": a.error_count}
                    for folder, a in self._ananicy
                ],
            },
            "policy": self.engine.status(),
            "journal": {
                "path": str(self.folders.state / "journal.json"),
                "restored_at_start": self.restored_at_start,
            },
            "config_dir": str(self.folders.config),
            "state_dir": str(self.folders.state),
            "history": {"seconds": self.settings.history_s, "samples": len(self.history)},
            "policy_limitations": list(self.limitations),
        }


def _current_values(pid: int) -> tuple[int | None, str | None]:
    """The process's nice and ionice as they are now (for a call's result)."""
    nice = read_nice(pid)
    io = read_ionice(pid)
    return nice, None if io is None else str(IoPriority(*io))
