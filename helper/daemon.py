"""The running helper: samples on a fixed beat and publishes each sample on the bus."""

import asyncio
import logging
import os
import time

from dbus_fast.aio import MessageBus

from smoothtask_helper import api
from smoothtask_helper.control import Control
from smoothtask_helper.model import JsonDict, Snapshot
from smoothtask_helper.sampler import Sampler
from smoothtask_helper.service import HelperInterface, to_json

log = logging.getLogger(__name__)

FILE_POLL_S = 1.0


class Helper:
    """Holds the latest sample and the helper's status; implements ``HelperState``."""

    def __init__(self, sampler: Sampler, control: Control) -> None:
        self._sampler = sampler
        self._control = control
        self._started_at = time.time()
        self._samples_taken = 0
        # first figures at once, before the bus is up
        self._latest = control.on_sample(sampler.sample())
        self.interface = HelperInterface(self, control)

    def latest(self) -> Snapshot:
        return self._latest

    def status(self) -> JsonDict:
        privileged = os.geteuid() == 0
        limitations = [] if privileged else ["not running as root: priorities cannot be changed"]
        policy = self._control.status()  # mode, levers, settings, rules, journal (control.py)
        limitations += [x for x in policy.pop("policy_limitations") if x not in limitations]
        return {
            **policy,
            "version": api.VERSION,
            "probes": {},  # eBPF probes: none are built into this version yet
            "pid": os.getpid(),
            "uid": os.geteuid(),
            "privileged": privileged,
            "limitations": limitations,
            "interval_s": self._sampler.interval_s,
            "started_at": self._started_at,
            "samples_taken": self._samples_taken,
            "collectors": {"procfs": {"available": True, "reason": ""}},
        }

    def tick(self) -> None:
        started = time.monotonic()
        self._sampler.interval_s = self._control.interval_s
        self._latest = self._control.on_sample(self._sampler.sample())
        self._samples_taken += 1
        summary = to_json(self._latest.summary_json())
        self.interface.Sample(summary)
        self._control.remember(self._latest.time, summary)
        log.debug("sample %d took %.1f ms", self._samples_taken, 1e3 * (time.monotonic() - started))

    async def run(self, bus: MessageBus, stop: asyncio.Event) -> None:
        """Tick on a drift-free beat until ``stop`` is set or the bus goes away."""
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        disconnected = asyncio.ensure_future(bus.wait_for_disconnect())  # type: ignore[no-untyped-call]
        stopping = asyncio.ensure_future(stop.wait())
        watching = asyncio.ensure_future(self._watch_files())
        try:
            while True:
                self.tick()
                interval = self._control.interval_s  # settings may change it
                next_tick += interval
                now = loop.time()
                if next_tick < now:  # fell behind (suspend, overload): skip, don't burst
                    next_tick = now + interval
                done, _ = await asyncio.wait(
                    {disconnected, stopping}, timeout=next_tick - now, return_when="FIRST_COMPLETED"
                )
                if stopping in done:
                    return
                if disconnected in done:
                    log.error("lost the connection to the bus; stopping")
                    return
        finally:
            for fut in (disconnected, stopping, watching):
                fut.cancel()

    async def _watch_files(self) -> None:
        """Hand edits of the settings and rules files apply within 2 s (checked each second)."""
        while True:
            await asyncio.sleep(FILE_POLL_S)
            self._control.poll_files()
