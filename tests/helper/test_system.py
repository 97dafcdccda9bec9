import pytest

from smoothtask_helper.collectors.system import SystemReader, busy_percent


def meminfo_kib(key: str) -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def test_busy_percent_counts_iowait_as_idle_and_skips_guest() -> None:
    before = {"user": 10.0, "system": 5.0, "idle": 80.0, "iowait": 5.0, "guest": 2.0}
    after = {"user": 15.0, "system": 10.0, "idle": 85.0, "iowait": 10.0, "guest": 4.0}
    assert busy_percent(before, after) == pytest.approx(50.0)
    assert busy_percent(None, after) == 0.0
    assert busy_percent(after, after) == 0.0


def test_memory_matches_meminfo() -> None:
    memory = SystemReader.memory()
    assert memory.total_bytes == meminfo_kib("MemTotal") * 1024
    assert memory.swap_total_bytes == meminfo_kib("SwapTotal") * 1024
    assert 0 < memory.available_bytes <= memory.total_bytes


def test_cpu_per_core_and_load() -> None:
    reader = SystemReader()
    reader.cpu()
    stats = reader.cpu()
    assert 0.0 <= stats.percent <= 100.0
    assert len(stats.per_cpu) >= 1
    assert all(0.0 <= p <= 100.0 for p in stats.per_cpu)
    assert len(stats.load_avg) == 3
