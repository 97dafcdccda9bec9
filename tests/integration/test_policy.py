"""Issue 4's acceptance on a real helper: it manages the test user's processes only.

Every process here is started by the test (as the user ``tester``) and ended by it."""

import asyncio
import json
import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from smoothtask_helper import procinfo
from smoothtask_helper.collectors.procfs import format_ionice
from smoothtask_helper.priority import IOCLASS_BE, IOCLASS_IDLE, IOCLASS_NONE
from tests.conftest import require
from tests.integration.conftest import managing_settings
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.procs import end, ionice_of, named_python, nice_of, spawn_as
from tests.support.signals import samples_until_class_change
from tests.support.waiting import wait_for

CTL = [sys.executable, "-m", "smoothtask_helper.ctl"]
MATCH_EVERYTHING = '[[rule]]\nname = "everything"\ntype = "indexer"\n[rule.match]\ncomm = "*"\n'


def ctl_json(address: str, *args: str, user: str | None = None) -> Any:
    runner = CTL if user is None else [sys.executable, "-m", "tests.support.run_as", user]
    result = subprocess.run(
        [*runner, "--bus", address, *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def listed(address: str, pid: int) -> dict[str, Any] | None:
    return next((p for p in ctl_json(address, "processes") if p["pid"] == pid), None)


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        end(proc)


def values(pid: int) -> tuple[int, str]:
    return nice_of(pid), ionice_of(pid)


def test_a_compiler_gets_background_values_within_two_samples(
    managing_helper: HelperProcess,
    tester: pwd.struct_passwd,
    started: list[subprocess.Popen[bytes]],
) -> None:
    def start() -> int:
        started.append(spawn_as("cc1plus", user=tester.pw_name))
        return started[-1].pid

    samples, change = asyncio.run(samples_until_class_change(managing_helper.address, start))
    pid = started[-1].pid
    assert samples <= 1, f"decided only at sample {samples + 1} after it started"
    assert change["class"] == "BACKGROUND" and change["applied"] is True
    assert (change["type"], change["rule"]) == ("build", "compilers and linkers")
    assert values(pid) == (19, "best-effort/7")
    shown = listed(managing_helper.address, pid)
    assert shown is not None
    assert (shown["class"], shown["type"], shown["rule"]) == (
        "BACKGROUND",
        "build",
        "compilers and linkers",
    )
    assert (shown["nice"], shown["ionice"]) == (19, "best-effort/7")


def test_the_focused_process_gets_crit_interactive_and_loses_it_after_focus_moves(
    managing_helper: HelperProcess,
    tester: pwd.struct_passwd,
    started: list[subprocess.Popen[bytes]],
) -> None:
    app = spawn_as("st-editor", user=tester.pw_name)
    started.append(app)
    before = values(app.pid)
    reply = ctl_json(managing_helper.address, "focus", str(app.pid), user=tester.pw_name)
    assert reply["focus"]["pid"] == app.pid
    wait_for(lambda: values(app.pid) == (-8, "best-effort/0"), 10, "the focus boost")
    shown = listed(managing_helper.address, app.pid)
    assert shown is not None and shown["class"] == "CRIT_INTERACTIVE"
    ctl_json(managing_helper.address, "focus", "0", user=tester.pw_name)
    wait_for(lambda: values(app.pid) == before, 15, "the boost to be withdrawn")


def test_kernel_threads_and_pid_1_are_never_touched(
    polkit_bus: PrivateBus, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """A rule matching every process, every user in scope: dry-run shows what would be
    done (nothing is changed here; the actuator's own refusal is tested in
    tests/helper/test_actuator.py)."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(MATCH_EVERYTHING)
    helper = HelperProcess(
        polkit_bus.address, tmp_path / "helper.log", settings='[general]\nmode = "dry-run"\n'
    ).start()
    try:
        sleeper = spawn_as("st-anything")
        started.append(sleeper)
        kthreads_before = {
            p.pid: p.nice() for p in psutil.process_iter() if procinfo.is_kernel_thread(p.pid)
        }

        def snapshot_with_sleeper() -> dict[int, dict[str, Any]] | None:
            processes = {p["pid"]: p for p in ctl_json(helper.address, "processes")}
            return processes if sleeper.pid in processes else None

        processes = wait_for(snapshot_with_sleeper, 10, "the sleeper in the list")
        assert processes[sleeper.pid]["class"] == "IDLE"  # the rule reaches ordinary ones
        assert processes[1]["class"] == "NORMAL"
        kthreads = [p for p in processes.values() if p["kernel_thread"]]
        assert kthreads
        for process in kthreads:
            assert (process["type"], process["class"]) == ("kernel", "NORMAL")
        status = ctl_json(helper.address, "status")
        assert status["mode"] == "dry-run" and status["policy"]["managed_processes"] == 0
        assert nice_of(sleeper.pid) == 0
        still = {
            pid: psutil.Process(pid).nice() for pid in kthreads_before if psutil.pid_exists(pid)
        }
        assert still == {pid: n for pid, n in kthreads_before.items() if pid in still}
    finally:
        assert helper.stop() == 0


ORIGINAL_IONICE = [(IOCLASS_NONE, 0), (IOCLASS_BE, 1), (IOCLASS_BE, 4), (IOCLASS_BE, 6),
                   (IOCLASS_IDLE, 0)]  # fmt: skip


def test_sigkill_restart_stop_restores_all_50_and_someone_elses_values_stay(
    polkit_bus: PrivateBus,
    tmp_path: Path,
    tester: pwd.struct_passwd,
    started: list[subprocess.Popen[bytes]],
) -> None:
    settings = managing_settings(tester.pw_uid)
    first = HelperProcess(polkit_bus.address, tmp_path / "helper.log", settings=settings).start()
    second = HelperProcess(polkit_bus.address, tmp_path / "helper.log", settings=None)
    try:
        originals: dict[int, tuple[int, str]] = {}
        for i in range(50):
            start_io = ORIGINAL_IONICE[i % len(ORIGINAL_IONICE)]
            proc = spawn_as("cc1", user=tester.pw_name, nice=i % 5, ionice=start_io)
            started.append(proc)
            originals[proc.pid] = (i % 5, format_ionice(*start_io))  # set before it runs cc1
        pids = list(originals)

        def all_managed() -> bool:
            return all(nice_of(pid) == 19 and ionice_of(pid) == "best-effort/7" for pid in pids)

        wait_for(all_managed, 30, "all 50 at BACKGROUND values")
        theirs_nice, theirs_io = pids[0], pids[1]
        os.setpriority(os.PRIO_PROCESS, theirs_nice, 7)  # someone else renices them
        psutil.Process(theirs_io).ionice(IOCLASS_BE, 2)
        for _ in range(3):
            wait_for_samples(first.address, 2)
            assert nice_of(theirs_nice) == 7 and ionice_of(theirs_io) == "best-effort/2"

        first.kill()  # SIGKILL: no clean-up
        assert all(nice_of(pid) == 19 for pid in pids if pid != theirs_nice)
        second.start()
        status = ctl_json(second.address, "status")
        assert status["journal"]["restored_at_start"] == 50  # (theirs_nice: only its ionice)
        wait_for(all_managed_but_theirs(pids, theirs_nice, theirs_io), 30, "managed again")
        assert nice_of(theirs_nice) == 7 and ionice_of(theirs_io) == "best-effort/2"
        assert second.stop() == 0, second.log()

        for pid in pids:
            nice, io = originals[pid]
            expected_nice = 7 if pid == theirs_nice else nice
            expected_io = "best-effort/2" if pid == theirs_io else io
            assert values(pid) == (expected_nice, expected_io), pid
    finally:
        first.stop()
        second.stop()


def all_managed_but_theirs(pids: list[int], theirs_nice: int, theirs_io: int) -> Any:
    def check() -> bool:
        for pid in pids:
            nice_ok = pid == theirs_nice or nice_of(pid) == 19
            io_ok = pid == theirs_io or ionice_of(pid) == "best-effort/7"
            if not (nice_ok and io_ok):
                return False
        return True

    return check


def wait_for_samples(address: str, count: int) -> None:
    first = ctl_json(address, "status")["samples_taken"]
    wait_for(
        lambda: ctl_json(address, "status")["samples_taken"] >= first + count,
        10 + 2 * count,
        f"{count} more samples",
    )


def reuse_pid(pid: int, name: str, user: str, nice: int) -> subprocess.Popen[bytes] | None:
    for _ in range(50):
        Path("/proc/sys/kernel/ns_last_pid").write_text(str(pid - 1))
        proc = spawn_as(name, user=user, nice=nice)
        if proc.pid == pid:
            return proc
        end(proc)
    return None


def test_a_reused_pid_never_receives_the_old_processes_decision(
    managing_helper: HelperProcess,
    tester: pwd.struct_passwd,
    started: list[subprocess.Popen[bytes]],
) -> None:
    old = spawn_as("cc1", user=tester.pw_name)
    wait_for(lambda: nice_of(old.pid) == 19, 10, "the compiler at BACKGROUND")
    pid = old.pid
    old.kill()
    old.wait()
    new = reuse_pid(pid, "st-newcomer", tester.pw_name, nice=3)
    assert new is not None, "could not force the reuse of a pid (ns_last_pid)"
    started.append(new)
    wait_for(lambda: nice_of(pid) == 3, 5, "the newcomer's own nice")
    for _ in range(3):
        wait_for_samples(managing_helper.address, 1)
        assert values(pid) == (3, "none")  # neither 19 (old decision) nor 0 (old original)
    shown = listed(managing_helper.address, pid)
    assert shown is not None and shown["comm"] == "st-newcomer" and shown["class"] == "NORMAL"


def test_a_whole_autogroup_of_one_build_gets_the_autogroup_nice(
    managing_helper: HelperProcess,
    tester: pwd.struct_passwd,
    started: list[subprocess.Popen[bytes]],
) -> None:
    status = ctl_json(managing_helper.address, "status")
    autogroup = status["levers"]["autogroup"]
    require(autogroup["available"], f"no autogroup lever: {autogroup['reason']}")
    compiler = named_python("cc1")
    make = spawn_as(
        "make",
        "import subprocess, sys, time\n"
        f"kids = [subprocess.Popen([{compiler!r}, '-c', 'import time; time.sleep(3600)'])"
        " for _ in range(2)]\ntime.sleep(3600)",
        user=tester.pw_name,
        new_session=True,  # as a build started from its own terminal: its own autogroup
    )
    started.append(make)
    group = wait_for(lambda: procinfo.read_autogroup(make.pid), 10, "its autogroup")[0]
    mine = procinfo.read_autogroup(os.getpid())
    wait_for(lambda: procinfo.read_autogroup(make.pid) == (group, 19), 15, "autogroup nice 19")
    assert procinfo.read_autogroup(os.getpid()) == mine
    assert managing_helper.stop() == 0
    assert procinfo.read_autogroup(make.pid) == (group, 0)


def test_ananicy_rules_classify_through_the_helper(
    polkit_bus: PrivateBus,
    tmp_path: Path,
    tester: pwd.struct_passwd,
    started: list[subprocess.Popen[bytes]],
) -> None:
    database = tmp_path / "ananicy.d"
    database.mkdir()
    (database / "types.types").write_text('{"type": "Game", "nice": -5}\n')
    (database / "games.rules").write_text(
        '{"name": "supertuxkart", "type": "Game"}\nnot json at all\n'
    )
    settings = managing_settings(tester.pw_uid, extra=f'ananicy_dirs = ["{database}"]\n')
    helper = HelperProcess(polkit_bus.address, tmp_path / "helper.log", settings=settings).start()
    try:
        game = spawn_as("supertuxkart", user=tester.pw_name)
        started.append(game)
        wait_for(lambda: nice_of(game.pid) == -4, 10, "the game at INTERACTIVE")
        rules = ctl_json(helper.address, "rules")
        (source,) = [s for s in rules["sources"] if s["name"] == "ananicy-cpp"]
        assert source["rules"] == 1 and source["error_count"] == 1
        assert source["errors"][0].startswith(f"{database}/games.rules:2: ")
    finally:
        assert helper.stop() == 0


def test_a_cgroup_of_one_build_gets_its_cpu_weight(
    managing_helper: HelperProcess,
    tester: pwd.struct_passwd,
    started: list[subprocess.Popen[bytes]],
) -> None:
    status = ctl_json(managing_helper.address, "status")
    cgroup = status["levers"]["cgroup"]
    require(cgroup["available"], f"no cgroup lever: {cgroup['reason']}")
    folder = Path(cgroup["mount"]) / f"smoothtask-test-{os.getpid()}"
    folder.mkdir()
    try:
        for name in ("cgroup.procs", "tasks"):  # the test user moves its own processes in
            if (folder / name).exists():
                os.chown(folder / name, tester.pw_uid, tester.pw_gid)
        weight_file = folder / cgroup["file"]
        original = int(weight_file.read_text())
        for _ in range(2):
            started.append(
                spawn_as("cc1plus", user=tester.pw_name, cgroup_procs=folder / "cgroup.procs")
            )
        expected = 10 if cgroup["version"] == 2 else 102  # BACKGROUND: weight 10
        wait_for(lambda: int(weight_file.read_text()) == expected, 15, "the cgroup's weight")
        assert managing_helper.stop() == 0
        assert int(weight_file.read_text()) == original
    finally:
        for proc in started:
            end(proc)
        wait_for(lambda: not (folder / "cgroup.procs").read_text().strip(), 10, "an empty cgroup")
        folder.rmdir()
