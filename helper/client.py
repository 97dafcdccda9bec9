"""Asyncio client of the helper's D-Bus API, shared by smoothtaskctl and the tray app.

Error replies come back as the ``SmoothTaskError`` subclasses named by the reply.
"""

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from dbus_fast import Message, MessageFlag, MessageType
from dbus_fast.aio import MessageBus

from smoothtask_helper import api, bus
from smoothtask_helper.errors import Internal, SmoothTaskError, Unavailable, error_for_name
from smoothtask_helper.model import JsonDict

CALL_TIMEOUT_S = 10.0
# A change may wait for a person to authenticate in a polkit agent's dialog.
INTERACTIVE_TIMEOUT_S = 120.0

_DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
_NOT_RUNNING = frozenset(
    {"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"}
)


class HelperClient:
    def __init__(self, connection: MessageBus, choice: str) -> None:
        self.connection = connection
        self._where = bus.describe(choice)

    @classmethod
    async def connect(cls, choice: str) -> "HelperClient":
        return cls(await bus.connect(choice), choice)

    def disconnect(self) -> None:
        self.connection.disconnect()

    async def call(
        self,
        member: str,
        signature: str = "",
        body: list[Any] | None = None,
        interactive: bool = False,
    ) -> Any:
        """Call a method of the helper; returns the reply's single value. ``interactive``:
        polkit may ask the person to authenticate (changes made on their request)."""
        reply = await self._call(
            api.BUS_NAME, api.OBJECT_PATH, api.INTERFACE, member, signature, body, interactive
        )
        return reply[0] if reply else None

    async def call_json(
        self,
        member: str,
        signature: str = "",
        body: list[Any] | None = None,
        interactive: bool = False,
    ) -> Any:
        text = await self.call(member, signature, body, interactive)
        try:
            return json.loads(text)
        except (TypeError, ValueError):
            raise Internal(f"the helper sent a malformed reply to {member}") from None

    async def get_status(self) -> JsonDict:
        result: JsonDict = await self.call_json("GetStatus")
        return result

    async def get_snapshot(self) -> JsonDict:
        result: JsonDict = await self.call_json("GetSnapshot")
        return result

    async def list_processes(self) -> list[JsonDict]:
        result: list[JsonDict] = await self.call_json("ListProcesses")
        return result

    async def get_history(self, seconds: int) -> list[JsonDict]:
        result: list[JsonDict] = await self.call_json("GetHistory", "u", [seconds])
        return result

    async def get_alerts(self, since_id: int = 0) -> JsonDict:
        result: JsonDict = await self.call_json("GetAlerts", "u", [since_id])
        return result

    async def get_rules(self) -> JsonDict:
        result: JsonDict = await self.call_json("GetRules")
        return result

    async def get_settings(self) -> JsonDict:
        result: JsonDict = await self.call_json("GetSettings")
        return result

    async def set_process_class(self, pid: int, process_class: str) -> JsonDict:
        result: JsonDict = await self.call_json(
            "SetProcessClass", "us", [pid, process_class], interactive=True
        )
        return result

    async def reset_process_class(self, pid: int) -> JsonDict:
        result: JsonDict = await self.call_json("ResetProcessClass", "u", [pid], interactive=True)
        return result

    async def test_rules(self, rules_toml: str) -> JsonDict:
        result: JsonDict = await self.call_json("TestRules", "s", [rules_toml])
        return result

    async def set_rules(self, rules_toml: str) -> JsonDict:
        result: JsonDict = await self.call_json("SetRules", "s", [rules_toml], interactive=True)
        return result

    async def set_settings(self, changes: JsonDict) -> JsonDict:
        result: JsonDict = await self.call_json(
            "SetSettings", "s", [json.dumps(changes)], interactive=True
        )
        return result

    async def set_mode(self, mode: str) -> JsonDict:
        result: JsonDict = await self.call_json("SetMode", "s", [mode], interactive=True)
        return result

    async def report_focus(self, pid: int, user_idle_s: float = 0.0) -> JsonDict:
        result: JsonDict = await self.call_json("ReportFocus", "ud", [pid, user_idle_s])
        return result

    async def helper_running(self) -> bool:
        (owned,) = await self._call(*_DBUS, "NameHasOwner", "s", [api.BUS_NAME])
        return bool(owned)

    async def watch(
        self,
        signals: Mapping[str, Callable[[JsonDict], None]],
        on_owner_changed: Callable[[bool], None],
    ) -> None:
        """Deliver the helper's signals (by member name: ``Sample``, ``StatusChanged``...,
        their JSON decoded) and its arrival (True) or departure (False) on the bus."""
        rules = [
            f"type='signal',interface='{api.INTERFACE}',member='{member}',path='{api.OBJECT_PATH}'"
            for member in signals
        ]
        rules.append(
            "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
            f"member='NameOwnerChanged',arg0='{api.BUS_NAME}'"
        )

        def handle(msg: Message) -> bool:
            if msg.message_type != MessageType.SIGNAL:
                return False
            callback = signals.get(msg.member or "") if msg.interface == api.INTERFACE else None
            if callback is not None and msg.signature == "s":
                try:
                    document = json.loads(msg.body[0])
                except ValueError:
                    return False  # a malformed signal is dropped, not fatal
                callback(document)
            elif msg.member == "NameOwnerChanged" and msg.body and msg.body[0] == api.BUS_NAME:
                on_owner_changed(bool(msg.body[2]))
            return False  # let other handlers see it too

        self.connection.add_message_handler(handle)
        for rule in rules:
            await self._call(*_DBUS, "AddMatch", "s", [rule])

    async def _call(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        body: list[Any] | None = None,
        interactive: bool = False,
    ) -> list[Any]:
        message = Message(
            destination=destination,
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=body or [],
            flags=MessageFlag.ALLOW_INTERACTIVE_AUTHORIZATION if interactive else MessageFlag.NONE,
        )
        timeout = INTERACTIVE_TIMEOUT_S if interactive else CALL_TIMEOUT_S
        try:
            reply = await asyncio.wait_for(self.connection.call(message), timeout)
        except TimeoutError:
            raise Unavailable(
                f"the helper did not answer {member} within {timeout:.0f} s"
            ) from None
        except (OSError, EOFError) as exc:
            raise Unavailable(f"lost the connection to {self._where}: {exc}") from None
        if reply is None:
            raise Unavailable(f"lost the connection to {self._where}")
        if reply.message_type == MessageType.ERROR:
            raise self._error(reply)
        return list(reply.body)

    def _error(self, reply: Message) -> SmoothTaskError:
        name = reply.error_name or ""
        text = str(reply.body[0]) if reply.body else name
        if name.startswith(api.ERROR_PREFIX):
            return error_for_name(name, text)
        if name in _NOT_RUNNING:
            return Unavailable(f"the SmoothTask helper is not running on {self._where}")
        return Unavailable(f"{self._where} refused the call: {text} ({name})")
