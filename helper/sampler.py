"""One sample of the whole system: combines the collectors into a ``Snapshot``."""

import time

from smoothtask_helper.collectors.pressure import read_pressure
from smoothtask_helper.collectors.procfs import ProcessScanner
from smoothtask_helper.collectors.system import SystemReader
from smoothtask_helper.model import Snapshot


class Sampler:
    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._system = SystemReader()
        self._processes = ProcessScanner()
        self._system.cpu()  # prime the CPU deltas so the first sample has figures

    def sample(self) -> Snapshot:
        return Snapshot(
            time=time.time(),
            interval_s=self.interval_s,
            cpu=self._system.cpu(),
            memory=self._system.memory(),
            psi=read_pressure(),
            processes=tuple(self._processes.scan()),
        )

    def close(self) -> None:
        self._processes.close()
