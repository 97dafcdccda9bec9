import asyncio

import pytest

from smoothtask_helper import bus
from smoothtask_helper.errors import InvalidArgument, Unavailable


@pytest.mark.parametrize("choice", ["foo", "", "unix:path", "unix:path=/x,guid"])
def test_malformed_choices_are_refused(choice: str) -> None:
    with pytest.raises(InvalidArgument):
        bus.validate(choice)


@pytest.mark.parametrize("choice", ["system", "unix:path=/nonexistent/bus"])
def test_well_formed_choices_pass(choice: str) -> None:
    bus.validate(choice)


def test_connecting_to_nothing_says_so() -> None:
    with pytest.raises(Unavailable, match="no bus is listening there"):
        asyncio.run(bus.connect("unix:path=/nonexistent/bus"))
