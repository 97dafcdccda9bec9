"""Who is calling, and may they: the bus tells the uid, polkit decides.

Every state-changing call is checked with polkit's ``CheckAuthorization``, the subject
being the caller's unique bus name (polkit then asks the bus for its uid and process, so
the answer cannot be spoofed by the caller). Interactive authentication is allowed when
the caller's message allows it (``ALLOW_INTERACTIVE_AUTHORIZATION``), as smoothtaskctl
and the tray app do.

polkitd unreachable (or failing): only uid 0 may change anything; others get
``Unavailable`` saying so.
"""

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from smoothtask_helper.errors import Internal, NotAuthorized, Unavailable

log = logging.getLogger(__name__)

_DBUS = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
_POLKIT = (
    "org.freedesktop.PolicyKit1",
    "/org/freedesktop/PolicyKit1/Authority",
    "org.freedesktop.PolicyKit1.Authority",
)
CHECK_ALLOW_USER_INTERACTION = 1
CHECK_TIMEOUT_S = 10.0
INTERACTIVE_TIMEOUT_S = 120.0  # a person typing a password
MAX_CACHED_CALLERS = 4096


class _CallFailed(Exception):
    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}")
        self.name = name


class Authority:
    def __init__(self, bus: MessageBus) -> None:
        self._bus = bus
        # unique names are never reused on a bus, so their uid never changes
        self._uids: OrderedDict[str, int] = OrderedDict()

    async def _call(
        self,
        target: tuple[str, str, str],
        member: str,
        signature: str,
        body: list[Any],
        timeout: float,
    ) -> list[Any]:
        destination, path, interface = target
        message = Message(
            destination=destination,
            path=path,
            interface=interface,
            member=member,
            signature=signature,
            body=body,
        )
        try:
            reply = await asyncio.wait_for(self._bus.call(message), timeout)
        except TimeoutError:
            raise _CallFailed("timeout", f"no answer within {timeout:g} s") from None
        except (OSError, EOFError) as exc:
            raise _CallFailed("disconnected", str(exc)) from None
        if reply is None:
            raise _CallFailed("disconnected", "no reply")
        if reply.message_type == MessageType.ERROR:
            text = str(reply.body[0]) if reply.body else ""
            raise _CallFailed(reply.error_name or "unknown", text)
        return list(reply.body)

    async def caller_uid(self, sender: str) -> int:
        uid = self._uids.get(sender)
        if uid is not None:
            return uid
        try:
            (uid,) = await self._call(
                _DBUS, "GetConnectionUnixUser", "s", [sender], CHECK_TIMEOUT_S
            )
        except _CallFailed as exc:
            log.warning("cannot tell the uid of %s: %s", sender, exc)
            raise Internal("the bus did not say who the caller is") from None
        self._uids[sender] = int(uid)
        while len(self._uids) > MAX_CACHED_CALLERS:
            self._uids.popitem(last=False)
        return int(uid)

    async def check(self, sender: str, uid: int, action: str, interactive: bool) -> None:
        """Return if polkit authorizes ``sender`` for ``action``; raise otherwise."""
        subject = ["system-bus-name", {"name": Variant("s", sender)}]
        flags = CHECK_ALLOW_USER_INTERACTION if interactive else 0
        timeout = INTERACTIVE_TIMEOUT_S if interactive else CHECK_TIMEOUT_S
        try:
            ((authorized, challenge, _details),) = await self._call(
                _POLKIT,
                "CheckAuthorization",
                "(sa{sv})sa{ss}us",
                [subject, action, {}, flags, ""],
                timeout,
            )
        except _CallFailed as exc:
            if uid == 0:
                log.warning("polkit unreachable (%s); allowing root for %s", exc, action)
                return
            log.warning("polkit unreachable (%s); refusing uid %d for %s", exc, uid, action)
            raise Unavailable(
                f"polkit is not reachable, so only root may do this now ({action})"
            ) from None
        if authorized:
            return
        if challenge:
            raise NotAuthorized(
                f"not authorized for {action}: authentication is required and no polkit "
                "agent answered"
            )
        raise NotAuthorized(f"not authorized for {action}")
