"""The D-Bus face of the helper: thin, validating, and never leaking internals.

Every method is declared with ``access.method``: its access (open to all, or the polkit
action it needs) and a validator per argument. Errors become named D-Bus errors; an
unexpected exception is logged here and the caller gets only
``org.smoothtask.Error.Internal``. Documents are JSON strings whose keys are the public
contract (shared/API.md, docs/dbus-api.md).
"""

import json
import logging
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any, Protocol
from xml.etree import ElementTree

from dbus_fast import DBusError, Message, MessageFlag, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusStr
from dbus_fast.service import ServiceInterface, dbus_signal

from smoothtask_helper import api
from smoothtask_helper.access import Access, calling_message, checked, method, remember_call
from smoothtask_helper.authority import Authority
from smoothtask_helper.control import Control
from smoothtask_helper.errors import (
    Internal,
    InvalidArgument,
    NotAuthorized,
    RateLimited,
    SmoothTaskError,
    Unavailable,
)
from smoothtask_helper.model import JsonDict, Snapshot
from smoothtask_helper.rules import MAX_DOCUMENT_BYTES as MAX_RULES_BYTES
from smoothtask_helper.settings import MAX_DOCUMENT_BYTES as MAX_SETTINGS_BYTES
from smoothtask_helper.validate import (
    AlertIdArg,
    ClassArg,
    DocumentArg,
    FocusArg,
    IdleArg,
    ModeArg,
    PidArg,
    SecondsArg,
    Target,
    alert_id_arg,
    class_arg,
    document_arg,
    focus_pid_arg,
    idle_arg,
    mode_arg,
    pid_arg,
    seconds_arg,
)

log = logging.getLogger(__name__)

_DOCTYPE = (
    '<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"\n'
    ' "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">\n'
)


class HelperState(Protocol):
    """What the service needs from the running helper."""

    def status(self) -> JsonDict: ...

    def latest(self) -> Snapshot: ...


def to_json(document: object) -> str:
    return json.dumps(document, separators=(",", ":"), allow_nan=False)


@checked
class HelperInterface(ServiceInterface):
    def __init__(self, state: HelperState, control: Control | None = None) -> None:
        super().__init__(api.INTERFACE)
        self._state = state
        self._control = control
        self._authority: Authority | None = None
        self._cached: tuple[Snapshot, str, str] | None = None  # snapshot, its JSON, processes
        if control is not None:
            control.signals = self

    def attach(self, bus: MessageBus) -> None:
        """Serve on ``bus``: learn callers from it, check them with its polkit."""
        self._authority = Authority(bus)
        bus.add_message_handler(remember_call)
        bus.add_message_handler(signature_guard(self))

    def _need_control(self) -> Control:
        if self._control is None:
            raise Unavailable("the policy engine is not running")
        return self._control

    # -- the gate every method passes (access.method) ----------------------------------------

    async def admit(self, access: Access, member: str, args: Sequence[Any]) -> None:
        if access is Access.READ:
            return
        control = self._need_control()
        if self._authority is None:
            raise Unavailable("the helper is not on a bus")
        message = calling_message()
        sender = message.sender
        if not sender:
            raise NotAuthorized("the call has no sender")
        uid = await self._authority.caller_uid(sender)
        target = next((a for a in args if isinstance(a, Target)), None)
        if access is Access.FOCUS and target is not None and not target.owned_by(uid):
            raise NotAuthorized(
                f"pid {target.pid} is not yours: focus is reported only for your own processes"
            )
        if not control.limiter.allow(uid):
            wait = control.limiter.retry_after(uid)
            raise RateLimited(f"too many changes at once; try again in {wait:.1f} s")
        interactive = bool(message.flags & MessageFlag.ALLOW_INTERACTIVE_AUTHORIZATION)
        if access is Access.CONFIGURE:
            action = api.ACTION_CONFIGURE
        elif access is Access.FOCUS:
            action, interactive = api.ACTION_SET_PRIORITY, False  # sent by the tray, unasked
        elif target is None:
            raise Internal(f"{member} names no process")
        elif target.owned_by(uid):
            action = api.ACTION_SET_PRIORITY
        else:
            action = api.ACTION_SET_PRIORITY_ANY
        await self._authority.check(sender, uid, action, interactive)
        log.info("uid %d (%s) authorized for %s by %s", uid, sender, member, action)

    def fail(self, member: str, exc: BaseException) -> Exception:
        if isinstance(exc, SmoothTaskError):
            return DBusError(exc.dbus_name, str(exc))
        log.error("D-Bus method %s failed", member, exc_info=exc)
        return DBusError(Internal.dbus_name, "internal error in the helper; details are in its log")

    # -- reading: open to every local user -----------------------------------------------------

    def _documents(self) -> tuple[str, str]:
        snapshot = self._state.latest()
        if self._cached is None or self._cached[0] is not snapshot:
            document = snapshot.to_json()
            self._cached = (snapshot, to_json(document), to_json(document["processes"]))
        return self._cached[1], self._cached[2]

    @method(Access.READ)
    async def GetStatus(self) -> DBusStr:
        """Version, mode, probes, levers and the helper's own health, as JSON."""
        return to_json(self._state.status())

    @method(Access.READ)
    async def GetSnapshot(self) -> DBusStr:
        """The latest sample with every process, as JSON."""
        return self._documents()[0]

    @method(Access.READ)
    async def ListProcesses(self) -> DBusStr:
        """The process list of the latest sample, as a JSON array."""
        return self._documents()[1]

    @method(Access.READ, seconds_arg)
    async def GetHistory(self, seconds: SecondsArg) -> DBusStr:
        """The summaries (Sample signals) of the last ``seconds``, oldest first (JSON array)."""
        history: str = self._need_control().history_json(seconds)
        return history

    @method(Access.READ)
    async def GetRules(self) -> DBusStr:
        return to_json(self._need_control().rules_document())

    @method(Access.READ)
    async def GetSettings(self) -> DBusStr:
        return to_json(self._need_control().settings_document())

    @method(Access.READ, alert_id_arg)
    async def GetAlerts(self, since_id: AlertIdArg) -> DBusStr:
        """Alerts with an id above ``since_id`` (0: the whole log)."""
        return to_json(self._need_control().alerts_document(since_id))

    @method(Access.READ, document_arg(MAX_RULES_BYTES))
    async def TestRules(self, rules_toml: DocumentArg) -> DBusStr:
        """Which running processes these rules (TOML) would match; validated, not applied."""
        return to_json(self._need_control().test_rules(rules_toml, self._state.latest().processes))

    # -- changing: polkit-checked --------------------------------------------------------------

    @method(Access.PROCESS, pid_arg, class_arg)
    async def SetProcessClass(self, pid: PidArg, process_class: ClassArg) -> DBusStr:
        return to_json(self._need_control().set_class(pid, process_class))

    @method(Access.PROCESS, pid_arg)
    async def ResetProcessClass(self, pid: PidArg) -> DBusStr:
        return to_json(self._need_control().set_class(pid, None))

    @method(Access.CONFIGURE, document_arg(MAX_RULES_BYTES))
    async def SetRules(self, rules_toml: DocumentArg) -> DBusStr:
        return to_json(self._need_control().set_rules(rules_toml))

    @method(Access.CONFIGURE, document_arg(MAX_SETTINGS_BYTES))
    async def SetSettings(self, settings_json: DocumentArg) -> DBusStr:
        return to_json(self._need_control().set_settings(settings_json))

    @method(Access.CONFIGURE, mode_arg)
    async def SetMode(self, mode: ModeArg) -> DBusStr:
        return to_json(self._need_control().set_mode(mode))

    @method(Access.FOCUS, focus_pid_arg, idle_arg)
    async def ReportFocus(self, pid: FocusArg, user_idle_s: IdleArg) -> DBusStr:
        """The focused window's process (0: none) and how long the user has been idle."""
        return to_json(self._need_control().report_focus(pid, user_idle_s))

    # -- signals -------------------------------------------------------------------------------

    @dbus_signal()
    def Sample(self, summary: str) -> DBusStr:
        """Each tick: the sample without its process list (JSON)."""
        return summary

    @dbus_signal()
    def StatusChanged(self, status: str) -> DBusStr:
        """The status document, whenever mode, settings, rules or availability change."""
        return status

    @dbus_signal()
    def ProcessClassChanged(self, changes: str) -> DBusStr:
        """Processes whose class changed at one tick or by a call (JSON)."""
        return changes

    @dbus_signal()
    def Alert(self, alert: str) -> DBusStr:
        """One new alert (JSON, as in GetAlerts)."""
        return alert

    # -- Signals (control.py) ---------------------------------------------------------------

    def class_changes(self, document: JsonDict) -> None:
        self.ProcessClassChanged(to_json(document))

    def alert(self, document: JsonDict) -> None:
        self.Alert(to_json(document))

    def status_changed(self) -> None:
        self.StatusChanged(to_json(self._state.status()))


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
                    f"{msg.member} takes arguments of type ({wanted}), not ({msg.signature[:40]})",
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
