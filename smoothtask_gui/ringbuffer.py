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


class TimeSeries:
    """Several named series sampled at the same times."""

    def __init__(self, names: tuple[str, ...], capacity: int) -> None:
        self.times = RingBuffer(capacity)
        self.series = {name: RingBuffer(capacity) for name in names}

    def append(self, time: float, values: dict[str, float]) -> None:
        self.times.append(time)
        for name, buffer in self.series.items():
            buffer.append(values.get(name, np.nan))

    def window(self, start_time: float) -> tuple[FloatArray, dict[str, FloatArray]]:
        """Times and values from ``start_time`` on."""
        times = self.times.values()
        first = int(np.searchsorted(times, start_time))
        return times[first:], {n: b.values()[first:] for n, b in self.series.items()}

    def __len__(self) -> int:
        return len(self.times)
