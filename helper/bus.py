"""The ``--bus`` choice shared by the helper, the tray app and smoothtaskctl.

``system`` (default; honours DBUS_SYSTEM_BUS_ADDRESS), ``session``, or a D-Bus address
such as ``unix:path=/tmp/x/bus``.
"""

import asyncio
import errno

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusFastError

from smoothtask_helper.errors import InvalidArgument, Unavailable

DEFAULT_BUS = "system"
CONNECT_TIMEOUT_S = 5.0


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
        return await asyncio.wait_for(bus.connect(), timeout)
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
