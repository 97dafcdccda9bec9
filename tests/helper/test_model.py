"""The JSON documents carry the keys of the public contract (shared/API.md)."""

import dataclasses

from smoothtask_helper.gpu_model import GpuDevice, GpuProcessStats, GpuSample
from smoothtask_helper.model import (
    CpuStats,
    MemoryStats,
    Pressure,
    PressureLine,
    ProcessSample,
    Snapshot,
)

PROCESS = ProcessSample(
    pid=42,
    start_time=1700000000.5,
    comm="cc1plus",
    uid=1000,
    ppid=1,
    state="R",
    threads=1,
    cpu_percent=99.0,
    rss_bytes=4096,
    nice=0,
    ionice="none",
    kernel_thread=False,
    process_class="NORMAL",
    process_type="unclassified",
)
LINE = PressureLine(1.0, 2.0, 3.0, 4)
SNAPSHOT = Snapshot(
    time=1700000100.0,
    interval_s=1.0,
    cpu=CpuStats(percent=50.0, per_cpu=(40.0, 60.0), load_avg=(1.0, 0.5, 0.25)),
    memory=MemoryStats(
        total_bytes=1000, available_bytes=250, swap_total_bytes=0, swap_used_bytes=0
    ),
    psi={r: Pressure(LINE, LINE) for r in ("cpu", "io", "memory")},
    processes=(PROCESS,),
)


def test_snapshot_has_the_contract_keys() -> None:
    doc = SNAPSHOT.to_json()
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
        "gpu_jobs_us",
    ):
        assert key in doc
    assert doc["cpu"]["percent"] == 50.0
    assert doc["memory"] == {
        "total_bytes": 1000,
        "available_bytes": 250,
        "used_bytes": 750,
        "percent": 75.0,
        "swap_total_bytes": 0,
        "swap_used_bytes": 0,
    }
    assert doc["psi"]["memory"]["some_avg10"] == 1.0
    assert doc["psi"]["memory"]["full_avg10"] == 1.0
    assert doc["runqueue_latency_us"] is None  # eBPF figures are null until available


def test_process_has_the_contract_keys() -> None:
    (proc,) = SNAPSHOT.to_json()["processes"]
    expected = {
        "pid",
        "start_time",
        "comm",
        "uid",
        "cpu_percent",
        "rss_bytes",
        "nice",
        "ionice",
        "class",
        "oncpu_ns",
        "runqueue_wait_ns",
        "runqueue_latency_p99_us",
        "tcp_established",
        "type",
        "rule",
        "gpu_percent",
        "gpu_memory_bytes",
    }
    assert expected <= set(proc)
    assert proc["class"] == "NORMAL"
    assert proc["oncpu_ns"] is None


def test_summary_leaves_out_the_process_list() -> None:
    summary = SNAPSHOT.summary_json()
    assert "processes" not in summary
    assert summary["process_count"] == 1


def test_gpu_null_when_off_a_list_when_on() -> None:
    off = SNAPSHOT.to_json()
    assert off["gpu"] is None and off["gpu_jobs_us"] is None
    assert off["processes"][0]["gpu_percent"] is None
    assert off["processes"][0]["gpu_memory_bytes"] is None
    no_gpu = dataclasses.replace(SNAPSHOT, gpu=GpuSample()).to_json()
    assert no_gpu["gpu"] == []  # monitoring runs, no GPU found
    device = GpuDevice(
        id="0000:00:02.0",
        name="Intel UHD Graphics 620",
        driver="i915",
        source="fdinfo",
        card="card0",
        pci_id="8086:5917",
        utilisation_percent=12.5,
        memory_used_bytes=1024,
        engines=(("render", 12.5), ("video", 0.0)),
        clients=3,
    )
    stats = {(PROCESS.pid, PROCESS.start_time): GpuProcessStats(12.5, 1024)}
    doc = dataclasses.replace(SNAPSHOT, gpu=GpuSample((device,), stats)).to_json()
    assert doc["gpu"] == [
        {
            "id": "0000:00:02.0",
            "name": "Intel UHD Graphics 620",
            "driver": "i915",
            "source": "fdinfo",
            "card": "card0",
            "pci_id": "8086:5917",
            "utilisation_percent": 12.5,
            "memory_used_bytes": 1024,
            "memory_total_bytes": None,
            "engines": {"render": 12.5, "video": 0.0},
            "clients": 3,
        }
    ]
    assert doc["processes"][0]["gpu_percent"] == 12.5
    assert doc["processes"][0]["gpu_memory_bytes"] == 1024
