"""Shared fixtures: a private real dbus-daemon and the real helper on it.

In CI (SMOOTHTASK_CI=1, set by .ci/run) a test that would skip for want of root, a test
user or the virtual desktop fails instead: those tests must run there.
"""

import os
import pwd
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothtask_helper import procinfo
from tests.support.bus import HelperProcess, PrivateBus

IN_CI = os.environ.get("SMOOTHTASK_CI") == "1"


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` unless ``condition``; in CI, fail instead of skipping."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"cannot run in CI: {reason}")
    pytest.skip(reason)


def require_root() -> None:
    require(os.geteuid() == 0, "needs root")


def require_user(name: str) -> pwd.struct_passwd:
    require_root()
    try:
        return pwd.getpwnam(name)
    except KeyError:
        require(False, f"needs the test user {name!r} (scripts/test-users.sh creates it)")
        raise  # unreachable: require() skipped or failed


@pytest.fixture(scope="session", autouse=True)
def _own_autogroup_restored() -> Iterator[None]:
    """Helpers under test must never touch the test run's own session (autogroup); should
    one do so anyway, the run's priority is put back (shared/ENVIRONMENT.md's warning)."""
    yield
    group = procinfo.read_autogroup(os.getpid())
    # None: the run is in the kernel's default group (no session of its own, as under some
    # CI runners); it has no nice of its own and writing one fails with EINVAL.
    if os.geteuid() == 0 and group is not None and group[1] != 0:
        Path("/proc/self/autogroup").write_text("0")


@pytest.fixture(scope="session")
def private_bus() -> Iterator[PrivateBus]:
    bus = PrivateBus().start()
    yield bus
    bus.stop()


@pytest.fixture(scope="session")
def helper(
    private_bus: PrivateBus, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HelperProcess]:
    """One helper for the session, sampling at 1 Hz (as shipped)."""
    log = tmp_path_factory.mktemp("helper") / "helper.log"
    process = HelperProcess(private_bus.address, log).start()
    yield process
    assert process.stop() == 0, f"helper did not stop cleanly:\n{process.log()}"


@pytest.fixture
def own_bus(tmp_path: Path) -> Iterator[PrivateBus]:
    """A bus for one test, for tests that stop or kill their helper."""
    bus = PrivateBus().start()
    yield bus
    bus.stop()
