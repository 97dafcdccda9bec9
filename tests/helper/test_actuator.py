"""The actuator on real processes (root): every thread, the journal, someone else's values,
pid reuse, the guardrails, autogroups and cgroups. Only processes these tests start are
changed; autogroups they touch are their own sessions'; cgroups they make are removed."""

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from smoothtask_helper import actuator as actuator_module
from smoothtask_helper import levers, procinfo
from smoothtask_helper.actuator import Actuator, GroupWant, ProcessWant
from smoothtask_helper.journal import Journal
from smoothtask_helper.priority import IOCLASS_BE, IOCLASS_IDLE, IoPriority
from smoothtask_helper.procinfo import Identity
from tests.conftest import require, require_root
from tests.support.procs import end, ionice_of, nice_of, spawn_as, thread_ids
from tests.support.waiting import wait_for

THREADED = """
import threading, time
threads = [threading.Thread(target=time.sleep, args=(3600,), daemon=True) for _ in range(3)]
for t in threads: t.start()
print("ready", flush=True)
time.sleep(3600)
"""

SELF_NICED_THREAD = """
import os, threading, time
def worker():
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # on purpose
    time.sleep(3600)
threading.Thread(target=worker, daemon=True).start()
time.sleep(3600)
"""

BACKGROUND = ProcessWant  # for readability below


@pytest.fixture(autouse=True)
def _root() -> None:
    require_root()


@pytest.fixture
def actuator(tmp_path: Path) -> Actuator:
    journal = Journal(tmp_path / "state" / "journal.json", "test-boot")
    return Actuator(journal, levers.detect())


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        end(proc)


def identity(proc: subprocess.Popen[bytes]) -> Identity:
    found = procinfo.read_identity(proc.pid)
    assert found is not None
    return found


def want(
    proc: subprocess.Popen[bytes], nice: int = 19, io: IoPriority | None = None, threads: int = 1
) -> ProcessWant:
    return ProcessWant(identity(proc), "test", nice, io or IoPriority(IOCLASS_BE, 7), threads)


def wants(*items: ProcessWant) -> dict[Identity, ProcessWant]:
    return {w.identity: w for w in items}


def always(_identity: Identity) -> bool:
    return True


def threads_ready(proc: subprocess.Popen[bytes], count: int) -> None:
    wait_for(lambda: len(thread_ids(proc.pid)) >= count, 10, f"{count} threads")


def test_every_thread_is_set_and_restored(
    actuator: Actuator, procs: list[subprocess.Popen[bytes]]
) -> None:
    proc = spawn_as("st-threads", THREADED, nice=2, ionice=(IOCLASS_BE, 3))
    procs.append(proc)
    threads_ready(proc, 4)
    report = actuator.sync(wants(want(proc, threads=4)), {}, always)
    assert report.applied == 2
    for tid in thread_ids(proc.pid):
        assert nice_of(tid) == 19
        assert ionice_of(tid) == "best-effort/7"
    assert actuator.managed() == {identity(proc)}
    actuator.sync({}, {}, always)
    for tid in thread_ids(proc.pid):
        assert nice_of(tid) == 2
        assert ionice_of(tid) == "best-effort/3"
    assert actuator.managed() == set()


def test_a_thread_the_program_set_on_purpose_is_left(
    actuator: Actuator, procs: list[subprocess.Popen[bytes]]
) -> None:
    proc = spawn_as("st-selfnice", SELF_NICED_THREAD)
    procs.append(proc)
    threads_ready(proc, 2)
    wait_for(lambda: any(nice_of(t) == 10 for t in thread_ids(proc.pid)), 10, "the worker's nice")
    actuator.sync(wants(want(proc, nice=15, threads=2)), {}, always)
    values = sorted(nice_of(t) for t in thread_ids(proc.pid))
    assert values == [10, 15]
    actuator.sync({}, {}, always)
    assert sorted(nice_of(t) for t in thread_ids(proc.pid)) == [0, 10]


def test_a_value_someone_else_changed_is_theirs(
    actuator: Actuator, procs: list[subprocess.Popen[bytes]]
) -> None:
    proc = spawn_as("st-theirs")
    procs.append(proc)
    desired = wants(want(proc))
    actuator.sync(desired, {}, always)
    assert nice_of(proc.pid) == 19
    os.setpriority(os.PRIO_PROCESS, proc.pid, 7)  # someone else
    psutil.Process(proc.pid).ionice(IOCLASS_BE, 2)
    report = actuator.sync(desired, {}, always)
    assert len(report.released) == 2
    for _ in range(3):  # asked again and again: never fought over
        actuator.sync(desired, {}, always)
    assert (nice_of(proc.pid), ionice_of(proc.pid)) == (7, "best-effort/2")
    actuator.restore_all()
    assert (nice_of(proc.pid), ionice_of(proc.pid)) == (7, "best-effort/2")


def test_the_journal_survives_a_crash(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    path = tmp_path / "journal.json"
    first = Actuator(Journal(path, "boot-a"), levers.detect())
    proc = spawn_as("st-crash", nice=3, ionice=(IOCLASS_BE, 5))
    procs.append(proc)
    first.sync(wants(want(proc, io=IoPriority(IOCLASS_IDLE, 0))), {}, always)
    assert (nice_of(proc.pid), ionice_of(proc.pid)) == (19, "idle")
    # the first actuator "crashes": a new one reads the journal and restores
    journal = Journal(path, "boot-a")
    journal.load()
    assert identity(proc) in journal.processes
    assert Actuator(journal, levers.detect()).restore_all() == 1
    assert (nice_of(proc.pid), ionice_of(proc.pid)) == (3, "best-effort/5")
    # a journal from another boot is void: nothing in it is restored
    other = Journal(path, "boot-b")
    other.load()
    assert other.processes == {}


def test_no_change_without_a_journal(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    (tmp_path / "not-a-folder").write_text("")
    journal = Journal(tmp_path / "not-a-folder" / "journal.json", "boot")
    actuator = Actuator(journal, levers.detect())
    proc = spawn_as("st-nojournal")
    procs.append(proc)
    report = actuator.sync(wants(want(proc)), {}, always)
    assert report.journal_error is not None
    assert nice_of(proc.pid) == 0
    assert actuator.managed() == set()


def reuse_pid(pid: int, name: str, nice: int) -> subprocess.Popen[bytes] | None:
    """Start a process that gets ``pid`` (free again), through ns_last_pid."""
    for _ in range(50):
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        proc = spawn_as(name, nice=nice)
        if proc.pid == pid:
            return proc
        end(proc)  # another fork took it first; try again
    return None


def test_a_reused_pid_never_gets_the_old_decision(
    actuator: Actuator, procs: list[subprocess.Popen[bytes]]
) -> None:
    old = spawn_as("st-old")
    old_identity = identity(old)
    actuator.sync(wants(want(old)), {}, always)
    assert nice_of(old.pid) == 19
    # The kernel gives start times in clock ticks (10 ms): a pid reused within the same
    # tick would look like the same process. Real reuse needs the pid counter to wrap
    # around first; here (ns_last_pid) it could be that fast, so let a tick pass.
    time.sleep(0.05)
    old.kill()
    old.wait()
    new = reuse_pid(old_identity.pid, "st-new", nice=5)
    require(new is not None, "could not force the reuse of a pid (ns_last_pid)")
    assert new is not None
    procs.append(new)
    assert identity(new) != old_identity
    # asked for the old process again, then to restore it: the new one is untouched
    actuator.sync(
        wants(ProcessWant(old_identity, "st-old", 19, IoPriority(IOCLASS_BE, 7))), {}, always
    )
    assert nice_of(new.pid) == 5
    actuator.sync({}, {}, always)
    assert (nice_of(new.pid), ionice_of(new.pid)) == (5, "none")


def test_pid_1_kernel_threads_and_the_helper_are_refused(actuator: Actuator) -> None:
    kthread = next(
        p.pid for p in psutil.process_iter() if p.pid > 2 and procinfo.is_kernel_thread(p.pid)
    )
    targets = [Identity(1, 0), procinfo.read_identity(1), procinfo.read_identity(2),
               procinfo.read_identity(kthread), procinfo.read_identity(os.getpid())]  # fmt: skip
    before = {i.pid: (nice_of(i.pid), ionice_of(i.pid)) for i in targets if i is not None}
    desired = {
        i: ProcessWant(i, "x", -10, IoPriority(IOCLASS_BE, 0)) for i in targets if i is not None
    }
    report = actuator.sync(desired, {}, always)
    assert report.applied == 0
    assert actuator.managed() == set()
    assert {pid: (nice_of(pid), ionice_of(pid)) for pid in before} == before


@contextlib.contextmanager
def own_session_autogroup() -> Iterator[subprocess.Popen[bytes]]:
    proc = spawn_as("st-session", new_session=True)
    try:
        yield proc
    finally:
        end(proc)  # the autogroup goes with its last member


def test_autogroup_nice_is_set_and_restored(actuator: Actuator) -> None:
    lever = levers.detect()
    require(lever.autogroup.available, f"no autogroup lever: {lever.autogroup.reason}")
    mine = procinfo.read_autogroup(os.getpid())
    with own_session_autogroup() as proc:
        found = wait_for(lambda: procinfo.read_autogroup(proc.pid), 10, "its autogroup")
        group, nice = found
        assert mine is None or group != mine[0]
        member = identity(proc)
        group_want = GroupWant("autogroup", str(group), 19, member)
        actuator.sync(wants(want(proc)), {group_want.id: group_want}, always)
        assert procinfo.read_autogroup(proc.pid) == (group, 19)
        assert procinfo.read_autogroup(os.getpid()) == mine  # ours untouched
        actuator.sync({}, {}, always)
        assert procinfo.read_autogroup(proc.pid) == (group, nice)


@pytest.fixture
def test_cgroup() -> Iterator[tuple[Path, levers.CgroupLever]]:
    found = levers.detect()
    require(found.cgroup_lever is not None, f"no cgroup lever: {found.cgroup.reason}")
    assert found.cgroup_lever is not None
    folder = found.cgroup_lever.mount / f"smoothtask-test-{os.getpid()}"
    folder.mkdir()
    try:
        yield folder, found.cgroup_lever
    finally:
        for pid in (folder / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        wait_for(lambda: not (folder / "cgroup.procs").read_text().strip(), 10, "an empty cgroup")
        folder.rmdir()


def test_cgroup_weight_is_set_and_restored(
    actuator: Actuator,
    test_cgroup: tuple[Path, levers.CgroupLever],
    procs: list[subprocess.Popen[bytes]],
) -> None:
    folder, lever = test_cgroup
    proc = spawn_as("st-cgroup", cgroup_procs=folder / "cgroup.procs")
    procs.append(proc)
    weight_file = folder / lever.file
    original = int(weight_file.read_text())
    group_want = GroupWant("cgroup", str(weight_file), lever.value_for(10))
    actuator.sync(wants(want(proc)), {group_want.id: group_want}, always)
    assert int(weight_file.read_text()) == lever.value_for(10)
    actuator.sync({}, {}, always)
    assert int(weight_file.read_text()) == original


def test_a_write_that_did_not_take_is_tried_again_not_given_up(
    actuator: Actuator, procs: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write can fail for a moment (a process in mid-exec). Such a failure cannot be made
    to happen on demand, so the ionice writer is replaced for one sync (the only fake here)."""
    proc = spawn_as("st-flaky")
    procs.append(proc)
    desired = wants(want(proc))
    monkeypatch.setitem(actuator_module._WRITE, "ionice", lambda _tid, _value: False)
    actuator.sync(desired, {}, always)
    assert (nice_of(proc.pid), ionice_of(proc.pid)) == (19, "none")
    monkeypatch.undo()
    report = actuator.sync(desired, {}, always)
    assert report.released == []  # the unchanged value was not taken for someone else's
    assert (nice_of(proc.pid), ionice_of(proc.pid)) == (19, "best-effort/7")
    actuator.restore_all()
    assert (nice_of(proc.pid), ionice_of(proc.pid)) == (0, "none")
