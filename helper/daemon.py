"""The running helper: samples on a fixed beat and publishes each sample on the bus.

The eBPF probes load in the background while /proc figures already flow; their events
(exec, OOM kills) update the latest sample at once instead of at the next tick.
"""

import asyncio
import logging
import os
import time
from collections.abc import Callable

from dbus_fast.aio import MessageBus

from smoothtask_helper import api
from smoothtask_helper.collectors.ebpf import EbpfCollector, EbpfConfig, EventBatch
from smoothtask_helper.collectors.ebpf.collector import SWITCHED_OFF
from smoothtask_helper.collectors.gpu import off_status
from smoothtask_helper.control import Control
from smoothtask_helper.model import JsonDict, ProcessSample, Snapshot
from smoothtask_helper.sampler import Sampler
from smoothtask_helper.service import HelperInterface, to_json

log = logging.getLogger(__name__)

EVENT_COALESCE_S = 0.02  # exec bursts: patch the sample at most this often
EVENT_POLL_S = 0.05  # when the ring buffer has no descriptor to wait on
FILE_POLL_S = 1.0  # hand edits of settings and rules apply within 2 s


class Helper:
    """Holds the latest sample and the helper's status; implements ``HelperState``."""

    def __init__(
        self,
        sampler: Sampler,
        control: Control,
        ebpf: EbpfCollector,
        wanted_ebpf: Callable[[], EbpfConfig] | None = None,
    ) -> None:
        self._sampler = sampler
        self._control = control
        self._ebpf = ebpf
        # what the settings ask of eBPF now: when it changes, the probes are reloaded
        self._wanted_ebpf = wanted_ebpf or (lambda: ebpf.config)
        self._loading: asyncio.Future[None] | None = None
        self._started_at = time.time()
        self._started_monotonic = time.monotonic()
        self._samples_taken = 0
        # first figures at once, before the bus is up
        self._latest = control.on_sample(sampler.sample())
        self._process_started = _process_start_boottime()  # once: it never changes
        first_sample = time.clock_gettime(time.CLOCK_BOOTTIME) - self._process_started
        self._startup = {"first_sample_s": round(first_sample, 4)}
        self._pending_execs: set[int] = set()
        self._flush: asyncio.TimerHandle | None = None
        # processes started since the last tick (fork-storm alerts): from exec events, or
        # by start time where no event probe runs
        self._started: dict[tuple[int, float], ProcessSample] = {}
        self._last_tick = self._latest.time
        self.interface = HelperInterface(self, control)

    def latest(self) -> Snapshot:
        return self._latest

    def status(self) -> JsonDict:
        privileged = os.geteuid() == 0
        limitations = [] if privileged else ["not running as root: priorities cannot be changed"]
        if self._ebpf.state == "unavailable":
            limitations.append("eBPF unavailable: see probes for the reasons")
        policy = self._control.status()  # mode, levers, settings, rules, journal (control.py)
        limitations += [x for x in policy.pop("policy_limitations") if x not in limitations]
        gpu = self._sampler.gpu.status() if self._sampler.gpu is not None else off_status()
        return {
            **policy,
            "version": api.VERSION,
            "probes": self._ebpf.probe_status(),
            "ebpf": self._ebpf.status(),
            "startup": self._startup_figures(),
            "pid": os.getpid(),
            "uid": os.geteuid(),
            "privileged": privileged,
            "limitations": limitations,
            "interval_s": self._sampler.interval_s,
            "started_at": self._started_at,
            "samples_taken": self._samples_taken,
            "gpu": gpu,
            "collectors": {
                "procfs": {"available": True, "reason": ""},
                "ebpf": {
                    "available": self._ebpf.state == "ready",
                    "reason": "" if self._ebpf.state == "ready" else self._ebpf.state,
                },
                "gpu": _gpu_collector(gpu),
            },
        }

    def tick(self) -> None:
        started = time.monotonic()
        self._sampler.interval_s = self._control.interval_s
        self._latest = self._control.on_sample(self._sampler.sample())
        self._samples_taken += 1
        summary = to_json(self._latest.summary_json())
        self.interface.Sample(summary)
        self._control.remember(self._latest.time, summary)
        self._control.evaluate_alerts(self._latest, self._new_processes(), self._degraded())
        self._reload_ebpf_if_asked()
        log.debug("sample %d took %.1f ms", self._samples_taken, 1e3 * (time.monotonic() - started))

    def _new_processes(self) -> tuple[ProcessSample, ...]:
        """Processes started since the previous tick; forgets them for the next one."""
        if "lifecycle" not in self._ebpf.attached:
            for process in self._latest.processes:
                if process.start_time > self._last_tick:
                    self._started[(process.pid, process.start_time)] = process
        started, self._started = tuple(self._started.values()), {}
        self._last_tick = self._latest.time
        return started

    def _degraded(self) -> tuple[str, ...]:
        """What the helper cannot measure now, in words (helper-degraded alerts)."""
        if self._ebpf.state == "unavailable":
            reasons = {p["reason"] for p in self._ebpf.probe_status().values() if p["reason"]}
            return (f"eBPF is unavailable: {'; '.join(sorted(reasons))}",)
        if self._ebpf.state != "ready":
            return ()
        return tuple(
            f"The eBPF probe {name} is unavailable: {probe['reason']}"
            for name, probe in self._ebpf.probe_status().items()
            if not probe["available"] and probe["reason"] != SWITCHED_OFF
        )

    def _startup_figures(self) -> dict[str, float]:
        """Seconds from the process's start to its first sample and to eBPF loaded; the
        latter from the collector itself, so it is there as soon as the state says ready."""
        figures = dict(self._startup)
        if self._ebpf.loaded_at is not None:
            figures["ebpf_ready_s"] = round(self._ebpf.loaded_at - self._process_started, 4)
            figures["ebpf_load_s"] = round(self._ebpf.timings.get("load_s", 0.0), 4)
        return figures

    # -- eBPF ------------------------------------------------------------------------

    async def load_ebpf(self) -> None:
        """Compile and attach in a worker thread; then follow the probes' events."""
        if self._ebpf.state == "disabled":
            return
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._ebpf.load)
        if self._ebpf.state == "ready":  # eBPF figures at once, not at the next tick
            self._latest = self._control.on_sample(self._sampler.sample(), tick=False)
            self._follow_events(loop)
        self.interface.StatusChanged(to_json(self.status()))

    async def load_nvml(self) -> None:
        """NVML's start can take a while on NVIDIA machines: in a worker thread."""
        gpu = self._sampler.gpu
        if gpu is None:
            return
        await asyncio.get_running_loop().run_in_executor(None, gpu.start_nvml)
        if gpu.status()["nvml"]["available"]:
            self.interface.StatusChanged(to_json(self.status()))

    def _follow_events(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._ebpf.attached & {"lifecycle", "oom"}:
            return
        fd = self._ebpf.events_fd()
        if fd is not None:
            loop.add_reader(fd, self._on_events)
        else:
            self._poll_events_later(loop)

    def _poll_events_later(self, loop: asyncio.AbstractEventLoop) -> None:
        self._on_events()
        loop.call_later(EVENT_POLL_S, self._poll_events_later, loop)

    def _on_events(self) -> None:
        try:
            batch = self._ebpf.poll_events()
        except Exception:  # a bad event must not stop the helper
            log.exception("reading eBPF events failed")
            return
        if batch:
            self._handle(batch)

    def _handle(self, batch: EventBatch) -> None:
        self._pending_execs.update(pid for pid, _comm in batch.execs)
        if batch.oom_kills:
            for kill in batch.oom_kills:
                log.warning("OOM kill: pid %d (%s), uid %s", kill.pid, kill.comm, kill.uid)
            self._latest = self._control.on_sample(
                self._sampler.with_oom_kills(self._latest), tick=False
            )
            self._control.evaluate_alerts(self._latest, events_only=True)  # at once
        if self._pending_execs and self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(EVENT_COALESCE_S, self._flush_execs)

    def _flush_execs(self) -> None:
        self._flush = None
        pids, self._pending_execs = sorted(self._pending_execs), set()
        # new processes are classified and acted on at once (hysteresis counts ticks only)
        patched, fresh = self._sampler.with_new_processes(self._latest, pids)
        self._latest = self._control.on_sample(patched, tick=False)
        for process in fresh:
            self._started[(process.pid, process.start_time)] = process

    def _reload_ebpf_if_asked(self) -> None:
        """The settings' [ebpf] changed: close the probes and load them anew, in the
        background (the /proc figures go on meanwhile)."""
        wanted = self._wanted_ebpf()
        if wanted == self._ebpf.config or (self._loading is not None and not self._loading.done()):
            return
        log.info("the eBPF settings changed: reloading the probes")
        self.stop_ebpf()
        self._ebpf = EbpfCollector(wanted)
        self._sampler.ebpf = self._ebpf
        self._loading = asyncio.ensure_future(self.load_ebpf())
        self.interface.StatusChanged(to_json(self.status()))

    def stop_ebpf(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        fd = self._ebpf.events_fd()
        if fd is not None:
            asyncio.get_running_loop().remove_reader(fd)
        self._ebpf.close()

    # -- the beat --------------------------------------------------------------------

    async def run(self, bus: MessageBus, stop: asyncio.Event) -> None:
        """Tick on a drift-free beat until ``stop`` is set or the bus goes away."""
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + self._control.interval_s  # the first sample was at start
        disconnected = asyncio.ensure_future(bus.wait_for_disconnect())  # type: ignore[no-untyped-call]
        stopping = asyncio.ensure_future(stop.wait())
        watching = asyncio.ensure_future(self._watch_files())
        self._loading = asyncio.ensure_future(self.load_ebpf())
        loading_nvml = asyncio.ensure_future(self.load_nvml())
        try:
            while True:
                now = loop.time()
                done, _ = await asyncio.wait(
                    {disconnected, stopping},
                    timeout=max(0.0, next_tick - now),
                    return_when="FIRST_COMPLETED",
                )
                if stopping in done:
                    return
                if disconnected in done:
                    log.error("lost the connection to the bus; stopping")
                    return
                self.tick()
                interval = self._control.interval_s  # the settings may change it
                next_tick += interval
                if next_tick < loop.time():  # fell behind (suspend, overload): skip, don't burst
                    next_tick = loop.time() + interval
        finally:
            for fut in (disconnected, stopping, watching):
                fut.cancel()
            if self._loading is not None:  # a compile in progress finishes before closing
                await self._loading
            await loading_nvml  # likewise NVML's start before the sampler closes it
            self.stop_ebpf()

    async def _watch_files(self) -> None:
        """Hand edits of the settings and rules files apply within 2 s (checked each second)."""
        while True:
            await asyncio.sleep(FILE_POLL_S)
            self._control.poll_files()


def _gpu_collector(gpu: JsonDict) -> JsonDict:
    """The GPU collector in one line: running (a source works), or why not."""
    if not gpu.get("enabled"):
        return {"available": False, "reason": "switched off"}
    sources = ("sysfs", "fdinfo", "nvml")
    if any(gpu[s]["available"] for s in sources):
        return {"available": True, "reason": ""}
    return {"available": False, "reason": "; ".join(gpu[s]["reason"] for s in sources)}


def _process_start_boottime() -> float:
    """When this process started, in CLOCK_BOOTTIME seconds (from /proc/self/stat)."""
    with open("/proc/self/stat", "rb") as f:
        start_ticks = int(f.read().rsplit(b")", 1)[1].split()[19])
    return start_ticks / os.sysconf("SC_CLK_TCK")
