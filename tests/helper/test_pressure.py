from pathlib import Path

import pytest

from smoothtask_helper.collectors.pressure import parse_pressure, read_pressure
from tests.conftest import require

CPU_WITH_FULL = (
    "some avg10=12.50 avg60=3.25 avg300=0.75 total=123456\n"
    "full avg10=1.00 avg60=0.50 avg300=0.10 total=789\n"
)


def test_parse_some_and_full() -> None:
    pressure = parse_pressure(CPU_WITH_FULL)
    assert pressure.some.avg10 == 12.5
    assert pressure.some.avg300 == 0.75
    assert pressure.some.total_us == 123456
    assert pressure.full is not None
    assert pressure.full.avg60 == 0.5
    assert pressure.to_json() == {
        "some_avg10": 12.5,
        "some_avg60": 3.25,
        "some_avg300": 0.75,
        "some_total_us": 123456,
        "full_avg10": 1.0,
        "full_avg60": 0.5,
        "full_avg300": 0.1,
        "full_total_us": 789,
    }


def test_cpu_without_full_line_on_older_kernels() -> None:
    pressure = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    assert pressure.full is None
    assert "full_avg10" not in pressure.to_json()


def test_garbage_is_refused() -> None:
    with pytest.raises((ValueError, KeyError)):
        parse_pressure("full avg10=1.00\n")


def test_all_resources_or_none(tmp_path: Path) -> None:
    for name in ("cpu", "io", "memory"):
        (tmp_path / name).write_text(CPU_WITH_FULL)
    result = read_pressure(tmp_path)
    assert result is not None
    assert set(result) == {"cpu", "io", "memory"}
    (tmp_path / "io").unlink()
    assert read_pressure(tmp_path) is None  # a partial picture would mislead
    assert read_pressure(tmp_path / "absent") is None


def test_real_kernel_pressure_files_parse() -> None:
    require(Path("/proc/pressure/cpu").exists(), "this kernel has no PSI")
    result = read_pressure()
    assert result is not None
    real_total = int(Path("/proc/pressure/memory").read_text().split()[4].split("=")[1])
    # total only grows: what we parsed a moment ago is at most what the kernel says now
    assert result["memory"].some.total_us <= real_total
