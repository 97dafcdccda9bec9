"""One asyncio loop on a worker thread, for the tray app's D-Bus clients (dbus-fast wants
asyncio; Qt owns the main thread). Results come back to the GUI thread through a Qt
signal, so callbacks never run on the worker thread."""

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

T = TypeVar("T")


class AsyncWorker(QObject):
    _deliver = Signal(object, object)  # (callback, argument): run in the GUI thread

    def __init__(self, name: str = "asyncio-worker", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        # queued even when emitted in the GUI thread (a future already done when its callback
        # is added runs it there at once): a callback never runs inside the call that asked
        self._deliver.connect(self._run_callback, Qt.ConnectionType.QueuedConnection)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise RuntimeError("the worker is not running")
        return self._loop

    def start(self) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._thread = threading.Thread(target=main, name=self._name, daemon=True)
        self._thread.start()
        ready.wait()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run a coroutine on the worker's loop; a thread-safe future of its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def submit_then(
        self,
        coroutine: Coroutine[Any, Any, T],
        on_result: Callable[[T], None],
        on_error: Callable[[BaseException], None],
    ) -> None:
        """Run a coroutine; hand its result or error to a callback in the GUI thread.
        A worker that is not running is an error for ``on_error`` too (a timer may fire
        after the app began to quit)."""
        if self._loop is None:
            coroutine.close()  # never started: close it so Python does not warn
            self._deliver.emit(on_error, RuntimeError("the worker is not running"))
            return

        def done(future: concurrent.futures.Future[T]) -> None:
            error = future.exception()
            if error is not None:
                self._deliver.emit(on_error, error)
            else:
                self._deliver.emit(on_result, future.result())

        self.submit(coroutine).add_done_callback(done)

    def stop(self, timeout: float = 5.0) -> None:
        """Cancel what still runs, stop the loop and join the thread; safe twice."""
        if self._thread is None or self._loop is None:
            return
        loop = self._loop

        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        # a task that would not stop: the loop stops anyway
        with contextlib.suppress(concurrent.futures.TimeoutError, RuntimeError):
            asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout)
        self._thread = None
        self._loop = None

    @Slot(object, object)
    def _run_callback(self, callback: Callable[[Any], None], argument: Any) -> None:
        callback(argument)
