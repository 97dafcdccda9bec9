import pytest

from smoothtask_helper import api
from smoothtask_helper.errors import (
    Internal,
    InvalidArgument,
    NoSuchProcess,
    NotAuthorized,
    RateLimited,
    SmoothTaskError,
    Unavailable,
    error_for_name,
)


@pytest.mark.parametrize(
    ("cls", "suffix"),
    [
        (NotAuthorized, "NotAuthorized"),
        (InvalidArgument, "InvalidArgument"),
        (NoSuchProcess, "NoSuchProcess"),
        (Unavailable, "Unavailable"),
        (RateLimited, "RateLimited"),
        (Internal, "Internal"),
    ],
)
def test_names_round_trip(cls: type[SmoothTaskError], suffix: str) -> None:
    assert cls.dbus_name == api.ERROR_PREFIX + suffix
    error = error_for_name(cls.dbus_name, "message")
    assert type(error) is cls
    assert str(error) == "message"


def test_unknown_name_is_internal() -> None:
    assert type(error_for_name("org.smoothtask.Error.Bogus", "x")) is Internal
