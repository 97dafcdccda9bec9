"""The tray app as people start it: ``python -m smoothtask_gui``, here on the virtual desktop."""

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.bus import HelperProcess
from tests.support.desktop import Desktop
from tests.support.waiting import wait_for

POOLED = "Thread (pooled)"  # how Qt names a QThreadPool's threads


def thread_names(pid: int) -> list[str]:
    return [(task / "comm").read_text().strip() for task in Path(f"/proc/{pid}/task").iterdir()]


def test_the_dashboard_paints_without_qts_gui_thread_pool(
    on_desktop: Desktop, helper: HelperProcess
) -> None:
    """Qt's raster painter would hand parts of its fills to a thread pool and wait for them:
    thousands of thread wake-ups a second for small plots (bench/gui_cpu.py)."""
    app = subprocess.Popen(
        [sys.executable, "-m", "smoothtask_gui", "--bus", helper.address, "--dashboard"],
        env={**os.environ, **on_desktop.env, "QT_QPA_PLATFORM": "xcb"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def shown() -> bool:
            found = on_desktop.run("xdotool", "search", "--onlyvisible", "--pid", str(app.pid))
            return bool(found.stdout.split())

        wait_for(shown, 60, "the dashboard on the screen")
        # the pool's threads start with the first large fill; a few samples' redraws bring
        # it if it is there (an absence can only be watched for a while)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            assert POOLED not in thread_names(app.pid)
            time.sleep(0.2)
        assert app.poll() is None
    finally:
        app.terminate()
        app.wait(15)
