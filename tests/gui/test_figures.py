"""What the dashboard takes out of a sample (pure)."""

import math

import pytest

from smoothtask_gui.figures import (
    IO_PREFIX,
    LATENCY_SLOTS,
    ebpf_note,
    latency_row,
    sample_values,
    slot_label,
)

SAMPLE = {
    "time": 1.0,
    "interval_s": 2.0,
    "cpu": {"percent": 42.0},
    "memory": {"percent": 50.0, "swap_used_bytes": 1, "swap_total_bytes": 4},
    "psi": {r: {"some_avg10": 1.5} for r in ("cpu", "io", "memory")},
    "runqueue_latency_us": {
        "p50": 10.0,
        "p95": 50.0,
        "p99": None,
        "histogram": [1] * LATENCY_SLOTS,
    },
    "io_latency_us": {"devices": {"vda": {"p99": 800.0}, "sdb": {"p99": None}}},
    "tcp": {"established": 7, "opened": 4, "closed": 2},
}


def test_all_figures() -> None:
    values = sample_values(SAMPLE)
    assert values["cpu"] == 42.0
    assert values["swap"] == 25.0
    assert values["psi_io"] == 1.5
    assert values["rq_p50"] == 10.0 and "rq_p99" not in values  # null: not plotted
    assert values[IO_PREFIX + "vda"] == 800.0 and IO_PREFIX + "sdb" not in values
    assert values["tcp_established"] == 7.0
    assert values["tcp_opened"] == 2.0  # per second over the 2 s interval


def test_without_ebpf_those_figures_are_absent() -> None:
    plain = {k: v for k, v in SAMPLE.items() if k in ("time", "cpu", "memory")}
    plain |= {"psi": None, "runqueue_latency_us": None, "io_latency_us": None, "tcp": None}
    values = sample_values(plain)
    assert set(values) == {"cpu", "memory", "swap"}
    assert all(math.isfinite(v) for v in values.values())
    assert latency_row(plain) is None


def test_latency_row() -> None:
    row = latency_row(SAMPLE)
    assert row is not None and row.shape == (LATENCY_SLOTS,)
    assert latency_row({"runqueue_latency_us": {"histogram": [1, 2]}}) is None


@pytest.mark.parametrize(
    ("slot", "label"),
    [(0, "1 µs"), (1, "2 µs"), (2, "3 µs"), (3, "4 µs"), (20, "1.54 ms"), (40, "1.57 s")],
)
def test_slot_labels_are_upper_bounds(slot: int, label: str) -> None:
    assert slot_label(slot) == label


def test_ebpf_note() -> None:
    ready = {"ebpf": {"state": "ready"}, "probes": {"runqueue": {"available": True}}}
    assert ebpf_note(ready) == ""
    some_off = {
        "ebpf": {"state": "ready"},
        "probes": {"runqueue": {"available": True}, "tcp": {"available": False}},
    }
    assert ebpf_note(some_off) == "eBPF probes off: tcp"
    down = {
        "ebpf": {"state": "unavailable"},
        "probes": {"runqueue": {"available": False, "reason": "not running as root"}},
    }
    assert "not running as root" in ebpf_note(down)
    assert "loading" in ebpf_note({"ebpf": {"state": "loading"}})
