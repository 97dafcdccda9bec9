"""smoothtaskctl against the real helper on a private real dbus-daemon."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from smoothtask_helper import api
from tests.conftest import require_user
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.cpu_truth import CpuRecord
from tests.support.procs import BUSY_LOOP, end, spawn, spawn_as, started
from tests.support.waiting import wait_for

CTL = [sys.executable, "-m", "smoothtask_helper.ctl"]


def ctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CTL, *args], capture_output=True, text=True, timeout=60, check=False)


def ctl_json(address: str, *args: str) -> Any:
    result = ctl("--bus", address, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # exactly one document, nothing else on stdout


def meminfo_total_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal")


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_status(helper: HelperProcess) -> None:
    status = ctl_json(helper.address, "status")
    assert status["version"] == api.VERSION
    assert status["mode"] in api.MODES
    assert isinstance(status["probes"], dict)
    for probe in status["probes"].values():
        assert set(probe) >= {"available", "reason"}
    assert status["pid"] == helper.pid


def test_snapshot_memory_matches_proc_exactly(helper: HelperProcess) -> None:
    snapshot = ctl_json(helper.address, "snapshot")
    assert snapshot["memory"]["total_bytes"] == meminfo_total_bytes()
    assert 0 < snapshot["memory"]["available_bytes"] <= snapshot["memory"]["total_bytes"]


def test_snapshot_busy_loop_is_about_one_core(helper: HelperProcess) -> None:
    """About 100% on an idle machine; on a loaded one, what the kernel gave it over the
    helper's last interval (the second up to the snapshot's time)."""
    with started(spawn(BUSY_LOOP)) as (proc,), CpuRecord(proc.pid) as truth:
        spawned = time.time()

        def measured_over_a_full_interval() -> tuple[float, dict[str, Any]] | None:
            snapshot = ctl_json(helper.address, "snapshot")
            # the first sighting measures the lifetime; wait for one measured tick to tick
            if snapshot["time"] < spawned + 2.5:
                return None
            found = next((p for p in snapshot["processes"] if p["pid"] == proc.pid), None)
            return (float(snapshot["time"]), found) if found else None

        when, process = wait_for(measured_over_a_full_interval, 20, "a snapshot with the loop")
        assert process["cpu_percent"] == pytest.approx(truth.percent(when - 1.0, when), abs=10)
        assert process["cpu_percent"] > 30  # busy: a comparison of two zeros would prove nothing
        assert process["uid"] == os.getuid()
        assert process["class"] == "NORMAL"


def test_snapshot_keys(helper: HelperProcess) -> None:
    snapshot = ctl_json(helper.address, "snapshot")
    for key in (
        "time",
        "cpu",
        "memory",
        "psi",
        "runqueue_latency_us",
        "io_latency_us",
        "tcp",
        "oom_kills",
        "processes",
        "gpu",
    ):
        assert key in snapshot
    assert abs(snapshot["time"] - time.time()) < 30
    assert any(p["pid"] == os.getpid() for p in snapshot["processes"])


def test_processes_lists_this_test(helper: HelperProcess) -> None:
    wait_for(
        lambda: any(p["pid"] == os.getpid() for p in ctl_json(helper.address, "processes")),
        10,
        "this test process in the list",
    )
    me = next(p for p in ctl_json(helper.address, "processes") if p["pid"] == os.getpid())
    assert me["nice"] == os.getpriority(os.PRIO_PROCESS, 0)
    assert me["class"] in api.CLASSES


@pytest.mark.parametrize("command", ["status", "snapshot", "processes"])
def test_text_output(helper: HelperProcess, command: str) -> None:
    result = ctl("--bus", helper.address, command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)


def test_json_option_before_or_after_the_command(helper: HelperProcess) -> None:
    result = ctl("--json", "--bus", helper.address, "status")
    assert json.loads(result.stdout)["version"] == api.VERSION


@pytest.mark.parametrize(
    "args",
    [
        ("--bus", "not-an-address", "status"),
        ("--bus", "unix:path=/nonexistent/socket", "status"),
        ("frobnicate",),
        (),
        ("status", "--bogus"),
        ("processes", "--limit", "zero"),
        ("processes", "--limit", "0"),
    ],
)
def test_bad_input_is_one_line(args: tuple[str, ...]) -> None:
    assert_one_line_error(ctl(*args))


def test_helper_absent_is_one_line(own_bus: PrivateBus) -> None:
    result = ctl("--bus", own_bus.address, "status", "--json")
    assert_one_line_error(result)
    assert "not running" in result.stderr


def test_another_user_can_read(helper: HelperProcess) -> None:
    require_user("tester")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.support.run_as",
            "tester",
            "--bus",
            helper.address,
            "status",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["version"] == api.VERSION


def test_rules_settings_alerts_history(helper: HelperProcess) -> None:
    rules = ctl_json(helper.address, "rules")
    assert [s["name"] for s in rules["sources"]] == ["user", "defaults"]
    assert rules["rules_total"] == len(rules["rules"]) > 10
    assert rules["types"]["build"]["class"] == "BACKGROUND"
    settings = ctl_json(helper.address, "settings")
    assert settings["settings"]["general"]["mode"] == "dry-run"
    assert isinstance(ctl_json(helper.address, "alerts"), list)
    wait_for(
        lambda: len(ctl_json(helper.address, "history", "--seconds", "30")) >= 2, 10, "2 samples"
    )


def test_set_class_reset_mode_and_settings_as_root(helper: HelperProcess) -> None:
    with started(spawn(BUSY_LOOP)) as (proc,):
        result = ctl_json(helper.address, "set-class", str(proc.pid), "IDLE")
        assert (result["pid"], result["requested"], result["mode"]) == (proc.pid, "IDLE", "dry-run")
        assert result["applied"] is False  # dry-run: decided, shown, not done
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == 0
        assert ctl_json(helper.address, "reset", str(proc.pid))["requested"] is None
    assert ctl_json(helper.address, "mode", "dry-run")["mode"] == "dry-run"
    changed = ctl_json(helper.address, "settings", "--set", "policy.hysteresis_samples=4")
    assert changed["settings"]["policy"]["hysteresis_samples"] == 4
    back = ctl_json(helper.address, "settings", "--set", "policy.hysteresis_samples=3")
    assert back["settings"]["policy"]["hysteresis_samples"] == 3


@pytest.mark.parametrize(
    "args",
    [
        ("set-class", "1", "IDLE"),
        ("set-class", "999999999", "IDLE"),
        ("set-class", "2", "FAST"),
        ("settings", "--set", "policy.hysteresis_samples=0"),
        ("settings", "--set", "nonsense"),
        ("rules", "--set", "/nonexistent/rules.toml"),
    ],
)
def test_refused_changes_are_one_line(helper: HelperProcess, args: tuple[str, ...]) -> None:
    assert_one_line_error(ctl("--bus", helper.address, *args))


@pytest.mark.parametrize(
    "args",
    [("set-class", "abc", "IDLE"), ("mode", "turbo"), ("reset",), ("history", "--seconds", "0")],
)
def test_new_commands_bad_usage_is_one_line(args: tuple[str, ...]) -> None:
    assert_one_line_error(ctl(*args))


@pytest.mark.parametrize("command", [("rules",), ("settings",), ("alerts",), ("history",)])
def test_new_commands_text_output(helper: HelperProcess, command: tuple[str, ...]) -> None:
    result = ctl("--bus", helper.address, *command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


def test_rules_test_lists_matches_and_applies_nothing(
    helper: HelperProcess, tmp_path: Path
) -> None:
    proc = spawn_as("st-ctl-trial")
    try:
        candidate = tmp_path / "candidate.toml"
        candidate.write_text(
            '[[rule]]\nname = "trial"\ntype = "build"\n[rule.match]\ncomm = "st-ctl-*"\n'
        )
        before = helper.status()["rules"]

        def listed() -> str | None:
            result = ctl("--bus", helper.address, "rules", "--test", str(candidate))
            assert result.returncode == 0, result.stderr
            return result.stdout if f"{proc.pid}  st-ctl-trial" in result.stdout else None

        text = wait_for(listed, 10, "the process listed")
        assert text.startswith("valid; nothing applied.") and "trial (build): 1 processes" in text
        assert helper.status()["rules"] == before
        candidate.write_text('[[rule]]\nname = "x"\ntype = "no-such-type"\n')
        refused = ctl("--bus", helper.address, "rules", "--test", str(candidate))
        assert_one_line_error(refused)
        assert "no-such-type" in refused.stderr
        both = ctl("--bus", helper.address, "rules", "--test", str(candidate), "--set", "x")
        assert both.returncode == 2 and "not allowed with" in both.stderr
    finally:
        end(proc)
