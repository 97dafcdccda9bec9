"""Errors that may cross the bus. Each carries its ``org.smoothtask.Error.*`` name.

The service raises these; the client maps a D-Bus error name back to the class
through ``error_for_name`` (a registry, never by parsing message text).
"""

import reprlib
from typing import ClassVar

from smoothtask_helper.api import ERROR_PREFIX


class SmoothTaskError(Exception):
    """Base of every error the helper reports to a caller."""

    dbus_name: ClassVar[str] = ERROR_PREFIX + "Internal"


class NotAuthorized(SmoothTaskError):
    dbus_name = ERROR_PREFIX + "NotAuthorized"


class InvalidArgument(SmoothTaskError):
    dbus_name = ERROR_PREFIX + "InvalidArgument"


class NoSuchProcess(SmoothTaskError):
    dbus_name = ERROR_PREFIX + "NoSuchProcess"


class Unavailable(SmoothTaskError):
    """The helper (or a part of it) cannot be reached or cannot do this now."""

    dbus_name = ERROR_PREFIX + "Unavailable"


class RateLimited(SmoothTaskError):
    """The caller made too many state-changing calls; try again shortly."""

    dbus_name = ERROR_PREFIX + "RateLimited"


class Internal(SmoothTaskError):
    """Something failed inside the helper; details stay in the helper's log."""

    dbus_name = ERROR_PREFIX + "Internal"


_BY_NAME: dict[str, type[SmoothTaskError]] = {
    cls.dbus_name: cls
    for cls in (NotAuthorized, InvalidArgument, NoSuchProcess, Unavailable, RateLimited, Internal)
}


def error_for_name(name: str, message: str) -> SmoothTaskError:
    """The error a D-Bus error reply stands for; unknown names become ``Internal``."""
    return _BY_NAME.get(name, Internal)(message)


_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxstring, _SHOWN.maxother = 2, 60, 60
_SHOWN.maxlist = _SHOWN.maxdict = _SHOWN.maxtuple = 4


def shown(value: object) -> str:
    """A short, safe rendering of a caller's value for an error message (bounded size and
    depth: a deeply nested document must not make the message itself fail)."""
    return _SHOWN.repr(value)
