"""A token bucket per caller (by uid: a user cannot escape it with more connections)."""

import time
from collections import OrderedDict
from collections.abc import Callable

MAX_CALLERS = 4096  # least recently seen callers are forgotten beyond this


class RateLimiter:
    def __init__(
        self, rate_per_s: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[int, tuple[float, float]] = OrderedDict()  # tokens, when

    def configure(self, rate_per_s: float, burst: int) -> None:
        self.rate, self.burst = rate_per_s, burst

    def allow(self, caller: int) -> bool:
        now = self._clock()
        tokens, then = self._buckets.pop(caller, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[caller] = (tokens, now)
        while len(self._buckets) > MAX_CALLERS:
            self._buckets.popitem(last=False)
        return allowed

    def retry_after(self, caller: int) -> float:
        tokens, _ = self._buckets.get(caller, (float(self.burst), 0.0))
        return max(0.0, (1.0 - tokens) / self.rate)
