"""Listen to the helper's signals from a test (a real connection to the private bus)."""

import asyncio
import json
from collections.abc import Callable
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

from smoothtask_helper import api


async def samples_until_class_change(
    address: str, start: Callable[[], int], timeout: float = 20.0
) -> tuple[int, dict[str, Any]]:
    """Start a process (``start`` returns its pid) right after a ``Sample``; return how many
    further samples were complete before its ``ProcessClassChanged``, and the change.

    The change of a tick is signalled before that tick's ``Sample``, so 0 means the first
    sample after the start decided it, 1 the second."""
    bus = await MessageBus(bus_address=address).connect()
    events: asyncio.Queue[tuple[str, str]] = asyncio.Queue()

    def handler(msg: Message) -> bool:
        if msg.message_type is MessageType.SIGNAL and msg.interface == api.INTERFACE:
            events.put_nowait((msg.member or "", str(msg.body[0])))
        return False

    bus.add_message_handler(handler)
    try:
        reply = await bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=[f"type='signal',interface='{api.INTERFACE}',path='{api.OBJECT_PATH}'"],
            )
        )
        assert reply is not None and reply.message_type is MessageType.METHOD_RETURN
        async with asyncio.timeout(timeout):
            while (await events.get())[0] != "Sample":
                pass  # start just after a tick: the next one is a whole interval away
            pid = start()
            samples = 0
            while True:
                member, body = await events.get()
                if member == "Sample":
                    samples += 1
                elif member == "ProcessClassChanged":
                    for change in json.loads(body)["changes"]:
                        if change["pid"] == pid:
                            return samples, change
    finally:
        bus.disconnect()
