"""Fixed-size numpy ring buffers for live plots: appending is O(1), no reallocation."""

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class RingBuffer:
    """The last ``capacity`` values of one series."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._data = np.full(capacity, np.nan)
        self._next = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def capacity(self) -> int:
        return len(self._data)

    def append(self, value: float) -> None:
        self._data[self._next] = value
        self._next = (self._next + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def values(self) -> FloatArray:
        """Oldest first; a copy only when the buffer has wrapped."""
        if self._count < self.capacity:
            return self._data[: self._count]
        return np.concatenate((self._data[self._next :], self._data[: self._next]))

    def clear(self) -> None:
        self._data.fill(np.nan)
        self._next = self._count = 0

    def align_with(self, other: "RingBuffer") -> None:
        """As long as ``other``, all gaps (NaN): for a series that starts late."""
        self._data.fill(np.nan)
        self._next, self._count = other._next, other._count


class MatrixRing:
    """The last ``capacity`` rows of a fixed width (e.g. one histogram per sample)."""

    def __init__(self, capacity: int, width: int) -> None:
        self.times = RingBuffer(capacity)
        self._rows = np.zeros((capacity, width))

    def append(self, time: float, row: FloatArray | None) -> None:
        """A missing row (no histogram that sample) is stored as zeros."""
        self._rows[self.times._next] = 0.0 if row is None else row
        self.times.append(time)

    def window(self, start_time: float) -> tuple[FloatArray, FloatArray]:
        times = self.times.values()
        first = int(np.searchsorted(times, start_time))
        count, next_slot = len(self.times), self.times._next
        if count < self.times.capacity:
            rows = self._rows[:count]
        else:
            rows = np.concatenate((self._rows[next_slot:], self._rows[:next_slot]))
        return times[first:], rows[first:]


class TimeSeries:
    """Several named series sampled at the same times; a series first seen later (a new
    block device, say) starts with gaps for the times before it."""

    def __init__(self, names: tuple[str, ...], capacity: int) -> None:
        self.times = RingBuffer(capacity)
        self.series = {name: RingBuffer(capacity) for name in names}

    def append(self, time: float, values: dict[str, float]) -> None:
        for name in values.keys() - self.series.keys():
            self.series[name] = self._aligned_gap()
        self.times.append(time)
        for name, buffer in self.series.items():
            buffer.append(values.get(name, np.nan))

    def _aligned_gap(self) -> RingBuffer:
        buffer = RingBuffer(self.times.capacity)
        buffer.align_with(self.times)
        return buffer

    def window(self, start_time: float) -> tuple[FloatArray, dict[str, FloatArray]]:
        """Times and values from ``start_time`` on."""
        times = self.times.values()
        first = int(np.searchsorted(times, start_time))
        return times[first:], {n: b.values()[first:] for n, b in self.series.items()}

    def __len__(self) -> int:
        return len(self.times)
