"""The asyncio worker under Qt: results and errors come back to the GUI thread, and a
call after the worker stopped is an error for the caller, not an exception in a slot; a
callback never runs inside the call that asked for it."""

import asyncio
import threading

from pytestqt.qtbot import QtBot

from smoothtask_gui.worker import AsyncWorker


async def _thread_name() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


async def _fail() -> None:
    raise ValueError("no")


def test_results_and_errors_arrive_in_the_gui_thread(qtbot: QtBot) -> None:
    worker = AsyncWorker("test-worker")
    worker.start()
    results: list[object] = []
    try:
        worker.submit_then(_thread_name(), results.append, results.append)
        worker.submit_then(_fail(), results.append, results.append)
        qtbot.waitUntil(lambda: len(results) == 2, timeout=5_000)
    finally:
        worker.stop()
    assert "test-worker" in results
    errors = [r for r in results if isinstance(r, ValueError)]
    assert len(errors) == 1


def test_a_call_after_stop_goes_to_on_error(qtbot: QtBot) -> None:
    worker = AsyncWorker("test-worker")
    worker.start()
    worker.stop()
    errors: list[BaseException] = []
    worker.submit_then(_thread_name(), lambda _: None, errors.append)  # no warning either
    assert errors == []  # delivered through the event loop, never inside the call
    qtbot.waitUntil(lambda: bool(errors), timeout=5_000)
    assert "not running" in str(errors[0])
