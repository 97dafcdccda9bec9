"""One sample of the whole system: combines the collectors into a ``Snapshot``."""

import dataclasses
import logging
import time

from smoothtask_helper.collectors.ebpf import EbpfCollector
from smoothtask_helper.collectors.gpu import GpuCollector
from smoothtask_helper.collectors.pressure import read_pressure
from smoothtask_helper.collectors.procfs import ProcessScanner
from smoothtask_helper.collectors.system import SystemReader
from smoothtask_helper.gpu_model import GpuSample
from smoothtask_helper.model import KernelSample, ProcessSample, Snapshot

log = logging.getLogger(__name__)

SWEEP_EVERY = 10  # samples between sweeps of exited processes out of the BPF maps


class Sampler:
    def __init__(
        self,
        interval_s: float,
        ebpf: EbpfCollector | None = None,
        gpu: GpuCollector | None = None,
    ) -> None:
        self.interval_s = interval_s
        self.ebpf = ebpf
        self.gpu = gpu
        if gpu is not None:
            gpu.start()
        self._system = SystemReader()
        self._processes = ProcessScanner()
        self._samples = 0
        self._system.cpu()  # prime the CPU deltas so the first sample has figures

    def sample(self) -> Snapshot:
        self._samples += 1
        processes = tuple(self._processes.scan())
        return Snapshot(
            time=time.time(),
            interval_s=self.interval_s,
            cpu=self._system.cpu(),
            memory=self._system.memory(),
            psi=read_pressure(),
            processes=processes,
            kernel=self._kernel(processes),
            gpu=self._gpu(processes),
        )

    def _gpu(self, processes: tuple[ProcessSample, ...]) -> GpuSample | None:
        if self.gpu is None:
            return None
        try:
            return self.gpu.read(processes)
        except Exception:  # a bug there must cost the GPU figures, not the helper
            log.exception("reading the GPU figures failed")
            return None

    def _kernel(self, processes: tuple[ProcessSample, ...]) -> KernelSample | None:
        if self.ebpf is None or self.ebpf.state != "ready":
            return None
        if self._samples % SWEEP_EVERY == 0:
            self.ebpf.sweep({p.pid for p in processes})
        return self.ebpf.read().for_processes(processes)

    def with_new_processes(
        self, snapshot: Snapshot, pids: list[int]
    ) -> tuple[Snapshot, list[ProcessSample]]:
        """The snapshot with these processes (just exec'd) added or refreshed now, and
        their samples (those still alive to be read)."""
        fresh = self._processes.sample_now(pids)
        if not fresh:
            return snapshot, []
        replaced = {p.pid for p in fresh}
        kept = tuple(p for p in snapshot.processes if p.pid not in replaced)
        return dataclasses.replace(snapshot, processes=kept + tuple(fresh)), fresh

    def with_oom_kills(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot with the OOM kills known now (they must not wait for a tick)."""
        if self.ebpf is None or snapshot.kernel is None:
            return snapshot
        kills = [kill.to_json() for kill in self.ebpf.recent_oom_kills()]
        return dataclasses.replace(
            snapshot, kernel=dataclasses.replace(snapshot.kernel, oom_kills=kills)
        )

    def close(self) -> None:
        self._processes.close()
        if self.gpu is not None:
            self.gpu.close()
