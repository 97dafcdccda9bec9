"""The tray app's link to the helper: an asyncio D-Bus client on its own thread.

Qt owns the main thread; dbus-fast wants an asyncio loop. The client runs in a worker
thread and reports through Qt signals, which Qt delivers to the GUI thread (queued
connections). It reconnects by itself: to the bus when the bus comes back, and to the
helper when ``NameOwnerChanged`` says the helper appeared again.
"""

import asyncio
import contextlib
import logging
import threading

from PySide6.QtCore import QObject, Signal

from smoothtask_helper import bus
from smoothtask_helper.client import HelperClient
from smoothtask_helper.errors import SmoothTaskError
from smoothtask_helper.model import JsonDict

log = logging.getLogger(__name__)

RETRY_S = 1.0


class HelperConnection(QObject):
    """Emits ``connected(status)``, ``disconnected(reason)``, ``sample_received(summary)``
    and ``status_changed(status)``."""

    connected = Signal(dict)
    disconnected = Signal(str)
    sample_received = Signal(dict)
    status_changed = Signal(dict)

    def __init__(self, bus_choice: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus_choice = bus_choice
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = asyncio.Event()  # binds to the worker's loop on first use
        self._ready = threading.Event()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop = asyncio.Event()
        self._ready.clear()
        self._thread = threading.Thread(target=self._main, name="helper-connection", daemon=True)
        self._thread.start()
        self._ready.wait()

    def stop(self) -> None:
        """Disconnect and end the worker thread; safe to call twice."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=5)
        self._thread = None

    def _main(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._ready.set()
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
                client.disconnect()
            last_reason = f"lost the connection to {where}"
            self.disconnected.emit(last_reason)
            await self._sleep(RETRY_S)

    async def _serve(self, client: HelperClient, where: str) -> None:
        """Follow the helper on one bus connection until the bus goes or we stop."""
        presence: asyncio.Queue[bool] = asyncio.Queue()
        await client.watch(
            {"Sample": self.sample_received.emit, "StatusChanged": self.status_changed.emit},
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
            self.disconnected.emit(f"the SmoothTask helper is not running on {where}")
            return
        try:
            status: JsonDict = await client.get_status()
        except SmoothTaskError as exc:
            self.disconnected.emit(str(exc))
            return
        self.connected.emit(status)

    async def _stopped(self) -> None:
        await self._stop.wait()

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
