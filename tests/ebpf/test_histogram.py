"""User space reads the histograms with the bounds the BPF programs fill them with."""

import math

import numpy as np
import pytest

from smoothtask_helper.collectors.ebpf import histogram


def c_latency_slot(ns: int) -> int:
    """bpf/common.h latency_slot(), transcribed."""
    us = ns // 1000
    if us < 2:
        return us
    octave = int(math.log2(us))
    slot = 2 * octave + ((us >> (octave - 1)) & 1)
    return min(slot, histogram.SLOTS - 1)


@pytest.mark.parametrize("us", [0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 100, 999, 4096, 10**6])
def test_every_value_falls_inside_its_slot(us: int) -> None:
    slot = c_latency_slot(us * 1000)
    assert histogram.LOWER_US[slot] <= us < histogram.UPPER_US[slot]


def test_slots_tile_the_axis() -> None:
    assert histogram.LOWER_US[0] == 0
    assert (histogram.LOWER_US[1:] == histogram.UPPER_US[:-1]).all()
    assert list(histogram.UPPER_US) == histogram.BUCKET_LE_US


def test_percentile_interpolates_inside_the_slot() -> None:
    counts = np.zeros(histogram.SLOTS, dtype=np.int64)
    counts[c_latency_slot(100_000)] = 100  # all in [96, 128) us
    p50 = histogram.percentile(counts, 50)
    assert p50 is not None and 96 <= p50 <= 128
    assert histogram.percentile(np.zeros(histogram.SLOTS, dtype=np.int64), 99) is None


def test_p99_sees_the_tail() -> None:
    counts = np.zeros(histogram.SLOTS, dtype=np.int64)
    counts[c_latency_slot(10_000)] = 990  # 10 us
    counts[c_latency_slot(5_000_000)] = 10  # 5 ms
    p99 = histogram.percentile(counts, 99)
    p50 = histogram.percentile(counts, 50)
    assert p50 is not None and p50 < 16
    assert p99 is not None and p99 < 16  # exactly 99% are fast
    p995 = histogram.percentile(counts, 99.5)
    assert p995 is not None and p995 > 4000


def test_row_percentiles_match_the_single_version() -> None:
    rng = np.random.default_rng(7)
    rows = rng.integers(0, 50, size=(20, histogram.SLOTS))
    rows[3] = 0
    values = histogram.row_percentiles(rows, 99)
    for row, value in zip(rows, values, strict=True):
        single = histogram.percentile(row, 99)
        if single is None:
            assert math.isnan(value)
        else:
            assert value == pytest.approx(single)


def test_summary_shape() -> None:
    counts = np.zeros(histogram.SLOTS, dtype=np.int64)
    counts[5] = 3
    doc = histogram.summary(counts)
    assert doc["count"] == 3
    assert len(doc["histogram"]) == histogram.SLOTS
    assert set(doc) == {"count", "p50", "p95", "p99", "histogram"}
