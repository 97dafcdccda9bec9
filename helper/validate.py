"""Validators for D-Bus arguments: root code trusts nothing that comes from the bus.

Each returns the checked value (a pid becomes a ``Target``: the process as it is now)
or raises a named error. Cheap and side-effect free: they run before the rate limit and
polkit, and before anything is parsed or changed.
"""

import math
from dataclasses import dataclass
from typing import Annotated, Any, Final

from dbus_fast.annotations import DBusSignature

from smoothtask_helper import procinfo
from smoothtask_helper.api import CLASSES, MODES
from smoothtask_helper.collectors.procfs import PF_KTHREAD
from smoothtask_helper.errors import InvalidArgument, NoSuchProcess
from smoothtask_helper.priority import check_class

PID_LIMIT: Final = 4_194_304  # the kernel's largest pid_max
MAX_NAME_CHARS: Final = 64
MAX_SECONDS: Final = 86_400
MAX_IDLE_S: Final = 10.0**7


@dataclass(frozen=True, slots=True)
class Target:
    """A process named in a call, read from /proc when the call arrived."""

    identity: procinfo.Identity
    comm: str
    uid: int  # real
    euid: int

    @property
    def pid(self) -> int:
        return self.identity.pid

    def owned_by(self, uid: int) -> bool:
        return self.uid == uid and self.euid == uid


# Annotated so that mypy sees the validated type and dbus-fast the wire type.
PidArg = Annotated[Target, DBusSignature("u")]
FocusArg = Annotated[Target | None, DBusSignature("u")]
ClassArg = Annotated[str, DBusSignature("s")]
ModeArg = Annotated[str, DBusSignature("s")]
DocumentArg = Annotated[str, DBusSignature("s")]
SecondsArg = Annotated[int, DBusSignature("u")]
AlertIdArg = Annotated[int, DBusSignature("u")]
IdleArg = Annotated[float, DBusSignature("d")]


def _uids(pid: int) -> tuple[int, int] | None:
    try:
        with open(f"{procinfo.PROC}/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"Uid:"):
                    fields = line.split()
                    return int(fields[1]), int(fields[2])
    except (OSError, ValueError, IndexError):
        return None
    return None


def pid_arg(value: Any) -> Target:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument("a pid must be an unsigned integer")
    if not 1 <= value <= PID_LIMIT:
        raise InvalidArgument(f"pid {value} is out of range (1..{PID_LIMIT})")
    if value == 1:
        raise InvalidArgument("PID 1 is never changed")
    stat = procinfo.read_stat(value)
    uids = _uids(value)
    if stat is None or uids is None:
        raise NoSuchProcess(f"no process with pid {value}")
    start_ticks, flags, comm = stat
    if flags & PF_KTHREAD or value == 2:
        raise InvalidArgument(f"pid {value} is a kernel thread: kernel threads are never changed")
    return Target(procinfo.Identity(value, start_ticks), comm, uids[0], uids[1])


def focus_pid_arg(value: Any) -> Target | None:
    """A pid to focus, or 0: nothing has the focus."""
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        return None
    return pid_arg(value)


def class_arg(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_NAME_CHARS:
        raise InvalidArgument(f"a class is one of {', '.join(CLASSES)}")
    return check_class(value)


def mode_arg(value: Any) -> str:
    if not isinstance(value, str) or value not in MODES:
        shown = repr(value)[:40] if isinstance(value, str) else "that"
        raise InvalidArgument(f"unknown mode {shown}: use one of {', '.join(MODES)}")
    return value


def document_arg(limit: int) -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise InvalidArgument("a document must be a string")
        if len(value) > limit:  # characters >= bytes / 4: a cheap first cut
            raise InvalidArgument(f"the document is larger than {limit // 1024} KiB")
        if len(value.encode("utf-8", "surrogatepass")) > limit:
            raise InvalidArgument(f"the document is larger than {limit // 1024} KiB")
        return value

    return check


def seconds_arg(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SECONDS:
        raise InvalidArgument(f"seconds must be between 1 and {MAX_SECONDS}")
    return value


def alert_id_arg(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise InvalidArgument("an alert id is an unsigned integer (0: all)")
    return value


def idle_arg(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgument("the user's idle time must be a number of seconds")
    if not math.isfinite(value) or not 0 <= value <= MAX_IDLE_S:
        raise InvalidArgument(f"the user's idle time must be between 0 and {MAX_IDLE_S:g} s")
    return float(value)
