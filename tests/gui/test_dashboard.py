"""The dashboard against the real helper on a private bus."""

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.dashboard import Dashboard
from tests.ebpf.conftest import require_ebpf
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.waiting import wait_for

MakeDashboard = Callable[[str], Dashboard]


@pytest.fixture
def dashboard_on(qtbot: QtBot) -> Iterator[MakeDashboard]:
    made: list[tuple[HelperConnection, Dashboard]] = []

    def make(address: str) -> Dashboard:
        connection = HelperConnection(address)
        dashboard = Dashboard(connection)
        qtbot.addWidget(dashboard)
        dashboard.show()
        connection.start()
        made.append((connection, dashboard))
        return dashboard

    yield make
    for connection, _ in made:
        connection.stop()


def plotted_cpu_points(dashboard: Dashboard) -> int:
    _, y = dashboard.curves["cpu"].getData()
    return 0 if y is None else sum(1 for v in y if not math.isnan(v))


def test_plots_live_samples(
    qtbot: QtBot, helper: HelperProcess, dashboard_on: MakeDashboard
) -> None:
    dashboard = dashboard_on(helper.address)
    qtbot.waitUntil(lambda: dashboard.connected, timeout=10_000)
    assert "Connected" in dashboard.status_label.text()
    qtbot.waitUntil(lambda: plotted_cpu_points(dashboard) >= 3, timeout=15_000)
    x, y = dashboard.curves["cpu"].getData()
    assert all(0.0 <= v <= 100.0 for v in y)
    assert all(-dashboard.window_seconds() <= t <= 1.0 for t in x)  # seconds ago
    assert dashboard.last_sample is not None
    _, memory = dashboard.curves["memory"].getData()
    assert memory[-1] == pytest.approx(dashboard.last_sample["memory"]["percent"])


def test_shows_disconnected_then_reconnects_when_the_helper_restarts(
    qtbot: QtBot,
    own_bus: PrivateBus,
    tmp_path: Path,
    dashboard_on: MakeDashboard,
) -> None:
    process = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    try:
        dashboard = dashboard_on(own_bus.address)
        qtbot.waitUntil(lambda: plotted_cpu_points(dashboard) >= 2, timeout=15_000)
    finally:
        process.kill()  # a crash: no goodbye
    qtbot.waitUntil(lambda: not dashboard.connected, timeout=10_000)
    assert "Disconnected" in dashboard.status_label.text()
    assert "not running" in dashboard.status_label.text()
    points_while_down = len(dashboard.history)

    process = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    try:
        qtbot.waitUntil(lambda: dashboard.connected, timeout=10_000)
        qtbot.waitUntil(lambda: len(dashboard.history) >= points_while_down + 2, timeout=15_000)
        assert plotted_cpu_points(dashboard) >= points_while_down + 2
    finally:
        process.stop()


def test_waits_for_a_helper_that_starts_later(
    qtbot: QtBot,
    own_bus: PrivateBus,
    tmp_path: Path,
    dashboard_on: MakeDashboard,
) -> None:
    dashboard = dashboard_on(own_bus.address)
    qtbot.waitUntil(lambda: "not running" in dashboard.status_label.text(), timeout=10_000)
    process = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    try:
        qtbot.waitUntil(lambda: dashboard.connected, timeout=10_000)
        qtbot.waitUntil(lambda: plotted_cpu_points(dashboard) >= 1, timeout=15_000)
    finally:
        process.stop()


def test_no_bus_at_all_is_shown(qtbot: QtBot, dashboard_on: MakeDashboard) -> None:
    dashboard = dashboard_on("unix:path=/nonexistent/bus")
    qtbot.waitUntil(lambda: "no bus is listening" in dashboard.status_label.text(), timeout=10_000)
    assert not dashboard.connected


def finite_points(dashboard: Dashboard, key: str) -> int:
    _, y = dashboard.curves[key].getData()
    return 0 if y is None else int(np.isfinite(y).sum())


def test_plots_run_queue_latency_and_heat_map(
    qtbot: QtBot, helper: HelperProcess, dashboard_on: MakeDashboard
) -> None:
    require_ebpf()
    helper.wait_ebpf_ready()
    dashboard = dashboard_on(helper.address)
    qtbot.waitUntil(lambda: finite_points(dashboard, "rq_p99") >= 2, timeout=20_000)
    _, p99 = dashboard.curves["rq_p99"].getData()
    _, p50 = dashboard.curves["rq_p50"].getData()
    both = np.isfinite(p99) & np.isfinite(p50)
    assert (p99[both] >= p50[both]).all()
    qtbot.waitUntil(lambda: dashboard.heatmap.image.image is not None, timeout=10_000)
    assert dashboard.heatmap.image.image.sum() > 0  # waits were counted into slots
    assert not dashboard.ebpf_label.isVisible()


def test_says_when_ebpf_is_off(
    qtbot: QtBot, own_bus: PrivateBus, tmp_path: Path, dashboard_on: MakeDashboard
) -> None:
    process = HelperProcess(own_bus.address, tmp_path / "helper.log", extra_args=("--no-ebpf",))
    process.start()
    try:
        dashboard = dashboard_on(own_bus.address)
        qtbot.waitUntil(dashboard.ebpf_label.isVisible, timeout=10_000)
        assert "switched off" in dashboard.ebpf_label.text()
        assert "needs eBPF" in dashboard.plots["Run-queue latency"].getPlotItem().titleLabel.text
        qtbot.waitUntil(lambda: plotted_cpu_points(dashboard) >= 2, timeout=15_000)
        assert finite_points(dashboard, "rq_p99") == 0
    finally:
        process.stop()


def test_fills_from_the_helpers_history_when_it_connects(
    qtbot: QtBot, helper: HelperProcess, dashboard_on: MakeDashboard
) -> None:
    wait_for(lambda: len(helper.history(60)) >= 5, 20, "five samples in the helper's history")
    opened = time.time()
    dashboard = dashboard_on(helper.address)
    qtbot.waitUntil(lambda: len(dashboard.history) >= 5, timeout=10_000)
    oldest = float(dashboard.history.times.values()[0])
    assert oldest < opened - 3  # samples from before this dashboard existed
    times = dashboard.history.times.values()
    assert (np.diff(times) > 0).all()  # history and live samples joined without overlap
