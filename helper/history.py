"""Recent samples for the dashboard's plots: a ring buffer of each tick's summary.

The summary is kept as the JSON text the ``Sample`` signal already carried, so history
costs no extra serialisation per tick and a reply is a join: about 1 KiB per sample,
so 30 minutes at 1 Hz is under 2 MiB.
"""

import math
from collections import deque


class History:
    def __init__(self, seconds: int, interval_s: float) -> None:
        self._entries: deque[tuple[float, str]] = deque(
            maxlen=self.capacity_for(seconds, interval_s)
        )
        self.seconds = seconds

    @staticmethod
    def capacity_for(seconds: int, interval_s: float) -> int:
        return max(1, math.ceil(seconds / interval_s) + 1)

    def resize(self, seconds: int, interval_s: float) -> None:
        capacity = self.capacity_for(seconds, interval_s)
        if capacity != self._entries.maxlen:
            self._entries = deque(self._entries, maxlen=capacity)
        self.seconds = seconds

    def add(self, time: float, summary_json: str) -> None:
        self._entries.append((time, summary_json))

    def json_since(self, seconds: float) -> str:
        """A JSON array of the summaries of the last ``seconds``, oldest first."""
        if not self._entries:
            return "[]"
        newest = self._entries[-1][0]
        cutoff = newest - seconds
        picked = [text for time, text in self._entries if time > cutoff]
        return "[" + ",".join(picked) + "]"

    def __len__(self) -> int:
        return len(self._entries)
