"""The dashboard's GPU plot, fed through the Sample signal: samples as the helper sends
them on a machine with GPUs (this one has none), and live from the real helper."""

import math
import time
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.dashboard import Dashboard
from smoothtask_gui.figures import GPU_PLOT
from smoothtask_helper.model import JsonDict
from tests.support.bus import HelperProcess

GIB = 1024**3


def summary(gpu: list[JsonDict] | None, at: float) -> JsonDict:
    """A Sample as the helper emits it (the snapshot without processes)."""
    return {
        "time": at,
        "interval_s": 1.0,
        "cpu": {"percent": 10.0, "per_cpu": [10.0], "count": 1, "load_avg": [0.1, 0.1, 0.1]},
        "memory": {"percent": 40.0, "swap_used_bytes": 0, "swap_total_bytes": 0},
        "psi": None,
        "process_count": 100,
        "gpu": gpu,
    }


def device(name: str, busy: float | None, used: int | None, total: int | None) -> JsonDict:
    return {
        "id": name,
        "name": name,
        "driver": "amdgpu",
        "source": "sysfs",
        "card": "card0",
        "pci_id": None,
        "utilisation_percent": busy,
        "memory_used_bytes": used,
        "memory_total_bytes": total,
        "engines": {},
        "clients": 1,
    }


@pytest.fixture
def offline(qtbot: QtBot) -> Iterator[tuple[HelperConnection, Dashboard]]:
    """A dashboard whose connection is never started: samples come from the test."""
    connection = HelperConnection("unix:path=/nonexistent/bus")
    dashboard = Dashboard(connection)
    qtbot.addWidget(dashboard)
    dashboard.show()
    yield connection, dashboard


def plotted(dashboard: Dashboard, key: str) -> list[float]:
    _, y = dashboard.curves[key].getData()
    return [] if y is None else list(y)


def title(dashboard: Dashboard) -> str:
    text: str = dashboard.plots[GPU_PLOT].plotItem.titleLabel.text
    return text


def test_busiest_gpu_and_memory_are_plotted(offline: tuple[HelperConnection, Dashboard]) -> None:
    connection, dashboard = offline
    now = time.time()
    for i, busy in enumerate((20.0, 97.0, 55.0)):
        gpus = [
            device("RX 6800", busy, 4 * GIB, 16 * GIB),
            device("UHD 630", 5.0, None, None),  # memory unknown: left out of the share
        ]
        connection.sample_received.emit(summary(gpus, now - 3 + i))
    assert plotted(dashboard, "gpu_busy") == [20.0, 97.0, 55.0]
    assert plotted(dashboard, "gpu_memory") == [25.0, 25.0, 25.0]
    assert title(dashboard) == "GPU: RX 6800 (amdgpu), UHD 630 (amdgpu)"


def test_no_gpu_and_monitoring_off_are_gaps_not_zeros(
    offline: tuple[HelperConnection, Dashboard],
) -> None:
    connection, dashboard = offline
    now = time.time()
    connection.sample_received.emit(summary([], now - 2))
    assert title(dashboard) == "GPU (no GPU found)"
    connection.sample_received.emit(summary(None, now - 1))
    assert title(dashboard) == "GPU (monitoring off)"
    connection.sample_received.emit(summary([device("gone dark", None, 1, 0)], now))
    assert all(math.isnan(v) for v in plotted(dashboard, "gpu_busy"))
    assert all(math.isnan(v) for v in plotted(dashboard, "gpu_memory"))
    assert len(dashboard.history) == 3


def test_live_from_the_helper(qtbot: QtBot, helper: HelperProcess) -> None:
    connection = HelperConnection(helper.address)
    dashboard = Dashboard(connection)
    qtbot.addWidget(dashboard)
    dashboard.show()
    connection.start()
    try:
        qtbot.waitUntil(lambda: dashboard.last_sample is not None, timeout=15_000)
        assert dashboard.last_sample is not None
        gpus = dashboard.last_sample["gpu"]
        assert isinstance(gpus, list)  # the helper monitors GPUs; this machine may have none
        expected = "GPU (no GPU found)" if not gpus else "GPU: "
        assert title(dashboard).startswith(expected)
    finally:
        connection.stop()


def test_no_plot_is_covered_by_the_heat_map(offline: tuple[HelperConnection, Dashboard]) -> None:
    """The heat map spans the row after the plots (it once covered the GPU plot)."""
    _, dashboard = offline
    heatmap = dashboard.heatmap.geometry()
    for title, plot in dashboard.plots.items():
        assert not plot.geometry().intersects(heatmap), title


def test_a_minimized_dashboard_buffers_and_draws_when_restored(
    qtbot: QtBot, offline: tuple[HelperConnection, Dashboard]
) -> None:
    connection, dashboard = offline
    dashboard.showMinimized()
    qtbot.waitUntil(dashboard.isMinimized)
    assert dashboard.isVisible()  # what Qt says of a minimized window
    connection.sample_received.emit(summary([device("RX 6800", 50.0, 1, 2)], time.time()))
    assert len(dashboard.history) == 1
    assert plotted(dashboard, "gpu_busy") == []  # nobody sees it: not drawn
    dashboard.showNormal()
    qtbot.waitUntil(lambda: plotted(dashboard, "gpu_busy") == [50.0])
