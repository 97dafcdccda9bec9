"""The ``--bus`` choice shared by the helper, the tray app and smoothtaskctl.

``system`` (default; honours DBUS_SYSTEM_BUS_ADDRESS), ``session``, or a D-Bus address
such as ``unix:path=/tmp/x/bus``.
"""

import asyncio
import errno
import logging
import socket
from typing import Any

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusFastError

from smoothtask_helper.errors import InvalidArgument, Unavailable

log = logging.getLogger(__name__)

DEFAULT_BUS = "system"
CONNECT_TIMEOUT_S = 5.0


class _WaitWhenFull:
    """The bus socket, but a send that would block sends nothing instead of raising.

    dbus-fast's writer (5.2, like dbus-next: altdesktop/python-dbus-next#153) tries to
    send a new message at once while an earlier one is still half written, and takes the
    resulting EAGAIN for a broken connection: two large replies at the same moment (any
    local user calling GetSnapshot twice) would disconnect the helper. With 0 bytes sent
    the writer keeps the message and waits until the socket is writable, as it does after
    any partial send. tests/integration/test_service.py reproduces the failure."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def send(self, data: Any) -> int:
        try:
            return self._sock.send(data)
        except BlockingIOError:
            return 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def harden_writes(connection: MessageBus) -> None:
    writer = getattr(connection, "_writer", None)
    if writer is None or not isinstance(getattr(writer, "sock", None), socket.socket):
        log.warning("dbus-fast's writer has changed; cannot guard its sends (see bus.py)")
        return
    writer.sock = _WaitWhenFull(writer.sock)


def describe(choice: str) -> str:
    return f"the {choice} bus" if choice in ("system", "session") else f"the bus at {choice}"


def make_bus(choice: str) -> MessageBus:
    """A not yet connected bus for the choice; a malformed address is ``InvalidArgument``."""
    if choice in ("system", "session"):
        bus_type = BusType.SYSTEM if choice == "system" else BusType.SESSION
        try:
            return MessageBus(bus_type=bus_type)
        except (DBusFastError, ValueError) as exc:  # e.g. no DBUS_SESSION_BUS_ADDRESS
            raise Unavailable(f"cannot find {describe(choice)}: {exc}") from None
    if ":" not in choice:
        raise InvalidArgument(
            f"invalid --bus {choice!r}: use 'system', 'session' or a D-Bus address "
            "such as unix:path=/run/x/bus"
        )
    try:
        return MessageBus(bus_address=choice)
    except (DBusFastError, ValueError) as exc:
        raise InvalidArgument(f"invalid --bus address {choice!r}: {exc}") from None


def validate(choice: str) -> None:
    """Refuse a malformed choice now (``InvalidArgument``), without connecting."""

    async def construct() -> None:
        make_bus(choice)  # dbus-fast's bus wants a running loop even to parse an address

    asyncio.run(construct())


async def connect(choice: str, timeout: float = CONNECT_TIMEOUT_S) -> MessageBus:
    """Connect, turning every way of failing into a one-line ``SmoothTaskError``."""
    bus = make_bus(choice)
    try:
        connected = await asyncio.wait_for(bus.connect(), timeout)
        harden_writes(connected)
        return connected
    except TimeoutError:
        raise Unavailable(f"cannot connect to {describe(choice)}: timed out") from None
    except (OSError, DBusFastError, ValueError) as exc:
        raise Unavailable(f"cannot connect to {describe(choice)}: {_reason(exc)}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOENT, errno.ECONNREFUSED):
        return "no bus is listening there"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
