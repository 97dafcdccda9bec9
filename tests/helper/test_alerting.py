"""The alert engine on synthetic samples: durations, updates in place, cooldowns, culprits."""

import dataclasses
from typing import Any

import pytest

from smoothtask_helper.alerting.engine import UPDATE_EVERY_S, AlertEngine, Change
from smoothtask_helper.alerting.rules import DEFAULT_RULES, AlertRule, rules_from
from smoothtask_helper.errors import InvalidArgument
from smoothtask_helper.gpu_model import GpuDevice, GpuProcessStats, GpuSample
from smoothtask_helper.model import (
    CpuStats,
    KernelProcessStats,
    KernelSample,
    MemoryStats,
    Pressure,
    PressureLine,
    ProcessSample,
    Snapshot,
)


def process(pid: int, comm: str, cpu: float = 0.0, ppid: int = 1, rss: int = 0) -> ProcessSample:
    return ProcessSample(
        pid=pid,
        start_time=1000.0 + pid,
        comm=comm,
        uid=1000,
        ppid=ppid,
        state="R",
        threads=1,
        cpu_percent=cpu,
        rss_bytes=rss,
        nice=0,
        ionice="none",
        kernel_thread=False,
        process_class="NORMAL",
        process_type="unclassified",
    )


def pressure(avg10: float) -> Pressure:
    line = PressureLine(avg10, avg10, avg10, 0)
    return Pressure(line, line)


def snapshot(
    t: float,
    processes: tuple[ProcessSample, ...] = (),
    p99: float | None = None,
    psi_memory: float = 0.0,
    kernel_stats: dict[int, KernelProcessStats] | None = None,
    oom_kills: list[dict[str, object]] | None = None,
) -> Snapshot:
    kernel = KernelSample(
        runqueue_latency_us=None if p99 is None else {"p99": p99, "count": 10},
        oom_kills=oom_kills or [],
        processes={
            (p.pid, p.start_time): (kernel_stats or {}).get(p.pid, KernelProcessStats())
            for p in processes
        },
    )
    return Snapshot(
        time=t,
        interval_s=1.0,
        cpu=CpuStats(50.0, (50.0,), (1.0, 1.0, 1.0)),
        memory=MemoryStats(8 << 30, 1 << 30, 0, 0),
        psi={"cpu": pressure(0.0), "io": pressure(0.0), "memory": pressure(psi_memory)},
        processes=processes,
        kernel=kernel,
    )


def run(
    engine: AlertEngine,
    snap: Snapshot,
    active: bool = True,
    focused: int | None = None,
    new: tuple[ProcessSample, ...] = (),
    degraded: tuple[str, ...] = (),
) -> list[Change]:
    changes = engine.evaluate(engine.situation(snap, active, focused, new, degraded), snap.time)
    for change in changes:
        if change.action == "raise":
            engine.bind(change.finding, alert_id=len(raised) + 1)
            raised.append(change)
    return changes


raised: list[Change] = []


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    raised.clear()


def actions(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.action, c.finding.kind) for c in changes]


def test_rules_from_settings_are_validated() -> None:
    rules = rules_from({"cpu-hog": {"threshold": 80, "duration_s": 10, "enabled": False}})
    assert rules["cpu-hog"] == AlertRule(80.0, 10.0, 600.0, severity="info", enabled=False)
    assert rules["oom-kill"] == DEFAULT_RULES["oom-kill"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"cpu-hogs": {}}, "unknown kind"),
        ({"cpu-hog": {"threshold": "high"}}, "expected a number"),
        ({"cpu-hog": {"threshold": True}}, "expected a number"),
        ({"cpu-hog": {"duration_s": -1}}, "outside"),
        ({"cpu-hog": {"severity": "loud"}}, "one of"),
        ({"cpu-hog": {"colour": "red"}}, "unknown setting"),
        ({"cpu-hog": 5}, "table"),
    ]
    for bad, message in cases:
        with pytest.raises(InvalidArgument, match=message):
            rules_from(bad)


def test_held_for_its_duration_then_one_alert_updated_in_place_then_ended() -> None:
    engine = AlertEngine()
    memory = process(10, "firefox", rss=6 << 30)
    for second in range(9):  # memory-pressure needs 10 s
        assert run(engine, snapshot(second, (memory,), psi_memory=25.0)) == []
    first = run(engine, snapshot(10, (memory,), psi_memory=25.0))
    assert actions(first) == [("raise", "memory-pressure")]
    assert "firefox (pid 10)" in first[0].finding.body  # the culprit is named
    updates = []
    for second in range(11, 71):  # held for a minute more: updates, never a second alert
        updates += run(engine, snapshot(second, (memory,), psi_memory=25.0))
    assert {c.action for c in updates} == {"update"}
    assert {c.alert_id for c in updates} == {1}
    assert len(updates) == 60 // UPDATE_EVERY_S
    ended = run(engine, snapshot(71, (memory,), psi_memory=1.0))
    assert actions(ended) == [("end", "memory-pressure")]
    assert ended[0].alert_id == 1


def test_hovering_around_the_threshold_does_not_flap() -> None:
    engine = AlertEngine(rules={"memory-pressure": AlertRule(10.0, 0.0, 300.0)})
    assert actions(run(engine, snapshot(0, psi_memory=11.0))) == [("raise", "memory-pressure")]
    for second, value in enumerate([9.0, 10.5, 8.5, 9.5], start=1):  # above 80% of 10
        assert run(engine, snapshot(second, psi_memory=value)) == []


def test_cooldown_keeps_it_quiet_then_lets_it_speak() -> None:
    engine = AlertEngine(rules={"memory-pressure": AlertRule(10.0, 0.0, 100.0)})
    assert actions(run(engine, snapshot(0, psi_memory=20.0))) == [("raise", "memory-pressure")]
    assert actions(run(engine, snapshot(1, psi_memory=0.0))) == [("end", "memory-pressure")]
    assert run(engine, snapshot(50, psi_memory=20.0)) == []  # within the cooldown
    assert run(engine, snapshot(99, psi_memory=20.0)) == []
    assert actions(run(engine, snapshot(102, psi_memory=20.0))) == [("raise", "memory-pressure")]


def test_runqueue_latency_names_who_waits_and_who_runs() -> None:
    engine = AlertEngine(rules={"runqueue-latency": AlertRule(40_000.0, 0.0, 300.0)})
    hogs = tuple(process(20 + i, "cc1plus", cpu=99.0) for i in range(3))
    editor = process(30, "code", cpu=5.0)
    procs = (*hogs, editor)
    waits = {30: 0, 20: 0, 21: 0, 22: 0}
    run(
        engine,
        snapshot(
            0,
            procs,
            p99=1000.0,
            kernel_stats={pid: KernelProcessStats(runqueue_wait_ns=w) for pid, w in waits.items()},
        ),
    )
    later = {
        pid: KernelProcessStats(runqueue_wait_ns=900_000_000 if pid == 30 else 100_000_000)
        for pid in waits
    }
    changes = run(engine, snapshot(1, procs, p99=60_000.0, kernel_stats=later))
    assert actions(changes) == [("raise", "runqueue-latency")]
    finding = changes[0].finding
    assert "code (pid 30) 900 ms/s" in finding.body  # waiting most
    assert "cc1plus (pid 20) 99%" in finding.body  # using the CPU
    assert finding.pid in (20, 21, 22) and "lower-priority" in finding.actions


def test_cpu_hog_only_while_the_user_is_active_and_not_the_focused_app() -> None:
    engine = AlertEngine(rules={"cpu-hog": AlertRule(90.0, 2.0, 600.0)})
    hog, game = process(40, "indexer", cpu=100.0), process(41, "game", cpu=100.0)
    for second in range(5):
        assert run(engine, snapshot(second, (hog, game)), active=False) == []
    changes = []
    for second in range(5, 8):
        changes += run(engine, snapshot(second, (hog, game)), active=True, focused=41)
    assert [(c.action, c.finding.pid) for c in changes] == [("raise", 40)]


def test_fork_storm_names_the_parent() -> None:
    engine = AlertEngine(rules={"fork-storm": AlertRule(20.0, 0.0, 300.0)})
    make = process(50, "make")
    children = tuple(dataclasses.replace(process(100 + i, "cc1"), ppid=50) for i in range(30))
    changes = run(engine, snapshot(0, (make,)), new=children)
    assert actions(changes) == [("raise", "fork-storm")]
    assert changes[0].finding.pid == 50 and "30 programs per second" in changes[0].finding.body


def test_connection_storm_from_tcp_opens() -> None:
    engine = AlertEngine(rules={"connection-storm": AlertRule(50.0, 0.0, 300.0)})
    crawler = process(60, "crawler")
    run(engine, snapshot(0, (crawler,), kernel_stats={60: KernelProcessStats(tcp_opened=10)}))
    changes = run(
        engine, snapshot(2, (crawler,), kernel_stats={60: KernelProcessStats(tcp_opened=310)})
    )
    assert actions(changes) == [("raise", "connection-storm")]
    assert changes[0].finding.value == 150.0  # 300 opens in 2 s


def test_each_oom_kill_once_and_at_once() -> None:
    engine = AlertEngine()
    kill = {"time": 5.0, "pid": 77, "comm": "chrome", "uid": 1000, "rss_bytes": 2 << 30}
    snap = snapshot(5, oom_kills=[kill])
    changes = engine.evaluate_events(engine.situation(snap, True, None), 5.0)
    assert actions(changes) == [("raise", "oom-kill")]
    assert "chrome (pid 77, user 1000)" in changes[0].finding.body
    assert changes[0].rule.severity == "critical"
    assert run(engine, snapshot(6, oom_kills=[kill])) == []  # the same kill: not again
    second = {**kill, "pid": 78, "time": 7.0}
    assert actions(run(engine, snapshot(7, oom_kills=[kill, second]))) == [("raise", "oom-kill")]


def test_helper_degraded_once_per_reason_until_resolved() -> None:
    engine = AlertEngine()
    reason = ("eBPF unavailable: not running as root",)
    assert actions(run(engine, snapshot(0), degraded=reason)) == [("raise", "helper-degraded")]
    assert run(engine, snapshot(1), degraded=reason) == []
    assert actions(run(engine, snapshot(2))) == [("end", "helper-degraded")]


def test_disabled_kind_is_silent() -> None:
    engine = AlertEngine(rules=rules_from({"memory-pressure": {"enabled": False}}))
    assert run(engine, snapshot(0, psi_memory=90.0)) == []


def test_gpu_saturation_names_the_gpu_and_its_users() -> None:
    engine = AlertEngine(rules={"gpu-saturation": AlertRule(95.0, 0.0, 300.0)})
    game = process(70, "game")
    busy = GpuDevice(
        id="0000:03:00.0",
        name="RX 6800",
        driver="amdgpu",
        source="sysfs",
        utilisation_percent=99.0,
        memory_used_bytes=1,
        memory_total_bytes=16,
    )
    gpu = GpuSample(
        devices=(busy,), processes={(game.pid, game.start_time): GpuProcessStats(gpu_percent=97.0)}
    )
    snap = dataclasses.replace(snapshot(0, (game,)), gpu=gpu)
    changes = run(engine, snap)
    assert actions(changes) == [("raise", "gpu-saturation")]
    assert "RX 6800: 99% busy" in changes[0].finding.body
    assert "game (pid 70) 97%" in changes[0].finding.body
    idle = dataclasses.replace(
        snap, gpu=GpuSample(devices=(dataclasses.replace(busy, utilisation_percent=10.0),))
    )
    assert actions(run(engine, idle)) == [("end", "gpu-saturation")]
