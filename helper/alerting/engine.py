"""Turns findings into alert changes: raise after the condition held ``duration_s``,
update in place while it holds (the same alert id: one notification, updated), end when
it stops, then stay quiet for ``cooldown_s`` for that kind and subject."""

from dataclasses import dataclass, field, replace

from smoothtask_helper.alerting.findings import (
    DETECTORS,
    HOLD_FRACTION,
    Finding,
    Situation,
)
from smoothtask_helper.alerting.rules import DEFAULT_RULES, AlertRule
from smoothtask_helper.model import ProcessSample, Snapshot

UPDATE_EVERY_S = 10.0  # an ongoing alert is refreshed at most this often
EVENT_KINDS = frozenset({"oom-kill"})  # one alert per event, raised at once, never "ongoing"

Key = tuple[str, str]  # (kind, subject)


@dataclass(frozen=True)
class Change:
    action: str  # "raise", "update" or "end"
    finding: Finding
    rule: AlertRule
    alert_id: int | None = None  # for "update" and "end": the alert raised before


@dataclass
class _Tracked:
    since: float
    finding: Finding
    alert_id: int | None = None
    updated: float = 0.0


@dataclass
class AlertEngine:
    rules: dict[str, AlertRule] = field(default_factory=lambda: dict(DEFAULT_RULES))
    _tracked: dict[Key, _Tracked] = field(default_factory=dict)
    _quiet_until: dict[Key, float] = field(default_factory=dict)
    _raised_events: set[Key] = field(default_factory=set)
    _previous: dict[tuple[int, float], tuple[int, int]] = field(default_factory=dict)
    _previous_time: float | None = None

    def situation(
        self,
        snapshot: Snapshot,
        user_active: bool,
        focused_pid: int | None,
        new_processes: tuple[ProcessSample, ...] = (),
        degraded: tuple[str, ...] = (),
    ) -> Situation:
        """The tick's situation, with per-process rates since the previous tick."""
        wait_rates, open_rates = self._rates(snapshot)
        return Situation(
            snapshot=snapshot,
            user_active=user_active,
            focused_pid=focused_pid,
            new_processes=tuple(new_processes),
            degraded=degraded,
            wait_rates=wait_rates,
            open_rates=open_rates,
        )

    def _rates(
        self, snapshot: Snapshot
    ) -> tuple[dict[tuple[int, float], float], dict[tuple[int, float], float]]:
        kernel = snapshot.kernel
        wait: dict[tuple[int, float], float] = {}
        opens: dict[tuple[int, float], float] = {}
        now = snapshot.time
        elapsed = now - self._previous_time if self._previous_time is not None else 0.0
        current: dict[tuple[int, float], tuple[int, int]] = {}
        if kernel is not None:
            for key, stats in kernel.processes.items():
                figures = (stats.runqueue_wait_ns or 0, stats.tcp_opened or 0)
                current[key] = figures
                before = self._previous.get(key)
                if before is not None and elapsed > 0:
                    wait[key] = max(0, figures[0] - before[0]) / elapsed
                    opens[key] = max(0, figures[1] - before[1]) / elapsed
        self._previous, self._previous_time = current, now
        return wait, opens

    def evaluate(self, situation: Situation, now: float) -> list[Change]:
        """Every kind, once per tick."""
        return self._evaluate(situation, now, frozenset(self.rules))

    def evaluate_events(self, situation: Situation, now: float) -> list[Change]:
        """Only the event kinds (OOM kills): between ticks, as soon as they happen."""
        return self._evaluate(situation, now, EVENT_KINDS, end_missing=False)

    def bind(self, finding: Finding, alert_id: int) -> None:
        """The log's id for an alert just raised (updates and the end refer to it)."""
        tracked = self._tracked.get((finding.kind, finding.subject))
        if tracked is not None:
            tracked.alert_id = alert_id

    def _evaluate(
        self, situation: Situation, now: float, kinds: frozenset[str], end_missing: bool = True
    ) -> list[Change]:
        changes: list[Change] = []
        seen: set[Key] = set()
        for kind in sorted(kinds):
            rule = self.rules.get(kind)
            if rule is None or not rule.enabled:
                continue
            for finding in DETECTORS[kind](situation, rule):
                key = (kind, finding.subject)
                if kind in EVENT_KINDS:
                    seen.add(key)
                    if key not in self._raised_events:
                        self._raised_events.add(key)
                        changes.append(Change("raise", finding, rule))
                    continue
                change = self._observe(key, finding, rule, now)
                if change is not None or key in self._tracked:
                    seen.add(key)
                if change is not None:
                    changes.append(change)
        # forget events no longer reported (the kernel's list of recent kills moved on)
        self._raised_events = {k for k in self._raised_events if k in seen or k[0] not in kinds}
        if end_missing:
            changes += self._end_missing(seen, now)
        return changes

    def _observe(self, key: Key, finding: Finding, rule: AlertRule, now: float) -> Change | None:
        tracked = self._tracked.get(key)
        threshold = rule.threshold * (HOLD_FRACTION if tracked else 1.0)
        if finding.value < threshold:
            return None if tracked is None else self._end(key, now)
        if tracked is None:
            if now < self._quiet_until.get(key, 0.0):
                return None  # cooling down after the last alert of this kind and subject
            tracked = self._tracked[key] = _Tracked(since=now, finding=finding)
        tracked.finding = finding
        if tracked.alert_id is None:
            if now - tracked.since >= rule.duration_s:
                tracked.updated = now
                return Change("raise", finding, rule)
            return None
        if now - tracked.updated >= UPDATE_EVERY_S:
            tracked.updated = now
            return Change("update", finding, rule, tracked.alert_id)
        return None

    def _end(self, key: Key, now: float) -> Change | None:
        tracked = self._tracked.pop(key)
        if tracked.alert_id is None:
            return None  # it never lasted long enough to be raised
        rule = self.rules[key[0]]
        self._quiet_until[key] = now + rule.cooldown_s
        return Change("end", tracked.finding, rule, tracked.alert_id)

    def _end_missing(self, seen: set[Key], now: float) -> list[Change]:
        changes = []
        for key in list(self._tracked):
            if key not in seen:
                change = self._end(key, now)
                if change is not None:
                    changes.append(change)
        self._quiet_until = {k: t for k, t in self._quiet_until.items() if t > now}
        return changes

    def with_rules(self, rules: dict[str, AlertRule]) -> "AlertEngine":
        """The same engine state under new rules (settings changed)."""
        return replace(self, rules=dict(rules))
