"""The policy engine: each sample in, labelled sample and priority changes out.

Per process: classify (cached until it runs another program), decide a class from its
type and the context (focus, user idle, pressure), hold it with hysteresis, and tell the
actuator what it should hold. Processes whose sample is unchanged since the previous tick
and whose context did not change take a fast path: one dictionary lookup. That keeps the
helper within its budget (< 1% of a core at 1 Hz with 1,000 processes).

Groups: the focused application is the reported process with its descendants (and its
systemd app scope, on a unified cgroup hierarchy). An autogroup or a cgroup gets a
setting of its own only when every process in it wants the same class.
"""

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from smoothtask_helper import groups, procinfo
from smoothtask_helper.actuator import (
    Actuator,
    GroupWant,
    ProcessWant,
    Report,
    find_autogroup_member,
)
from smoothtask_helper.classify import UNCLASSIFIED, Classification, classify
from smoothtask_helper.collectors.procfs import PF_KTHREAD, parse_stat
from smoothtask_helper.errors import InvalidArgument
from smoothtask_helper.levers import Levers
from smoothtask_helper.model import ProcessSample, Snapshot
from smoothtask_helper.policy import CORE_SERVICES, Context, Hysteresis, decide, protection
from smoothtask_helper.priority import IoPriority, Priority
from smoothtask_helper.procinfo import CLOCK_TICKS, Identity
from smoothtask_helper.rules import RuleSet
from smoothtask_helper.settings import Settings
from smoothtask_helper.validate import Target

log = logging.getLogger(__name__)

MAX_CHANGES_PER_TICK = 200  # in one ProcessClassChanged signal; the rest are counted
MAX_ANCESTORS = 64
UNREAD = -2  # an autogroup not read yet (None: not in an autogroup)


@dataclass(slots=True)
class _Entry:
    identity: Identity
    start_time: float
    comm: str
    classification: Classification | None = None
    protected: str | None = None
    process_class: str = "NORMAL"
    reason: str = ""
    fresh: bool = True
    source: ProcessSample | None = None
    labelled: ProcessSample | None = None
    autogroup: int | None = UNREAD
    cgroups: procinfo.Cgroups | None = None


@dataclass(slots=True)
class _Focus:
    identity: Identity
    comm: str
    uid: int
    reported_at: float
    user_idle_s: float


@dataclass(slots=True)
class ChangeLog:
    """Class changes for one ProcessClassChanged signal (bounded; the rest are counted)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0

    def add(self, change: dict[str, Any]) -> None:
        if len(self.items) < MAX_CHANGES_PER_TICK:
            self.items.append(change)
        else:
            self.dropped += 1

    def to_json(self) -> dict[str, Any]:
        return {"changes": self.items, "dropped": self.dropped}


@dataclass(slots=True)
class TickResult:
    snapshot: Snapshot
    changes: ChangeLog = field(default_factory=ChangeLog)
    report: Report | None = None


class Engine:
    def __init__(
        self,
        settings: Settings,
        rules: RuleSet,
        actuator: Actuator | None,
        levers: Levers,
        own_pid: int | None = None,
    ) -> None:
        self.settings = settings
        self.rules = rules
        self.actuator = actuator
        self.levers = levers
        self.own_pid = os.getpid() if own_pid is None else own_pid
        self._boot_time = procinfo.StartClock().boot_time
        self._entries: dict[int, _Entry] = {}
        self._hysteresis: Hysteresis[Identity] = Hysteresis(settings.hysteresis_samples)
        self._overrides: dict[Identity, str] = {}
        self._wants: dict[Identity, ProcessWant] = {}
        self._weights: dict[Identity, int] = {}  # cpu.weight each managed process wants
        self._by_pid: dict[int, ProcessSample] = {}
        self._group_wants: dict[str, GroupWant] = {}
        self._focus: _Focus | None = None
        self._focus_members: set[int] = set()
        self._context: Context | None = None
        self._full_pass = True
        self._tick = 0
        self._pending: set[int] = set()
        self._own_autogroup = procinfo.read_autogroup(self.own_pid)
        self._shown_managed: set[Identity] = set()
        self.last_report = Report()
        self.enabled = True  # False: decide, but change nothing yet (see Control)

    # -- configuration -----------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self.settings.mode

    @property
    def acting(self) -> bool:
        return self.mode == "active" and self.actuator is not None and self.enabled

    def configure(self, settings: Settings) -> None:
        self.settings = settings
        self._hysteresis.samples = settings.hysteresis_samples
        self._full_pass = True

    def set_rules(self, rules: RuleSet) -> None:
        """Reclassify every process at the next tick; changes of class then wait for the
        hysteresis as any change of context does (the processes are not new)."""
        self.rules = rules
        for entry in self._entries.values():
            entry.classification = None
        self._full_pass = True

    # -- identity ----------------------------------------------------------------------

    def _identity(self, process: ProcessSample) -> Identity:
        ticks = round((process.start_time - self._boot_time) * CLOCK_TICKS)
        return Identity(process.pid, ticks)

    def present(self, identity: Identity) -> bool:
        entry = self._entries.get(identity.pid)
        return entry is not None and entry.identity == identity

    # -- one tick ------------------------------------------------------------------------

    def update(self, snapshot: Snapshot, tick: bool = True) -> TickResult:
        """Label and act on a sample. ``tick=False`` for a sample patched between ticks
        (e.g. processes an exec event announced): new processes are classified and acted
        on at once, but hysteresis counts only real ticks."""
        if tick:
            self._tick += 1
        processes = snapshot.processes
        by_pid = {p.pid: p for p in processes}
        self._by_pid = by_pid
        self._forget_gone(by_pid)
        context = self._current_context(snapshot)
        if context != self._context:
            self._context, self._full_pass = context, True
        focus_members = self._focus_group(by_pid)
        touched = focus_members ^ self._focus_members
        self._focus_members = focus_members
        pending, self._pending = self._pending, set()
        full = self._full_pass
        self._full_pass = False

        result = TickResult(snapshot)
        out: list[ProcessSample] = []
        for process in processes:
            entry = self._entries.get(process.pid)
            if (
                entry is not None
                and entry.source is process
                and entry.labelled is not None
                and not full
                and process.pid not in touched
                and process.pid not in pending
            ):
                out.append(entry.labelled)  # the fast path: nothing changed
                continue
            out.append(self._process(process, entry, by_pid, context, result.changes))
        result.report = self._sync(processes)
        self._mark_applied(result.changes)
        self._show_managed(out)
        result.snapshot = replace(snapshot, processes=tuple(out))
        return result

    def _mark_applied(self, changes: ChangeLog) -> None:
        """After the sync: say of each change whether the actuator now holds its values."""
        held = {i.pid for i in self.actuator.managed()} if self.acting and self.actuator else set()
        for change in changes.items:
            change["applied"] = change["pid"] in held

    def _show_managed(self, out: list[ProcessSample]) -> None:
        """Show what the actuator holds: the scanner re-reads a quiet process's nice only
        every few samples, and its ionice every 30."""
        if self.actuator is None:
            return
        held = {i: r for i, r in self.actuator.journal.processes.items() if r.holds_values()}
        for identity in self._shown_managed - held.keys():
            entry = self._entries.get(identity.pid)
            if entry is not None and entry.identity == identity:
                entry.source = None  # restored: relabel from a fresh sample next time
        self._shown_managed = set(held)
        if not held:
            return
        index = {p.pid: i for i, p in enumerate(out)}
        for identity, record in held.items():
            entry = self._entries.get(identity.pid)
            i = index.get(identity.pid)
            if entry is None or entry.identity != identity or i is None:
                continue
            shown = out[i]
            nice = shown.nice if record.nice is None else record.nice.ours
            ionice = shown.ionice
            if record.ionice is not None:
                ionice = str(IoPriority(*record.ionice.ours))
            if (nice, ionice) != (shown.nice, shown.ionice):
                out[i] = entry.labelled = replace(shown, nice=nice, ionice=ionice)

    def _sync(self, processes: Iterable[ProcessSample]) -> Report | None:
        if self.actuator is None:
            return None
        if self.acting:
            self._group_wants = self._find_group_wants(processes)
            wants = self._wants
        else:
            self._group_wants, wants = {}, {}
        self.last_report = self.actuator.sync(wants, self._group_wants, self.present)
        return self.last_report

    def _forget_gone(self, by_pid: dict[int, ProcessSample]) -> None:
        for pid in [pid for pid in self._entries if pid not in by_pid]:
            self._drop(self._entries.pop(pid))

    def _drop(self, entry: _Entry) -> None:
        self._wants.pop(entry.identity, None)
        self._weights.pop(entry.identity, None)
        self._overrides.pop(entry.identity, None)
        self._hysteresis.forget(entry.identity)

    def _process(
        self,
        process: ProcessSample,
        entry: _Entry | None,
        by_pid: dict[int, ProcessSample],
        context: Context,
        changes: ChangeLog,
    ) -> ProcessSample:
        entry = self._entry_for(process, entry)
        classification = self._classification(process.pid, by_pid, 0)
        entry.protected = protection(process, classification.type, self.own_pid)
        previous = entry.process_class if entry.labelled is not None else None
        process_class, reason = self._class_for(process, entry, classification, context)
        entry.fresh = False
        self._want(process, entry, classification, process_class)
        entry.process_class, entry.reason = process_class, reason
        if process_class != (previous or "NORMAL"):
            changes.add(self._change(process, entry, classification, previous, process_class))
        entry.source = process
        entry.labelled = self._label(process, classification, process_class)
        return entry.labelled

    def _entry_for(self, process: ProcessSample, entry: _Entry | None) -> _Entry:
        if entry is not None and entry.start_time != process.start_time:
            self._drop(entry)  # the pid was reused: a new process, nothing carries over
            entry = None
        if entry is None:
            entry = _Entry(self._identity(process), process.start_time, process.comm)
            self._entries[process.pid] = entry
        elif entry.comm != process.comm:  # it ran another program: classify afresh
            entry.comm, entry.classification, entry.fresh = process.comm, None, True
            entry.cgroups = None
        return entry

    def _classification(
        self, pid: int, by_pid: dict[int, ProcessSample], depth: int
    ) -> Classification:
        entry = self._entries.get(pid)
        process = by_pid.get(pid)
        if process is None:
            return UNCLASSIFIED
        if entry is None or entry.start_time != process.start_time:
            entry = self._entry_for(process, entry)
        if entry.classification is None:
            parent = None
            parent_sample = by_pid.get(process.ppid)
            if depth < MAX_ANCESTORS and parent_sample is not None and process.ppid != pid:
                parent = self._classification(process.ppid, by_pid, depth + 1)
            entry.classification = classify(
                process,
                self.rules,
                parent,
                lambda: ancestors(process, by_pid),
                None if parent_sample is None else parent_sample.uid,
            )
        return entry.classification

    def _class_for(
        self,
        process: ProcessSample,
        entry: _Entry,
        classification: Classification,
        context: Context,
    ) -> tuple[str, str]:
        if entry.protected is not None:
            return "NORMAL", f"never changed: {entry.protected}"
        override = self._overrides.get(entry.identity)
        if override is not None:
            self._hysteresis.force(entry.identity, override, self._tick)
            return override, "set by a person"
        desired, reason = decide(
            classification.base_class, process.pid in self._focus_members, context
        )
        held = self._hysteresis.step(entry.identity, desired, self._tick, entry.fresh)
        if held != desired:
            self._pending.add(process.pid)
            return held, "held (hysteresis)"
        return held, reason

    def _priority(
        self, entry: _Entry, classification: Classification, process_class: str
    ) -> Priority | None:
        """What the actuator should hold for this process; None: leave it as it is."""
        table = self.settings.class_table()
        if entry.identity in self._overrides:
            return table[process_class]  # asked for explicitly: even NORMAL's values
        rule = classification.rule
        own_values = (
            rule is not None
            and process_class == classification.base_class
            and (rule.nice is not None or rule.ionice is not None)
        )
        if process_class == "NORMAL" and not own_values:
            return None  # NORMAL means: as the process was
        values = table[process_class]
        if own_values and rule is not None:
            values = Priority(
                values.nice if rule.nice is None else rule.nice,
                values.ionice if rule.ionice is None else rule.ionice,
                values.cpu_weight,
            )
        return values

    def _want(
        self,
        process: ProcessSample,
        entry: _Entry,
        classification: Classification,
        process_class: str,
    ) -> None:
        in_scope = (
            not self.settings.manage_uids
            or process.uid in self.settings.manage_uids
            or entry.identity in self._overrides  # asked for by an authorized person
        )
        values = self._priority(entry, classification, process_class)
        if entry.protected is not None or not in_scope or values is None:
            self._wants.pop(entry.identity, None)
            self._weights.pop(entry.identity, None)
            return
        self._wants[entry.identity] = ProcessWant(
            entry.identity, process.comm, values.nice, values.ionice, process.threads
        )
        self._weights[entry.identity] = values.cpu_weight

    def _label(
        self, process: ProcessSample, classification: Classification, process_class: str
    ) -> ProcessSample:
        label = (process_class, classification.type, classification.rule_label)
        if label == (process.process_class, process.process_type, process.rule):
            return process  # the scanner's defaults already say it: no copy
        return replace(
            process,
            process_class=process_class,
            process_type=classification.type,
            rule=classification.rule_label,
        )

    def _change(
        self,
        process: ProcessSample,
        entry: _Entry,
        classification: Classification,
        previous: str | None,
        process_class: str,
    ) -> dict[str, Any]:
        return {
            "pid": process.pid,
            "start_time": process.start_time,
            "comm": process.comm,
            "class": process_class,
            "previous": previous,
            "type": classification.type,
            "rule": classification.rule_label,
            "reason": entry.reason,
            "applied": False,  # set after the sync (_mark_applied)
        }

    # -- context -------------------------------------------------------------------------

    def _current_context(self, snapshot: Snapshot) -> Context:
        settings = self.settings
        focus_boost = False
        if self._focus is not None and settings.focus_boost:
            idle = self._focus.user_idle_s + (time.monotonic() - self._focus.reported_at)
            focus_boost = idle < settings.user_idle_s
        io_pressure = False
        if settings.io_pressure_idle_pct > 0 and snapshot.psi is not None and "io" in snapshot.psi:
            io_pressure = snapshot.psi["io"].some.avg10 >= settings.io_pressure_idle_pct
        return Context(focus_boost=focus_boost, io_pressure=io_pressure)

    def _focus_group(self, by_pid: dict[int, ProcessSample]) -> set[int]:
        focus = self._focus
        if focus is None:
            return set()
        leader = by_pid.get(focus.identity.pid)
        if leader is None or self._identity(leader) != focus.identity:
            log.info("the focused process %d (%s) is gone", focus.identity.pid, focus.comm)
            self._focus = None
            return set()
        entry = self._entries.get(leader.pid)
        if protection(leader, "unclassified", self.own_pid) or (entry and entry.protected):
            # a service manager or session leader is not an app: its descendants are
            # everything the user runs, and it is itself never changed
            return set()
        return groups.focus_members(leader.pid, by_pid)

    # -- groups ----------------------------------------------------------------------------

    def _find_group_wants(self, processes: Iterable[ProcessSample]) -> dict[str, GroupWant]:
        if not self._wants:
            return {}
        wants: dict[str, GroupWant] = {}
        if self.levers.autogroup.available and self.settings.autogroup:
            own = None if self._own_autogroup is None else self._own_autogroup[0]
            pids = [p.pid for p in processes]
            wants.update(groups.autogroup_wants(self, self._wants, pids, own))
        lever = self.levers.cgroup_lever
        if lever is not None and self.levers.cgroup.available and self.settings.cgroup:
            wants.update(groups.cgroup_wants(self, self._wants, lever))
        return wants

    # -- groups.GroupView: what group decisions need to know of the process at a pid ----------

    def want_at(self, pid: int) -> ProcessWant | None:
        entry = self._entries.get(pid)
        return None if entry is None else self._wants.get(entry.identity)

    def weight_at(self, pid: int) -> int | None:
        entry = self._entries.get(pid)
        if entry is None or entry.protected is not None:
            return None
        return self._weights.get(entry.identity)

    def autogroup_at(self, pid: int) -> int | None:
        entry = self._entries.get(pid)
        if entry is None:
            return None
        if entry.autogroup == UNREAD:  # read once per process: only setsid changes it
            found = procinfo.read_autogroup(pid)
            entry.autogroup = None if found is None else found[0]
        return entry.autogroup

    def cgroups_at(self, pid: int) -> procinfo.Cgroups:
        entry = self._entries.get(pid)
        if entry is None:
            return procinfo.read_cgroups(pid)
        if entry.cgroups is None:
            entry.cgroups = procinfo.read_cgroups(pid)
        return entry.cgroups

    # -- requests from the bus -------------------------------------------------------------

    def report_focus(self, target: Target | None, user_idle_s: float) -> dict[str, Any] | None:
        if target is None:
            self._focus = None
        else:
            self._focus = _Focus(
                target.identity, target.comm, target.uid, time.monotonic(), user_idle_s
            )
        # no full pass: the next tick reprocesses the processes that join or leave the
        # focus group, and all of them if the boost itself switches on or off (context)
        return self.focus_json()

    def focus_json(self) -> dict[str, Any] | None:
        focus = self._focus
        if focus is None:
            return None
        idle = focus.user_idle_s + (time.monotonic() - focus.reported_at)
        return {
            "pid": focus.identity.pid,
            "comm": focus.comm,
            "uid": focus.uid,
            "user_idle_s": round(idle, 1),
            "boosting": bool(self._context and self._context.focus_boost),
            "members": len(self._focus_members),
        }

    def set_override(
        self, target: Target, process_class: str | None
    ) -> tuple[dict[str, Any], ChangeLog]:
        """A person's choice for one process (None: back to the policy), applied now."""
        entry = self._entries.get(target.pid)
        known = entry is not None and entry.identity == target.identity
        reason = (
            entry.protected
            if entry is not None and known
            else protection_of_target(target, self.own_pid)
        )
        if reason is not None:
            raise InvalidArgument(f"pid {target.pid} ({target.comm}) is never changed: {reason}")
        if process_class is None:
            self._overrides.pop(target.identity, None)
            self._hysteresis.forget(target.identity)
        else:
            self._overrides[target.identity] = process_class
        changes = ChangeLog()
        previous = None
        sample = entry.source if entry is not None and known else None
        if sample is None:
            sample = fresh_sample(target, self._boot_time)  # newer than the latest sample
            entry = None
        if sample is not None and self._context is not None:
            if entry is not None:
                previous = entry.process_class
                entry.fresh = process_class is None  # back to the policy's class at once
            by_pid = (
                self._by_pid if sample.pid in self._by_pid else {**self._by_pid, sample.pid: sample}
            )
            self._process(sample, entry, by_pid, self._context, changes)
            self._sync(by_pid.values())
            self._mark_applied(changes)
        else:
            self._full_pass = True  # it takes effect at the next sample
        state = self.entry_state(target.identity)
        return {
            "pid": target.pid,
            "comm": target.comm,
            "requested": process_class,
            "previous": previous,
            "class": None if state is None else state["class"],
            "reason": None if state is None else state["reason"],
            "mode": self.mode,
            "applied": bool(state and state["managed"]),
        }, changes

    def restore_all(self) -> int:
        if self.actuator is None:
            return 0
        self._group_wants = {}
        return self.actuator.restore_all(find_autogroup_member)

    # -- reading -------------------------------------------------------------------------

    def wanted(self) -> dict[Identity, ProcessWant]:
        """What the actuator is asked to hold per process (empty unless active)."""
        return dict(self._wants) if self.acting or self.actuator is None else {}

    def entry_state(self, identity: Identity) -> dict[str, Any] | None:
        entry = self._entries.get(identity.pid)
        if entry is None or entry.identity != identity:
            return None
        want = self._wants.get(identity)
        return {
            "class": entry.process_class,
            "reason": entry.reason,
            "managed": self.actuator is not None and identity in self.actuator.managed(),
            "wanted": None if want is None else {"nice": want.nice, "ionice": str(want.ionice)},
        }

    def status(self) -> dict[str, Any]:
        managed = self.actuator.managed() if self.actuator is not None else set()
        report = self.last_report
        return {
            "managed_processes": len(managed),
            "managed_groups": len(self.actuator.journal.groups) if self.actuator else 0,
            "overrides": len(self._overrides),
            "focus": self.focus_json(),
            "context": None
            if self._context is None
            else {
                "focus_boost": self._context.focus_boost,
                "io_pressure": self._context.io_pressure,
            },
            "last_sync": {
                "applied": report.applied,
                "restored": report.restored,
                "released": report.released[-20:],
                "failed": report.failed,
            },
        }


def ancestors(process: ProcessSample, by_pid: dict[int, ProcessSample]) -> list[str]:
    names: list[str] = []
    pid = process.ppid
    seen = {process.pid}
    while pid in by_pid and pid not in seen and len(names) < MAX_ANCESTORS:
        seen.add(pid)
        parent = by_pid[pid]
        names.append(parent.comm)
        pid = parent.ppid
    return names


def fresh_sample(target: Target, boot_time: float) -> ProcessSample | None:
    """A process the latest sample does not have yet (a request named it), read now."""
    try:
        with open(f"{procinfo.PROC}/{target.pid}/stat", "rb") as f:
            stat = parse_stat(f.read())
    except (OSError, ValueError):
        return None
    if stat.start_ticks != target.identity.start_ticks:
        return None
    return ProcessSample(
        pid=target.pid,
        start_time=round(boot_time + stat.start_ticks / CLOCK_TICKS, 2),
        comm=stat.comm,
        uid=target.uid,
        ppid=stat.ppid,
        state=stat.state,
        threads=stat.threads,
        cpu_percent=0.0,
        rss_bytes=0,
        nice=stat.nice,
        ionice="unknown",
        kernel_thread=bool(stat.flags & PF_KTHREAD),
        process_class="NORMAL",
        process_type="unclassified",
    )


def protection_of_target(target: Target, own_pid: int) -> str | None:
    if target.pid == own_pid:
        return "the helper itself"
    if target.comm in CORE_SERVICES:
        return "core system service"
    return None
