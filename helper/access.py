"""Every D-Bus method declares who may call it; nothing is exported without that.

``@method(access, *validators)`` replaces dbus-fast's ``@dbus_method()``. It
1. validates each argument with its validator (one per argument, checked when the
   class is built: types, ranges, sizes; a pid becomes a ``Target``),
2. admits the caller for the declared ``Access`` (rate limit, then polkit: see the
   interface's ``admit``),
3. runs the method, turning any error into a named D-Bus error with no traceback.

``checked(cls)`` refuses, at import, an interface with a D-Bus method that did not come
through ``@method``; a test compares the declared accesses with the shipped polkit
policy. This is firewalld's rule: a new method cannot be added without its action.
"""

import contextvars
import enum
import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Protocol, TypeVar

from dbus_fast import Message, MessageType
from dbus_fast.service import ServiceInterface, dbus_method

from smoothtask_helper import api
from smoothtask_helper.errors import Internal

ACCESS_ATTRIBUTE: Final = "__smoothtask_access__"


class Access(enum.Enum):
    READ = "read"  # open to every local user
    CONFIGURE = "configure"  # rules, settings, mode: org.smoothtask.configure
    PROCESS = "process"  # set-priority for the caller's own process, set-priority-any else
    FOCUS = "focus"  # the caller's own process only; set-priority, never interactive

    @property
    def actions(self) -> tuple[str, ...]:
        return _ACTIONS[self]


_ACTIONS: Final = {
    Access.READ: (),
    Access.CONFIGURE: (api.ACTION_CONFIGURE,),
    Access.PROCESS: (api.ACTION_SET_PRIORITY, api.ACTION_SET_PRIORITY_ANY),
    Access.FOCUS: (api.ACTION_SET_PRIORITY,),
}

# The method call being served (set by ``remember_call``, a bus message handler: dbus-fast
# does not hand the message to the method; the task that runs it copies this context).
current_call: contextvars.ContextVar[Message] = contextvars.ContextVar("current_call")


def remember_call(msg: Message) -> None:
    if msg.message_type is MessageType.METHOD_CALL:
        current_call.set(msg)


def calling_message() -> Message:
    try:
        return current_call.get()
    except LookupError:
        raise Internal("no method call in progress") from None


class Gate(Protocol):
    async def admit(self, access: Access, member: str, args: Sequence[Any]) -> None: ...

    def fail(self, member: str, exc: BaseException) -> Exception: ...


G = TypeVar("G", bound=Gate)
Validator = Callable[[Any], Any]


def method(
    access: Access, *validators: Validator
) -> Callable[[Callable[..., Awaitable[Any]]], Callable[..., None]]:
    def decorate(fn: Callable[..., Awaitable[Any]]) -> Callable[..., None]:
        params = list(inspect.signature(fn).parameters)[1:]  # without self
        if len(params) != len(validators):
            raise TypeError(
                f"{fn.__name__}: {len(params)} arguments but {len(validators)} validators"
            )

        @functools.wraps(fn)
        async def wrapper(self: Gate, *args: Any) -> Any:
            try:
                checked_args = [check(arg) for check, arg in zip(validators, args, strict=True)]
                await self.admit(access, fn.__name__, checked_args)
                return await fn(self, *checked_args)
            except Exception as exc:  # noqa: BLE001  # mapped to a named error, logged there
                raise self.fail(fn.__name__, exc) from None

        setattr(wrapper, ACCESS_ATTRIBUTE, access)
        exported = dbus_method()(wrapper)
        setattr(exported, ACCESS_ATTRIBUTE, access)
        return exported

    return decorate


def declared_access(interface: type[ServiceInterface]) -> dict[str, Access | None]:
    """D-Bus method name -> its declared access (None: it bypassed ``@method``)."""
    out: dict[str, Access | None] = {}
    for _name, member in inspect.getmembers(interface):
        exported = getattr(member, "__dict__", {}).get("__DBUS_METHOD")
        if exported is not None:
            out[exported.name] = getattr(member, ACCESS_ATTRIBUTE, None)
    return out


C = TypeVar("C", bound=type[ServiceInterface])


def checked(cls: C) -> C:
    """Class decorator: every exported method must have declared its access."""
    missing = sorted(name for name, access in declared_access(cls).items() if access is None)
    if missing:
        raise TypeError(
            f"{cls.__name__}: D-Bus methods without a declared access: {', '.join(missing)}"
        )
    return cls
