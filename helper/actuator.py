"""The only code that changes priorities.

Per process: nice and ionice on every thread (a thread the program itself set to other
values is left as it is). Per group: an autogroup's nice, a cgroup's CPU weight — the
engine asks for those only when the whole group belongs to one managed application.

Safety, in the order it happens:
1. originals are read fresh and written to the journal (fsync) before any change;
2. right before each change the process is checked to be the same one — (pid, start
   ticks) — not a kernel thread, not PID 1, not the helper;
3. a value that no longer holds what we set was changed by someone else: that lever of
   that process is released for good — never set again, never "restored";
4. restoring puts back the original only where our value still holds.
"""

import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from smoothtask_helper import procinfo
from smoothtask_helper.collectors.procfs import PF_KTHREAD
from smoothtask_helper.journal import (
    GroupRecord,
    IoValue,
    Journal,
    LeverRecord,
    ProcessRecord,
    group_id,
)
from smoothtask_helper.levers import Levers
from smoothtask_helper.priority import IOCLASS_IDLE, IOCLASS_NONE, IoPriority
from smoothtask_helper.procinfo import Identity

log = logging.getLogger(__name__)

NICE, IONICE = "nice", "ionice"


@dataclass(frozen=True, slots=True)
class ProcessWant:
    identity: Identity
    comm: str
    nice: int
    ionice: IoPriority
    threads: int = 1  # as last sampled: more threads than at the last change -> set them too


@dataclass(frozen=True, slots=True)
class GroupWant:
    kind: str  # "autogroup" or "cgroup"
    key: str  # autogroup id, or the path of the cgroup's weight file
    value: int
    member: Identity | None = None  # autogroup: a member to reach it through

    @property
    def id(self) -> str:
        return group_id(self.kind, self.key)


@dataclass(slots=True)
class Report:
    """What one sync did, for the log, the status and the process list."""

    applied: int = 0
    restored: int = 0
    released: list[str] = field(default_factory=list)  # "nice of 1234 (cc1)"
    failed: int = 0
    journal_error: str | None = None


# -- reading and writing one thread's values ------------------------------------------


def read_nice(tid: int) -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, tid)
    except OSError:
        return None


def write_nice(tid: int, value: int) -> bool:
    try:
        os.setpriority(os.PRIO_PROCESS, tid, value)
    except OSError:
        return False
    return True


def _io_value(ioclass: int, level: int) -> IoValue:
    # the level means nothing for "none" and "idle"; keep it 0 so values compare equal
    return (ioclass, 0 if ioclass in (IOCLASS_NONE, IOCLASS_IDLE) else level)


def read_ionice(tid: int) -> IoValue | None:
    try:
        io = psutil.Process(tid).ionice()
    except (psutil.Error, OSError):
        return None
    return _io_value(int(io.ioclass), int(io.value))


def write_ionice(tid: int, value: IoValue) -> bool:
    ioclass, level = value
    try:
        process = psutil.Process(tid)
        if ioclass in (IOCLASS_NONE, IOCLASS_IDLE):
            process.ionice(ioclass)
        else:
            process.ionice(ioclass, level)
    except (psutil.Error, OSError, ValueError):
        return False
    return True


_READ: dict[str, Callable[[int], Any]] = {NICE: read_nice, IONICE: read_ionice}
_WRITE: dict[str, Callable[[int, Any], bool]] = {NICE: write_nice, IONICE: write_ionice}


# -- groups ----------------------------------------------------------------------------


def read_group(record_kind: str, key: str, member: Identity | None) -> int | None:
    if record_kind == "autogroup":
        if member is None:
            return None
        found = procinfo.read_autogroup(member.pid)
        if found is None or str(found[0]) != key or not procinfo.is_alive(member):
            return None
        return found[1]
    try:
        return int(Path(key).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def write_group(record_kind: str, key: str, member: Identity | None, value: int) -> bool:
    if record_kind == "autogroup":
        if member is None:
            return False
        found = procinfo.read_autogroup(member.pid)
        if found is None or str(found[0]) != key or not procinfo.is_alive(member):
            return False  # that process left the group or is gone: never write elsewhere
        path = Path(f"{procinfo.PROC}/{member.pid}/autogroup")
    else:
        path = Path(key)
    try:
        path.write_text(str(value))
    except OSError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class _Plan:
    record: ProcessRecord
    lever: str
    before: Any  # what the threads to change hold now (our earlier value, or the original)
    target: Any
    new: bool  # the lever was not managed before this plan


class Actuator:
    def __init__(self, journal: Journal, levers: Levers, own_pid: int | None = None) -> None:
        self.journal = journal
        self.levers = levers
        self.own_pid = os.getpid() if own_pid is None else own_pid
        self._threads_seen: dict[Identity, int] = {}  # thread count at the last change

    # -- checks ------------------------------------------------------------------------

    def _may_touch(self, identity: Identity) -> bool:
        """Right before a change: the very same process, and one we may ever touch."""
        if identity.pid in (0, 1, 2, self.own_pid):
            return False
        stat = procinfo.read_stat(identity.pid)
        if stat is None:
            return False
        start_ticks, flags, _comm = stat
        return start_ticks == identity.start_ticks and not flags & PF_KTHREAD

    def _lever_on(self, lever: str) -> bool:
        return (self.levers.nice if lever == NICE else self.levers.ionice).available

    # -- one process -------------------------------------------------------------------

    def _set_lever(self, record: ProcessRecord, lever: str, before: Any, target: Any) -> bool:
        """Set ``target`` on the threads that hold ``before`` (our previous value) or the
        main thread's original; record the original of each thread we change."""
        state: LeverRecord | None = getattr(record, lever)
        if state is None or not self._may_touch(record.identity):
            return False
        pid = record.identity.pid
        main_original = state.original.get(pid)
        changed = False
        for tid in procinfo.task_ids(pid):
            current = _READ[lever](tid)
            if current is None or current == target:
                continue
            if current not in (before, main_original):
                continue  # the program set this thread on purpose: leave it
            state.original.setdefault(tid, current)
            changed |= _WRITE[lever](tid, target)
        return changed

    def _restore_lever(self, record: ProcessRecord, lever: str) -> bool:
        state: LeverRecord | None = getattr(record, lever)
        if state is None or not self._may_touch(record.identity):
            return False
        pid = record.identity.pid
        restored = False
        for tid in procinfo.task_ids(pid):
            if _READ[lever](tid) != state.ours:
                continue  # not ours any more: someone else's value stays
            original = state.original_for(tid, pid)
            if original is not None:
                restored |= _WRITE[lever](tid, original)
        return restored

    def _restore_process(self, record: ProcessRecord) -> bool:
        restored = False
        for lever in (NICE, IONICE):
            restored |= self._restore_lever(record, lever)
            setattr(record, lever, None)
        self.journal.mark()
        return restored

    def _release(self, record: ProcessRecord, lever: str, report: Report) -> None:
        setattr(record, lever, None)
        record.released.add(lever)
        self.journal.mark()
        report.released.append(f"{lever} of {record.identity.pid} ({record.comm})")
        log.info(
            "%s of %d (%s) was changed by someone else: it is theirs now",
            lever,
            record.identity.pid,
            record.comm,
        )

    # -- the whole picture ---------------------------------------------------------------

    def sync(
        self,
        wants: Mapping[Identity, ProcessWant],
        group_wants: Mapping[str, GroupWant],
        present: Callable[[Identity], bool],
    ) -> Report:
        """Make the machine match ``wants``: restore what is no longer wanted, set what is
        newly wanted. ``present``: whether a process is still in the latest sample."""
        report = Report()
        self._drop_unwanted(wants, present, report)
        plans = self._plan_processes(wants, report)
        self._threads_seen = {i: n for i, n in self._threads_seen.items() if i in wants}
        group_plans = self._plan_groups(group_wants, report)
        try:
            self.journal.flush()  # write-ahead: the originals are on disk before any change
        except OSError as exc:
            self._roll_back(plans, group_plans)
            report.failed += len(plans) + len(group_plans)
            report.journal_error = f"cannot write the journal {self.journal.path}: {exc}"
            log.error("%s; no priority changed", report.journal_error)
            return report
        unapplied = []
        for plan in plans:
            if self._set_lever(plan.record, plan.lever, plan.before, plan.target):
                report.applied += 1
            if _READ[plan.lever](plan.record.identity.pid) != plan.target:
                unapplied.append(plan)  # gone, or the write failed (e.g. in mid-exec)
        if unapplied:
            # as if never planned: our value must not be recorded as in force, or the next
            # sync would take the unchanged value for someone else's and give it up
            self._roll_back(unapplied, [])
            self.journal.mark()
        for group, value in group_plans:
            if write_group(group.kind, group.key, group.member, value):
                report.applied += 1
            else:
                report.failed += 1
        return report

    def _roll_back(
        self,
        plans: list[_Plan],
        group_plans: list[tuple[GroupRecord, int]],
    ) -> None:
        """Forget planned changes that could not be journalled or did not take; a thread
        that did take the new value is put back first."""
        for plan in plans:
            state: LeverRecord | None = getattr(plan.record, plan.lever)
            if state is None:
                continue
            if plan.new:
                self._restore_lever(plan.record, plan.lever)
                setattr(plan.record, plan.lever, None)
            else:
                state.ours = plan.before
            if not plan.record.holds_values() and not plan.record.released:
                self.journal.processes.pop(plan.record.identity, None)
        for group, _value in group_plans:
            self.journal.groups.pop(group_id(group.kind, group.key), None)

    def _drop_unwanted(
        self,
        wants: Mapping[Identity, ProcessWant],
        present: Callable[[Identity], bool],
        report: Report,
    ) -> None:
        for identity, record in list(self.journal.processes.items()):
            if identity in wants:
                continue
            if record.holds_values() and self._restore_process(record):
                report.restored += 1
            if not record.released or not present(identity):
                del self.journal.processes[identity]
                self._threads_seen.pop(identity, None)
                self.journal.mark()

    def _plan_processes(self, wants: Mapping[Identity, ProcessWant], report: Report) -> list[_Plan]:
        plans: list[_Plan] = []
        for identity, want in wants.items():
            record = self.journal.processes.get(identity)
            if record is None:
                if not self._may_touch(identity):
                    continue
                record = ProcessRecord(identity, want.comm)
            more_threads = want.threads > self._threads_seen.get(identity, 1)
            self._threads_seen[identity] = want.threads
            targets = {NICE: want.nice, IONICE: _io_value(want.ionice.ioclass, want.ionice.level)}
            for lever, target in targets.items():
                if not self._lever_on(lever) or lever in record.released:
                    continue
                state: LeverRecord | None = getattr(record, lever)
                current = _READ[lever](identity.pid)
                if current is None:
                    break  # gone (or not ours to read): nothing to plan
                if state is None:
                    setattr(record, lever, LeverRecord({identity.pid: current}, target))
                    self.journal.processes[identity] = record
                    self.journal.mark()
                    plans.append(_Plan(record, lever, current, target, new=True))
                elif current != state.ours:
                    self._release(record, lever, report)
                elif state.ours != target:
                    plans.append(_Plan(record, lever, state.ours, target, new=False))
                    state.ours = target
                    self.journal.mark()
                elif more_threads:  # threads started since: set them too
                    plans.append(_Plan(record, lever, state.ours, target, new=False))
        return plans

    def _plan_groups(
        self, group_wants: Mapping[str, GroupWant], report: Report
    ) -> list[tuple[GroupRecord, int]]:
        for gid, record in list(self.journal.groups.items()):
            if gid in group_wants:
                continue
            if not record.released and self._restore_group(record, None):
                report.restored += 1
            del self.journal.groups[gid]
            self.journal.mark()
        plans: list[tuple[GroupRecord, int]] = []
        for gid, want in group_wants.items():
            held = self.journal.groups.get(gid)
            if held is not None and want.member is not None:
                held.member = want.member
            current = read_group(want.kind, want.key, want.member)
            if current is None or (held is not None and held.released):
                continue
            if held is None:
                held = GroupRecord(want.kind, want.key, current, want.value, want.member)
                self.journal.groups[gid] = held
                self.journal.mark()
                plans.append((held, want.value))
            elif current != held.ours:
                held.released = True
                self.journal.mark()
                report.released.append(f"{want.kind} {want.key}")
            elif held.ours != want.value:
                held.ours = want.value
                self.journal.mark()
                plans.append((held, want.value))
        return plans

    def _restore_group(
        self, record: GroupRecord, find_member: Callable[[int], Identity | None] | None
    ) -> bool:
        member = record.member
        if record.kind == "autogroup":
            if read_group(record.kind, record.key, member) is None and find_member is not None:
                member = find_member(int(record.key))  # the one we knew left; any member will do
            if member is None or not self._may_touch(member):
                return False
        if read_group(record.kind, record.key, member) != record.ours:
            return False  # changed by someone else (or gone): theirs
        return write_group(record.kind, record.key, member, record.original)

    def restore_all(self, find_member: Callable[[int], Identity | None] | None = None) -> int:
        """Put back every value that still holds ours; empty the journal. Used at stop,
        on pause and at start (for what a crashed run left)."""
        restored = 0
        if not (self.journal.processes or self.journal.groups or self.journal.dirty):
            return 0  # nothing to put back, nothing to write
        for identity, record in list(self.journal.processes.items()):
            if record.holds_values() and self._restore_process(record):
                restored += 1
            # a lever someone else took stays theirs as long as the process lives,
            # also across a restart of the helper
            if not (record.released and procinfo.is_alive(identity)):
                del self.journal.processes[identity]
        for gid, group in list(self.journal.groups.items()):
            if not group.released and self._restore_group(group, find_member):
                restored += 1
            if not group.released or read_group(group.kind, group.key, group.member) is None:
                del self.journal.groups[gid]
        self._threads_seen.clear()
        self.journal.mark()
        with contextlib.suppress(OSError):
            self.journal.flush()
        return restored

    def managed(self) -> set[Identity]:
        """Processes that hold a value we set."""
        return {i for i, r in self.journal.processes.items() if r.holds_values()}


def find_autogroup_member(autogroup: int) -> Identity | None:
    """Any live process in that autogroup (a scan of /proc: used only to restore)."""
    for name in os.listdir(procinfo.PROC):
        if not name.isdigit():
            continue
        found = procinfo.read_autogroup(int(name))
        if found is not None and found[0] == autogroup:
            identity = procinfo.read_identity(int(name))
            if identity is not None:
                return identity
    return None
