"""The tray app's link to the helper: an asyncio D-Bus client on the worker thread.

Qt owns the main thread; dbus-fast wants an asyncio loop. The client runs on an
``AsyncWorker`` and reports through Qt signals, which Qt delivers to the GUI thread
(queued connections). It reconnects by itself: to the bus when the bus comes back, and
to the helper when ``NameOwnerChanged`` says the helper appeared again.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from smoothtask_gui.worker import AsyncWorker
from smoothtask_helper import bus
from smoothtask_helper.client import HelperClient
from smoothtask_helper.errors import SmoothTaskError, Unavailable
from smoothtask_helper.model import JsonDict

log = logging.getLogger(__name__)

RETRY_S = 1.0


class HelperConnection(QObject):
    """Emits ``connected(status)``, ``disconnected(reason)``, ``sample_received(summary)``,
    ``status_changed(status)`` and ``alert_received(alert)``."""

    connected = Signal(dict)
    disconnected = Signal(str)
    sample_received = Signal(dict)
    status_changed = Signal(dict)
    alert_received = Signal(dict)

    def __init__(
        self, bus_choice: str, worker: AsyncWorker | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.bus_choice = bus_choice
        self._own_worker = worker is None
        self.worker = worker or AsyncWorker("helper-connection")
        self._task: Any = None  # concurrent future of the connection loop
        self._stop: asyncio.Event | None = None
        self._client: HelperClient | None = None

    def start(self) -> None:
        if self._task is not None:
            return
        self.worker.start()
        self._task = self.worker.submit(self._run())

    def stop(self) -> None:
        """Disconnect and end the connection loop; safe to call twice."""
        if self._task is None:
            return
        if self._stop is not None:
            self.worker.loop.call_soon_threadsafe(self._stop.set)
        with contextlib.suppress(Exception):
            self._task.result(timeout=5)
        self._task = None
        if self._own_worker:
            self.worker.stop()

    def call(
        self,
        member: str,
        signature: str,
        body: list[Any],
        on_result: Callable[[Any], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        """Call a helper method; the result (JSON decoded) or the error comes back to a
        callback in the GUI thread."""

        async def request() -> Any:
            if self._client is None:
                raise Unavailable("not connected to the helper")
            return await self._client.call_json(member, signature, body)

        self.worker.submit_then(request(), on_result, on_error)

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        where = bus.describe(self.bus_choice)
        last_reason = ""
        while not self._stop.is_set():
            try:
                client = await HelperClient.connect(self.bus_choice)
            except SmoothTaskError as exc:
                reason = str(exc)
                if reason != last_reason:
                    self.disconnected.emit(reason)
                    last_reason = reason
                await self._sleep(RETRY_S)
                continue
            try:
                await self._serve(client, where)
            except SmoothTaskError as exc:
                log.info("connection to %s ended: %s", where, exc)
            finally:
                self._client = None
                client.disconnect()
            last_reason = f"lost the connection to {where}"
            self.disconnected.emit(last_reason)
            await self._sleep(RETRY_S)

    async def _serve(self, client: HelperClient, where: str) -> None:
        """Follow the helper on one bus connection until the bus goes or we stop."""
        presence: asyncio.Queue[bool] = asyncio.Queue()
        await client.watch(
            {
                "Sample": self.sample_received.emit,
                "StatusChanged": self.status_changed.emit,
                "Alert": self.alert_received.emit,
            },
            on_owner_changed=presence.put_nowait,
        )
        present = await client.helper_running()
        bus_gone = asyncio.ensure_future(client.connection.wait_for_disconnect())  # type: ignore[no-untyped-call]
        stopping = asyncio.ensure_future(self._stopped())
        try:
            while True:
                await self._announce(client, present, where)
                changed = asyncio.ensure_future(presence.get())
                done, _ = await asyncio.wait(
                    {bus_gone, stopping, changed}, return_when=asyncio.FIRST_COMPLETED
                )
                if changed not in done:
                    changed.cancel()
                    return
                present = changed.result()
        finally:
            bus_gone.cancel()
            stopping.cancel()

    async def _announce(self, client: HelperClient, present: bool, where: str) -> None:
        if not present:
            self._client = None
            self.disconnected.emit(f"the SmoothTask helper is not running on {where}")
            return
        try:
            status: JsonDict = await client.get_status()
        except SmoothTaskError as exc:
            self.disconnected.emit(str(exc))
            return
        self._client = client
        self.connected.emit(status)

    async def _stopped(self) -> None:
        assert self._stop is not None  # noqa: S101  # set by _run before this runs
        await self._stop.wait()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when asked to stop."""
        assert self._stop is not None  # noqa: S101  # set by _run before this runs
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
