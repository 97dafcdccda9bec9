"""Send raw D-Bus calls to the helper as another user; report every reply.

    python -m tests.support.call_as USER ADDRESS [CONCURRENCY] < calls.json > replies.json

``calls.json``: a list of ``{"member", "signature", "body", "interactive"?}``. Each reply:
``{"ok": bool, "error": name or null, "text": the reply's text}``. Imported as root, then
the process drops to USER before connecting (as tests/support/run_as.py does), so the
bus and polkit see that user.
"""

import asyncio
import json
import subprocess
import sys
from typing import Any

import dbus_fast.auth  # noqa: F401  # imported before dropping root (see run_as.py)
from dbus_fast import Message, MessageFlag, MessageType
from dbus_fast.aio import MessageBus

from smoothtask_helper import api
from smoothtask_helper.bus import harden_writes
from tests.support.run_as import drop_to


async def send(bus: MessageBus, call: dict[str, Any]) -> dict[str, Any]:
    flags = MessageFlag.ALLOW_INTERACTIVE_AUTHORIZATION if call.get("interactive") else 0
    message = Message(
        destination=api.BUS_NAME,
        path=api.OBJECT_PATH,
        interface=api.INTERFACE,
        member=call["member"],
        signature=call["signature"],
        body=call["body"],
        flags=MessageFlag(flags),
    )
    reply = await asyncio.wait_for(bus.call(message), 60)
    assert reply is not None
    text = " ".join(str(item) for item in reply.body)
    if reply.message_type == MessageType.ERROR:
        return {"ok": False, "error": reply.error_name, "text": text}
    return {"ok": True, "error": None, "text": text}


async def main(address: str, concurrency: int) -> None:
    calls: list[dict[str, Any]] = json.load(sys.stdin)
    bus = await MessageBus(bus_address=address).connect()
    harden_writes(bus)  # many large calls at once (see smoothtask_helper.bus)
    replies: list[dict[str, Any]] = [{}] * len(calls)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            replies[i] = await send(bus, calls[i])

    await asyncio.gather(*(one(i) for i in range(len(calls))))
    bus.disconnect()
    json.dump(replies, sys.stdout)


if __name__ == "__main__":
    drop_to(sys.argv[1])
    asyncio.run(main(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1))


def call_as(
    user: str, address: str, calls: list[dict[str, Any]], concurrency: int = 1, timeout: float = 300
) -> list[dict[str, Any]]:
    """Run this module as ``user`` (from the test process, as root) and return the replies."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.call_as", user, address, str(concurrency)],
        input=json.dumps(calls),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    replies: list[dict[str, Any]] = json.loads(result.stdout)
    return replies


def call(member: str, signature: str = "", *body: Any, interactive: bool = True) -> dict[str, Any]:
    return {
        "member": member,
        "signature": signature,
        "body": list(body),
        "interactive": interactive,
    }
