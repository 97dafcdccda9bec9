"""Engine utilisation from two readings (drm-usage-stats.rst arithmetic)."""

import pytest

from smoothtask_helper.collectors.gpu.fdinfo import EngineCounters
from smoothtask_helper.collectors.gpu.usage import baseline, engine_percent

SECOND = 1_000_000_000


def test_busy_time_over_wall_time() -> None:
    before, after = (
        EngineCounters(busy_ns=10 * SECOND),
        EngineCounters(busy_ns=10 * SECOND + SECOND // 4),
    )
    assert engine_percent(before, after, SECOND) == pytest.approx(25.0)


def test_capacity_divides() -> None:
    before = EngineCounters(busy_ns=0, capacity=2)
    after = EngineCounters(busy_ns=SECOND, capacity=2)  # one of two video engines all along
    assert engine_percent(before, after, SECOND) == pytest.approx(50.0)


def test_cycles_against_the_gpu_timestamp_need_no_wall_clock() -> None:
    before = EngineCounters(cycles=1000, total_cycles=100_000, capacity=4)
    after = EngineCounters(cycles=21_000, total_cycles=110_000, capacity=4)
    assert engine_percent(before, after, elapsed_ns=0) == pytest.approx(50.0)
    same_tick = EngineCounters(cycles=1000, total_cycles=100_000, capacity=4)
    assert engine_percent(before, same_tick, SECOND) is None


def test_counters_going_back_stay_at_the_larger_value() -> None:
    high, low = EngineCounters(busy_ns=5 * SECOND), EngineCounters(busy_ns=4 * SECOND)
    assert engine_percent(high, low, SECOND) == 0.0
    kept = baseline(high, low)
    assert kept.busy_ns == 5 * SECOND  # the next reading is compared with the larger
    caught_up = EngineCounters(busy_ns=5 * SECOND + SECOND // 2)
    assert engine_percent(kept, caught_up, SECOND) == pytest.approx(50.0)


def test_clamped_and_unknown() -> None:
    assert (
        engine_percent(EngineCounters(busy_ns=0), EngineCounters(busy_ns=3 * SECOND), SECOND)
        == 100.0
    )
    assert engine_percent(EngineCounters(), EngineCounters(), SECOND) is None
    assert engine_percent(EngineCounters(busy_ns=0), EngineCounters(busy_ns=1), 0) is None
