"""End to end: the tray app follows the focused X window and reports it; the helper's
status then names that window's process (GetStatus policy.focus)."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.gui.test_focus import WINDOW, activate
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.desktop import Desktop
from tests.support.procs import end
from tests.support.waiting import wait_for


@pytest.fixture
def window(on_desktop: Desktop) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    title = f"st-focus-e2e-{os.getpid()}"
    env = {**os.environ, **on_desktop.env, "QT_QPA_PLATFORM": "xcb"}
    proc = subprocess.Popen([sys.executable, "-c", WINDOW, title], env=env)
    yield title, proc
    end(proc)


def test_the_focused_window_reaches_the_helper(
    on_desktop: Desktop,
    own_bus: PrivateBus,
    tmp_path: Path,
    window: tuple[str, subprocess.Popen[bytes]],
) -> None:
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log").start()  # dry run
    app = subprocess.Popen(
        [sys.executable, "-m", "smoothtask_gui", "--bus", own_bus.address],
        env={**os.environ, **on_desktop.env, "QT_QPA_PLATFORM": "xcb"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        title, proc = window
        activate(on_desktop, title)

        def focused_pid() -> int | None:
            focus = helper.status()["policy"]["focus"]
            return None if focus is None or focus["pid"] != proc.pid else proc.pid

        assert wait_for(focused_pid, 30, "the helper to hear of the focused window") == proc.pid
        assert helper.status()["policy"]["focus"]["comm"] == psutil.Process(proc.pid).name()
    finally:
        end(app)
        helper.stop()
