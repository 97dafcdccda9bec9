"""A log axis for latencies that a person reads at a glance: "100 µs", "2 ms", "1 s".

pyqtgraph's own log axis labels every minor tick ("9·10², 8·10², ...") when the range
spans less than a decade, and the labels then overlap. Here only 1, 2 and 5 times a power of
ten get a label, written as a duration; the other ticks stay as unlabelled grid lines.
"""

import math

import numpy as np
import pyqtgraph as pg

from smoothtask_gui.figures import duration_label

LABELLED_MANTISSAS = (1, 2, 5)


def readable_tick(log_value: float) -> bool:
    """Whether 10**log_value is 1, 2 or 5 times a power of ten."""
    mantissa = 10 ** (log_value - math.floor(log_value + 1e-9))
    return any(abs(mantissa - m) < 1e-6 * m for m in LABELLED_MANTISSAS)


class LatencyAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph has no type hints
    """For plots in log mode whose values are microseconds."""

    def logTickStrings(  # pyqtgraph names it
        self, values: list[float], scale: float, spacing: float
    ) -> list[str]:
        logs = [float(v) for v in np.asarray(values, dtype=np.float64)]
        shown = [readable_tick(v) for v in logs]
        if logs and not any(shown):  # a narrow range between 1-2-5 steps: its two ends
            shown[0] = shown[-1] = True
        return [
            duration_label(10**v * scale) if s else "" for v, s in zip(logs, shown, strict=True)
        ]
