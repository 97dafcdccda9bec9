"""Status reports every probe with its tracepoints and its programs' BPF cost."""

from typing import Any

from tests.support.bus import HelperProcess
from tests.support.waiting import wait_for


def test_probe_programs_report_run_time_and_count(ebpf_helper: HelperProcess) -> None:
    status = ebpf_helper.status()
    assert status["ebpf"]["bpf_stats"]["enabled"] is True
    assert status["ebpf"]["compiles"] == 1  # one module for every probe
    runqueue = status["probes"]["runqueue"]
    assert runqueue["available"] and runqueue["tracepoints"]
    names = {p["name"] for p in runqueue["programs"]}
    assert {"st_switch", "st_wakeup"} <= names

    def switch_ran() -> dict[str, Any] | None:
        programs = ebpf_helper.status()["probes"]["runqueue"]["programs"]
        switch = next(p for p in programs if p["name"] == "st_switch")
        return switch if switch["run_count"] > 0 and switch["run_time_ns"] > 0 else None

    switch = wait_for(switch_ran, 10, "st_switch to have run")
    assert switch["avg_ns"] == switch["run_time_ns"] / switch["run_count"]


def test_startup_figures(ebpf_helper: HelperProcess) -> None:
    startup = ebpf_helper.status()["startup"]
    assert 0 < startup["first_sample_s"] < startup["ebpf_ready_s"]
    ebpf = ebpf_helper.status()["ebpf"]
    assert ebpf["compile_s"] > 0 and ebpf["attach_s"] >= 0
    assert len(ebpf["histogram_bucket_le_us"]) == 64
