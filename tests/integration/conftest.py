"""Fixtures for tests against a helper that manages priorities (of the test user only)."""

import pwd
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require, require_user
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.polkit import POLKITD, Polkitd


def managing_settings(*uids: int, extra: str = "") -> str:
    """Active, but only for these users' processes: nothing else on this machine changes."""
    return f'[general]\nmode = "active"\n[policy]\nmanage_uids = {list(uids)}\n{extra}'


@pytest.fixture(scope="session")
def tester() -> pwd.struct_passwd:
    return require_user("tester")


@pytest.fixture(scope="session")
def tester2() -> pwd.struct_passwd:
    return require_user("tester2")


@pytest.fixture(scope="module")
def polkit_bus() -> Iterator[PrivateBus]:
    """A bus with a real polkitd on it (shipped actions, the test's rules)."""
    require(POLKITD.exists(), f"needs polkitd at {POLKITD}")
    bus = PrivateBus().start()
    polkitd = Polkitd(bus.address).start()
    yield bus
    polkitd.stop()
    bus.stop()


@pytest.fixture
def managing_helper(
    polkit_bus: PrivateBus, tmp_path: Path, tester: pwd.struct_passwd
) -> Iterator[HelperProcess]:
    """Manages tester's processes; polkit lets tester report focus and configure."""
    process = HelperProcess(
        polkit_bus.address, tmp_path / "helper.log", settings=managing_settings(tester.pw_uid)
    ).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def secured_helper(
    polkit_bus: PrivateBus,
    tmp_path_factory: pytest.TempPathFactory,
    tester: pwd.struct_passwd,
    tester2: pwd.struct_passwd,
) -> Iterator[HelperProcess]:
    log = tmp_path_factory.mktemp("secured") / "helper.log"
    process = HelperProcess(
        polkit_bus.address, log, settings=managing_settings(tester.pw_uid, tester2.pw_uid)
    ).start()
    yield process
    assert process.stop() == 0, process.log()
