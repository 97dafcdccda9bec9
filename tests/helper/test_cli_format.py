from smoothtask_helper import cli_format


def test_human_bytes() -> None:
    assert cli_format.human_bytes(512) == "512 B"
    assert cli_format.human_bytes(1536) == "1.5 KiB"
    assert cli_format.human_bytes(3 * 1024**3) == "3.0 GiB"


def test_table_aligns_columns() -> None:
    text = cli_format.table(("A", "LONGER"), [(1, "x"), (12345, "yy")])
    assert text.splitlines() == ["A      LONGER", "1      x", "12345  yy"]


def test_processes_sorted_by_cpu_and_limited() -> None:
    procs = [
        {
            "pid": p,
            "uid": 0,
            "class": "NORMAL",
            "type": "unclassified",
            "nice": 0,
            "ionice": "none",
            "cpu_percent": cpu,
            "rss_bytes": 0,
            "comm": f"p{p}",
        }
        for p, cpu in ((1, 5.0), (2, 50.0), (3, 20.0))
    ]
    lines = cli_format.processes(procs, limit=2).splitlines()
    assert lines[0].split()[0] == "PID"
    assert [line.split()[0] for line in lines[1:]] == ["2", "3"]


def test_gpu_lines_of_a_snapshot() -> None:
    device = {
        "id": "0000:03:00.0",
        "card": "card0",
        "name": "RX 6800",
        "driver": "amdgpu",
        "source": "sysfs",
        "utilisation_percent": 37.0,
        "memory_used_bytes": 1024**3,
        "memory_total_bytes": 16 * 1024**3,
    }
    unknown = device | {"card": None, "utilisation_percent": None, "memory_used_bytes": None}
    assert cli_format.gpus([device, unknown]) == [
        "GPU card0 RX 6800 (amdgpu): 37.0% busy, memory 1.0 GiB used of 16.0 GiB [sysfs]",
        "GPU 0000:03:00.0 RX 6800 (amdgpu): busy unknown [sysfs]",
    ]
    assert cli_format.gpus([]) == ["GPU: none found"]
    assert cli_format.gpus(None) == ["GPU: monitoring is switched off"]


def test_gpu_lines_of_the_status() -> None:
    gpu = {
        "enabled": True,
        "devices": 0,
        "sysfs": {"available": False, "reason": "no /sys/class/drm"},
        "fdinfo": {"available": True, "reason": "", "clients": 2},
        "nvml": {"available": False, "reason": "NVML: not available: no NVIDIA GPU"},
    }
    assert cli_format.gpu_status(gpu) == [
        "gpu: 0 GPU(s) found",
        "gpu sysfs: unavailable: no /sys/class/drm",
        "gpu fdinfo: available, 2 DRM client(s)",
        "gpu nvml: NVML: not available: no NVIDIA GPU",
    ]
    assert cli_format.gpu_status({"enabled": False}) == ["gpu: monitoring is switched off"]


def test_class_change_and_mode_lines() -> None:
    change = {
        "pid": 7, "comm": "cc1", "requested": "IDLE", "applied": True, "class": "IDLE",
        "nice": 19, "ionice": "idle", "mode": "active", "reason": "set by a person",
    }  # fmt: skip
    assert cli_format.class_change(change) == "pid 7 (cc1): IDLE — nice 19, ionice idle"
    paused = change | {"applied": False, "mode": "paused"}
    assert "not applied while the helper is paused" in cli_format.class_change(paused)
    assert cli_format.mode({"mode": "paused", "previous": "active", "restored": 3}) == (
        "mode: paused (was active); 3 processes and groups restored"
    )
