"""The D-Bus face of the helper: thin, validating, and never leaking internals.

Every method goes through ``guarded``: a ``SmoothTaskError`` becomes its named D-Bus error,
anything else is logged here and the caller gets only ``org.smoothtask.Error.Internal``.
Documents are JSON strings whose keys are the public contract (shared/API.md,
docs/dbus-api.md).
"""

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Concatenate, ParamSpec, Protocol
from xml.etree import ElementTree

from dbus_fast import DBusError, Message, MessageType
from dbus_fast.annotations import DBusStr
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

from smoothtask_helper import api
from smoothtask_helper.errors import Internal, InvalidArgument, SmoothTaskError, Unavailable
from smoothtask_helper.model import JsonDict, Snapshot

log = logging.getLogger(__name__)

_P = ParamSpec("_P")

_DOCTYPE = (
    '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
    ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n'
)


class HelperState(Protocol):
    """What the service needs from the running helper."""

    def status(self) -> JsonDict: ...

    def latest(self) -> Snapshot: ...


def guarded(
    fn: Callable[Concatenate["HelperInterface", _P], Awaitable[str]],
) -> Callable[Concatenate["HelperInterface", _P], Awaitable[str]]:
    """Map errors to named D-Bus errors; nothing but a name and a message leaves."""

    @functools.wraps(fn)
    async def wrapper(self: "HelperInterface", *args: _P.args, **kwargs: _P.kwargs) -> str:
        try:
            return await fn(self, *args, **kwargs)
        except SmoothTaskError as exc:
            raise DBusError(exc.dbus_name, str(exc)) from None
        except Exception:
            log.exception("D-Bus method %s failed", fn.__name__)
            raise DBusError(
                Internal.dbus_name, "internal error in the helper; details are in its log"
            ) from None

    return wrapper  # type: ignore[return-value]  # functools.wraps hides the coroutine type


def to_json(document: object) -> str:
    return json.dumps(document, separators=(",", ":"), allow_nan=False)


class HelperInterface(ServiceInterface):
    def __init__(self, state: HelperState) -> None:
        super().__init__(api.INTERFACE)
        self._state = state

    @dbus_method()
    @guarded
    async def GetStatus(self) -> DBusStr:
        """Version, mode, probes and the helper's own health, as JSON."""
        return to_json(self._state.status())

    @dbus_method()
    @guarded
    async def GetSnapshot(self) -> DBusStr:
        """The latest sample with every process, as JSON."""
        return to_json(self._state.latest().to_json())

    @dbus_method()
    @guarded
    async def ListProcesses(self) -> DBusStr:
        """The process list of the latest sample, as a JSON array."""
        return to_json([p.to_json() for p in self._state.latest().processes])

    @dbus_signal()
    def Sample(self, summary: str) -> DBusStr:
        """Each tick: the sample without its process list (JSON)."""
        return summary

    @dbus_signal()
    def StatusChanged(self, status: str) -> DBusStr:
        """The status document, whenever mode or availability changes (JSON)."""
        return status


def introspection_xml(interface: ServiceInterface) -> str:
    """The interface's introspection document, as shipped (``make introspection`` writes it)."""
    node = ElementTree.Element("node", {"name": api.OBJECT_PATH})
    node.append(interface.introspect().to_xml())
    ElementTree.indent(node)
    return _DOCTYPE + ElementTree.tostring(node, encoding="unicode") + "\n"


def method_signatures(interface: ServiceInterface) -> dict[str, str]:
    """Member name -> input signature of every method the interface exports."""
    return {
        m.name: "".join(str(arg.signature) for arg in m.in_args)
        for m in interface.introspect().methods
    }


def signature_guard(interface: ServiceInterface) -> Callable[[Message], Message | None]:
    """A bus message handler that answers a known method called with the wrong arguments
    with ``InvalidArgument`` (dbus-fast alone would say UnknownMethod)."""
    expected = method_signatures(interface)

    def check(msg: Message) -> Message | None:
        if (
            msg.message_type is MessageType.METHOD_CALL
            and msg.path == api.OBJECT_PATH
            and msg.interface in (api.INTERFACE, None)
        ):
            wanted = expected.get(msg.member or "")
            if wanted is not None and msg.signature != wanted:
                return Message.new_error(
                    msg,
                    InvalidArgument.dbus_name,
                    f"{msg.member} takes arguments of type ({wanted}), not ({msg.signature})",
                )
        return None

    return check


def shipped_introspection() -> str:
    """The introspection XML shipped in the package (tests keep it equal to the live one)."""
    return resources.files("smoothtask_helper").joinpath(f"{api.INTERFACE}.xml").read_text()


if __name__ == "__main__":  # `make introspection` regenerates the shipped XML from the code

    class _NoState:
        """Introspection needs the interface, not a running helper."""

        def status(self) -> JsonDict:
            raise Unavailable("introspection only")

        def latest(self) -> Snapshot:
            raise Unavailable("introspection only")

    print(introspection_xml(HelperInterface(_NoState())), end="")
