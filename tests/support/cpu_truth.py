"""Ground truth for CPU-use figures: what the kernel counted.

A busy loop gets a whole core only on an idle machine; on a loaded one (a shared CI host)
it gets less, and the helper is right to say so. So tests compare the helper's figure with
the process's on-CPU time from /proc/<pid>/schedstat over the same window, recorded here
with wall-clock times by a thread that reads it every 20 ms.
"""

import bisect
import threading
import time
from types import TracebackType

READ_EVERY_S = 0.02


def on_cpu_ns(pid: int) -> int:
    with open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0])


class CpuRecord:
    """``with CpuRecord(pid) as truth: ...; truth.percent(start, end)``: % of one core the
    process used between two wall-clock times (``time.time()``), interpolated."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._readings: list[tuple[float, int]] = []  # (wall-clock time, on-CPU ns)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._record, daemon=True)

    def __enter__(self) -> "CpuRecord":
        self._read()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _read(self) -> None:
        try:
            value = on_cpu_ns(self.pid)
        except OSError:
            self._stop.set()  # the process is gone: what was recorded stays
            return
        self._readings.append((time.time(), value))  # one append: a reader sees whole pairs

    def _record(self) -> None:
        while not self._stop.wait(READ_EVERY_S):
            self._read()

    def _on_cpu_at(self, when: float) -> float:
        readings = self._readings[:]
        if not readings or not readings[0][0] <= when <= readings[-1][0]:
            raise ValueError(f"{when:.3f} is outside the recorded window")
        i = bisect.bisect_left(readings, when, key=lambda r: r[0])
        (t1, v1), (t0, v0) = readings[i], readings[max(i - 1, 0)]
        if t1 == when:
            return float(v1)
        return v0 + (when - t0) / (t1 - t0) * (v1 - v0)

    def percent(self, start: float, end: float) -> float:
        deadline = time.monotonic() + 1.0
        while self._readings[-1][0] < end and not self._stop.is_set():
            if time.monotonic() > deadline:
                break  # _on_cpu_at says why
            time.sleep(READ_EVERY_S)  # a reading after `end` is due at once
        used_ns = self._on_cpu_at(end) - self._on_cpu_at(start)
        return 100.0 * used_ns / 1e9 / (end - start)
