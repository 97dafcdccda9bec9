"""End to end: the real helper's alerts reach a real notification server (dunst) through
the real tray app, and an action picked in the notification reaches the helper."""

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from smoothtask_helper.alerting.rules import KINDS
from tests.conftest import require, require_user
from tests.ebpf.conftest import require_ebpf
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.cgroups import (
    VICTIM_COMM,
    memory_cgroup_available,
    memory_limited_cgroup,
    oom_kill_a_victim,
)
from tests.support.desktop import Desktop
from tests.support.procs import BUSY_LOOP, end, spawn_as
from tests.support.waiting import wait_for


def only_alerts(*kinds: str) -> str:
    """Settings that leave only these alert kinds on: other alerts (a latency spike from
    another test's load, say) must not put a notification at position 0."""
    return "".join(
        f"[alerts.{kind}]\nenabled = {'true' if kind in kinds else 'false'}\n" for kind in KINDS
    )


@pytest.fixture
def app(on_desktop: Desktop, own_bus: PrivateBus) -> Iterator[subprocess.Popen[str]]:
    """The tray app on the test desktop, talking to the helper on ``own_bus``."""
    on_desktop.run("dunstctl", "close-all")
    proc = subprocess.Popen(
        [sys.executable, "-m", "smoothtask_gui", "--bus", own_bus.address],
        env={**os.environ, **on_desktop.env, "QT_QPA_PLATFORM": "xcb"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc
    end(proc)
    on_desktop.run("dunstctl", "close-all")


@pytest.fixture
def keep_active(on_desktop: Desktop) -> Iterator[None]:
    """A person at the desk: the mouse moves now and then (the app reports idle time)."""
    stop = threading.Event()

    def move() -> None:
        step = 1
        while not stop.wait(2.0):
            on_desktop.run("xdotool", "mousemove_relative", "--", str(step), "0")
            step = -step

    mover = threading.Thread(target=move)
    mover.start()
    yield
    stop.set()
    mover.join()


def displayed(desktop: Desktop) -> int:
    return int(desktop.run("dunstctl", "count", "displayed").stdout.strip() or 0)


def closed_notifications(desktop: Desktop) -> list[dict[str, Any]]:
    """Close what is shown; the server's history then has every notification."""
    desktop.run("dunstctl", "close-all")
    time.sleep(0.3)
    entries: list[dict[str, Any]] = json.loads(desktop.run("dunstctl", "history").stdout)["data"][0]
    return entries


def text(entry: dict[str, Any]) -> str:
    return f"{entry['summary']['data']}\n{entry['body']['data']}"


def test_an_oom_kill_is_a_notification_within_two_seconds(
    on_desktop: Desktop, own_bus: PrivateBus, tmp_path: Path, app: subprocess.Popen[str]
) -> None:
    require_ebpf()
    problem = memory_cgroup_available()
    require(problem is None, problem or "")
    settings = '[general]\nmode = "dry-run"\n' + only_alerts("oom-kill")
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log", settings=settings).start()
    try:
        helper.wait_ebpf_ready()
        time.sleep(2)  # the app has found the helper
        with memory_limited_cgroup(32 << 20) as procs:
            victim = oom_kill_a_victim(procs)
            killed = victim.killed
        wait_for(lambda: displayed(on_desktop) >= 1, 10, "a notification")
        assert time.monotonic() - killed <= 2.0
        entries = [e for e in closed_notifications(on_desktop) if f"pid {victim.pid}" in text(e)]
        assert entries, "the notification names the victim"
        assert VICTIM_COMM in text(entries[0])
        assert entries[0]["appname"]["data"] == "SmoothTask"
    finally:
        helper.stop()


def test_a_cpu_hog_is_one_notification_for_a_minute_then_lowered_from_it(
    on_desktop: Desktop,
    own_bus: PrivateBus,
    tmp_path: Path,
    app: subprocess.Popen[str],
    keep_active: None,
) -> None:
    tester = require_user("tester")
    settings = (
        f'[general]\nmode = "active"\n[policy]\nmanage_uids = [{tester.pw_uid}]\n'
        # threshold 50: the hog still counts when a loaded machine gives it only half a core
        + only_alerts("cpu-hog").replace(
            "[alerts.cpu-hog]\n", "[alerts.cpu-hog]\nduration_s = 3\nthreshold = 50.0\n"
        )
    )
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log", settings=settings).start()
    hog = spawn_as("st-cpu-hog", BUSY_LOOP, user=tester.pw_name)
    try:
        wait_for(lambda: displayed(on_desktop) >= 1, 30, "the cpu-hog notification")
        raised = time.monotonic()
        while time.monotonic() - raised < 60:  # the condition holds for a minute
            assert displayed(on_desktop) == 1, "one notification, updated in place"
            time.sleep(2)
        assert [a["id"] for a in helper.alerts("cpu-hog")] == [helper.alerts("cpu-hog")[0]["id"]]
        assert psutil.Process(hog.pid).nice() == 0  # nothing lowered it yet
        # "Lower priority", picked from the notification's menu (the test desktop's dmenu)
        assert on_desktop.run("dunstctl", "action", "0").returncode == 0

        def lowered() -> bool:
            return bool(psutil.Process(hog.pid).nice() == 19)

        wait_for(lowered, 15, "the hog at BACKGROUND's nice")

        def its_class() -> str | None:
            classes = {p["pid"]: p["class"] for p in helper.snapshot()["processes"]}
            return classes.get(hog.pid) if classes.get(hog.pid) == "BACKGROUND" else None

        wait_for(its_class, 10, "BACKGROUND in the helper's list")
        entries = [e for e in closed_notifications(on_desktop) if f"pid {hog.pid}" in text(e)]
        assert len(entries) == 1  # not sixty
        assert "st-cpu-hog" in text(entries[0])
    finally:
        end(hog)
        helper.stop()
    assert app.poll() is None, app.stderr.read() if app.stderr else ""
