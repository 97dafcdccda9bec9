"""Issue 5's authorization matrix with a real polkitd: tester may change its own processes
and configure; tester2 may do nothing; nobody here holds set-priority-any but root."""

import json
import pwd
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smoothtask_helper import api
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.call_as import call, call_as
from tests.support.procs import end, ionice_of, nice_of, spawn_as
from tests.support.waiting import wait_for

NOT_AUTHORIZED = api.ERROR_PREFIX + "NotAuthorized"


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        end(proc)


def one(
    user: str, helper: HelperProcess, member: str, signature: str, *body: Any
) -> dict[str, Any]:
    (reply,) = call_as(user, helper.address, [call(member, signature, *body)])
    assert "Traceback" not in reply["text"]
    return reply


def test_an_allowed_user_lowers_its_own_process(
    secured_helper: HelperProcess, tester: pwd.struct_passwd, started: list[subprocess.Popen[bytes]]
) -> None:
    mine = spawn_as("st-mine", user=tester.pw_name)
    started.append(mine)
    reply = one(tester.pw_name, secured_helper, "SetProcessClass", "us", mine.pid, "BACKGROUND")
    assert reply["ok"], reply
    result = json.loads(reply["text"])
    assert result["applied"] is True and result["class"] == "BACKGROUND"
    assert (nice_of(mine.pid), ionice_of(mine.pid)) == (19, "best-effort/7")
    reply = one(tester.pw_name, secured_helper, "ResetProcessClass", "u", mine.pid)
    assert reply["ok"], reply
    assert (nice_of(mine.pid), ionice_of(mine.pid)) == (0, "none")


def test_a_denied_user_gets_not_authorized_and_nothing_changes(
    secured_helper: HelperProcess,
    tester2: pwd.struct_passwd,
    started: list[subprocess.Popen[bytes]],
) -> None:
    mine = spawn_as("st-denied", user=tester2.pw_name)
    started.append(mine)
    for member, signature, body in (
        ("SetProcessClass", "us", (mine.pid, "IDLE")),
        ("ResetProcessClass", "u", (mine.pid,)),
        ("ReportFocus", "ud", (mine.pid, 0.0)),
    ):
        reply = one(tester2.pw_name, secured_helper, member, signature, *body)
        assert reply["error"] == NOT_AUTHORIZED, (member, reply)
    assert (nice_of(mine.pid), ionice_of(mine.pid)) == (0, "none")


def test_an_allowed_user_cannot_touch_roots_process(
    secured_helper: HelperProcess, tester: pwd.struct_passwd, started: list[subprocess.Popen[bytes]]
) -> None:
    roots = spawn_as("st-roots")
    started.append(roots)
    reply = one(tester.pw_name, secured_helper, "SetProcessClass", "us", roots.pid, "IDLE")
    assert reply["error"] == NOT_AUTHORIZED
    assert "org.smoothtask.set-priority-any" in reply["text"]
    assert (nice_of(roots.pid), ionice_of(roots.pid)) == (0, "none")
    # root holds every action (polkit: uid 0)
    reply = one("root", secured_helper, "SetProcessClass", "us", roots.pid, "IDLE")
    assert reply["ok"], reply
    assert json.loads(reply["text"])["class"] == "IDLE"
    assert ionice_of(roots.pid) == "idle"


@pytest.mark.parametrize(
    ("member", "signature", "body"),
    [
        ("SetRules", "s", ("",)),
        ("SetSettings", "s", ('{"policy": {"hysteresis_samples": 3}}',)),
        ("SetMode", "s", ("active",)),
    ],
)
def test_configure_is_checked(
    secured_helper: HelperProcess,
    tester: pwd.struct_passwd,
    tester2: pwd.struct_passwd,
    member: str,
    signature: str,
    body: tuple[Any, ...],
) -> None:
    settings_before = (secured_helper.config_dir / "settings.toml").read_text()
    denied = one(tester2.pw_name, secured_helper, member, signature, *body)
    assert denied["error"] == NOT_AUTHORIZED
    assert "org.smoothtask.configure" in denied["text"]
    assert (secured_helper.config_dir / "settings.toml").read_text() == settings_before
    allowed = one(tester.pw_name, secured_helper, member, signature, *body)
    assert allowed["ok"], allowed


def test_focus_for_another_users_process_is_refused(
    secured_helper: HelperProcess,
    tester: pwd.struct_passwd,
    tester2: pwd.struct_passwd,
    started: list[subprocess.Popen[bytes]],
) -> None:
    theirs = spawn_as("st-theirs", user=tester2.pw_name)
    roots = spawn_as("st-rootapp")
    mine = spawn_as("st-myapp", user=tester.pw_name)
    started += [theirs, roots, mine]
    for pid in (theirs.pid, roots.pid):
        reply = one(tester.pw_name, secured_helper, "ReportFocus", "ud", pid, 0.0)
        assert reply["error"] == NOT_AUTHORIZED and "not yours" in reply["text"]
    assert nice_of(theirs.pid) == 0 and nice_of(roots.pid) == 0
    reply = one(tester.pw_name, secured_helper, "ReportFocus", "ud", mine.pid, 0.0)
    assert reply["ok"], reply
    wait_for(lambda: nice_of(mine.pid) == -8, 10, "the focus boost")
    assert one(tester.pw_name, secured_helper, "ReportFocus", "ud", 0, 0.0)["ok"]


def test_state_changes_are_rate_limited_per_user(
    secured_helper: HelperProcess, tester: pwd.struct_passwd, started: list[subprocess.Popen[bytes]]
) -> None:
    mine = spawn_as("st-limited", user=tester.pw_name)
    started.append(mine)
    calls = [call("ReportFocus", "ud", mine.pid, 0.0) for _ in range(60)]
    replies = call_as(tester.pw_name, secured_helper.address, calls, concurrency=20)
    limited = [r for r in replies if r["error"] == api.ERROR_PREFIX + "RateLimited"]
    # a burst passes (less what earlier tests of this user used), the rest must wait
    assert len(limited) >= 20 and len(replies) - len(limited) >= 5
    assert all(r["ok"] or r in limited for r in replies)
    reads = call_as(tester.pw_name, secured_helper.address, [call("GetStatus")] * 60, 20)
    assert all(r["ok"] for r in reads)  # reading is not limited


def test_without_polkit_only_root_may_change_anything(
    own_bus: PrivateBus, tmp_path: Path, tester: pwd.struct_passwd
) -> None:
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    try:
        reply = one(tester.pw_name, helper, "SetMode", "s", "paused")
        assert reply["error"] == api.ERROR_PREFIX + "Unavailable"
        assert "polkit is not reachable" in reply["text"]
        (root_reply,) = call_as("root", helper.address, [call("SetMode", "s", "paused")])
        assert root_reply["ok"], root_reply
        assert json.loads(root_reply["text"])["mode"] == "paused"
    finally:
        assert helper.stop() == 0
