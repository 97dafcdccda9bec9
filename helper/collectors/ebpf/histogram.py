"""Latency histograms as the BPF programs fill them (bpf/common.h ``latency_slot``).

Slot 0 is under 1 us, slot 1 is 1 us, then two slots per power of two of microseconds:
slot 2l covers [2^l, 1.5 * 2^l) us and slot 2l+1 covers [1.5 * 2^l, 2^(l+1)) us.
"""

import numpy as np
import numpy.typing as npt

from smoothtask_helper.model import JsonDict

SLOTS = 64  # RQ_SLOTS in the BPF programs; a power of two (see common.h)

Counts = npt.NDArray[np.integer]


def _bounds() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    lower = np.zeros(SLOTS)
    upper = np.zeros(SLOTS)
    lower[1], upper[0], upper[1] = 1.0, 1.0, 2.0
    for slot in range(2, SLOTS):
        octave, half = divmod(slot, 2)
        step = 2.0 ** (octave - 1)
        lower[slot] = 2.0**octave + half * step
        upper[slot] = lower[slot] + step
    return lower, upper


LOWER_US, UPPER_US = _bounds()


def percentile(counts: Counts, q: float) -> float | None:
    """The q-th percentile (0..100) in microseconds, interpolated inside its slot."""
    total = int(counts.sum())
    if total == 0:
        return None
    rank = q / 100.0 * total
    cumulative = np.cumsum(counts)
    slot = int(np.searchsorted(cumulative, rank, side="left"))
    slot = min(slot, SLOTS - 1)
    before = cumulative[slot - 1] if slot else 0
    inside = counts[slot]
    fraction = (rank - before) / inside if inside else 1.0
    return float(LOWER_US[slot] + fraction * (UPPER_US[slot] - LOWER_US[slot]))


def row_percentiles(rows: Counts, q: float) -> npt.NDArray[np.float64]:
    """The q-th percentile of each row (one histogram per row); NaN for empty rows."""
    if rows.size == 0:
        return np.zeros(0)
    cumulative = np.cumsum(rows, axis=1)
    totals = cumulative[:, -1]
    ranks = q / 100.0 * totals
    slots = np.minimum((cumulative < ranks[:, None]).sum(axis=1), SLOTS - 1)
    index = np.arange(len(rows))
    before = np.where(slots > 0, cumulative[index, np.maximum(slots - 1, 0)], 0)
    inside = rows[index, slots]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(inside > 0, (ranks - before) / inside, 1.0)
    values = LOWER_US[slots] + fraction * (UPPER_US[slots] - LOWER_US[slots])
    return np.where(totals > 0, values, np.nan)


def summary(counts: Counts) -> JsonDict:
    """Percentiles, count and the histogram: counts per slot, whose upper bounds are
    ``BUCKET_LE_US`` (in the status document, not repeated in every sample)."""

    def rounded(q: float) -> float | None:
        value = percentile(counts, q)
        return None if value is None else round(value, 1)

    return {
        "count": int(counts.sum()),
        "p50": rounded(50),
        "p95": rounded(95),
        "p99": rounded(99),
        "histogram": [int(c) for c in counts],
    }


BUCKET_LE_US = [float(u) for u in UPPER_US]
