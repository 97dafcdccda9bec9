"""The dashboard window: live plots of what the helper measures.

Plots draw from numpy ring buffers; only the selected time window is handed to
pyqtgraph, with peak downsampling and clip-to-view so a 15-minute window stays cheap.
"""

import time
from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.ringbuffer import TimeSeries
from smoothtask_helper.model import JsonDict

HISTORY_S = 15 * 60
GPU_PLOT = "GPU"
WINDOWS_S = {"1 minute": 60, "5 minutes": 300, "15 minutes": 900}


@dataclass(frozen=True)
class Curve:
    key: str
    label: str
    colour: str


@dataclass(frozen=True)
class PlotSpec:
    title: str
    unit: str
    curves: tuple[Curve, ...]
    y_max: float | None = 100.0


PLOTS = (
    PlotSpec("CPU", "%", (Curve("cpu", "all CPUs", "#58a6ff"),)),
    PlotSpec(
        "Memory",
        "% of RAM / swap",
        (Curve("memory", "used", "#3fb950"), Curve("swap", "swap used", "#d29922")),
    ),
    PlotSpec(
        "Pressure (PSI some, avg10)",
        "% of time stalled",
        (
            Curve("psi_cpu", "cpu", "#58a6ff"),
            Curve("psi_io", "io", "#d29922"),
            Curve("psi_memory", "memory", "#f85149"),
        ),
        y_max=None,
    ),
    PlotSpec(
        GPU_PLOT,
        "% busy / % of GPU memory",
        (
            Curve("gpu_busy", "busiest GPU", "#a371f7"),
            Curve("gpu_memory", "memory used", "#3fb950"),
        ),
    ),
)


def sample_values(sample: JsonDict) -> dict[str, float]:
    """The plotted figures of one ``Sample`` (missing ones are simply absent)."""
    memory = sample["memory"]
    values = {
        "cpu": float(sample["cpu"]["percent"]),
        "memory": float(memory["percent"]),
        "swap": 100.0 * memory["swap_used_bytes"] / memory["swap_total_bytes"]
        if memory["swap_total_bytes"]
        else 0.0,
    }
    psi = sample.get("psi")
    if psi:
        for resource in ("cpu", "io", "memory"):
            values[f"psi_{resource}"] = float(psi[resource]["some_avg10"])
    values.update(gpu_values(sample.get("gpu")))
    return values


def gpu_values(gpus: list[JsonDict] | None) -> dict[str, float]:
    """The busiest GPU's utilisation and the memory used on all GPUs that tell both
    figures; absent where no GPU gives them (a gap in the plot, not a zero)."""
    values = {}
    busy = [
        float(d["utilisation_percent"]) for d in gpus or () if d["utilisation_percent"] is not None
    ]
    if busy:
        values["gpu_busy"] = max(busy)
    sized = [
        (d["memory_used_bytes"], d["memory_total_bytes"])
        for d in gpus or ()
        if d["memory_used_bytes"] is not None and d["memory_total_bytes"]
    ]
    if sized:
        values["gpu_memory"] = 100.0 * sum(u for u, _ in sized) / sum(t for _, t in sized)
    return values


def gpu_title(gpus: list[JsonDict] | None) -> str:
    """The GPU plot's title: which GPUs it shows, or why none."""
    if gpus is None:
        return f"{GPU_PLOT} (monitoring off)"
    if not gpus:
        return f"{GPU_PLOT} (no GPU found)"
    return f"{GPU_PLOT}: " + ", ".join(f"{d['name']} ({d['driver']})" for d in gpus)


class Dashboard(QWidget):
    def __init__(self, connection: HelperConnection, capacity: int = HISTORY_S) -> None:
        super().__init__()
        self.setWindowTitle("SmoothTask — dashboard")
        self.resize(900, 880)
        keys = tuple(c.key for spec in PLOTS for c in spec.curves)
        self.history = TimeSeries(keys, capacity)
        self.connected = False
        self.last_sample: JsonDict | None = None

        self.status_label = QLabel()
        self.status_label.setObjectName("connectionStatus")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.window_choice = QComboBox()
        self.window_choice.addItems(list(WINDOWS_S))
        self.window_choice.currentTextChanged.connect(self._redraw)
        header = QHBoxLayout()
        header.addWidget(self.status_label, 1)
        header.addWidget(QLabel("Show the last"))
        header.addWidget(self.window_choice)

        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        for spec in PLOTS:
            layout.addWidget(self._make_plot(spec))

        self._show_disconnected("connecting to the helper…")
        connection.connected.connect(self.on_connected)
        connection.disconnected.connect(self.on_disconnected)
        connection.sample_received.connect(self.on_sample)

    def _make_plot(self, spec: PlotSpec) -> pg.PlotWidget:
        plot = pg.PlotWidget(title=spec.title)
        plot.setLabel("left", spec.unit)
        plot.getAxis("left").enableAutoSIPrefix(False)  # "0.5 %", not "500 (x0.001) %"
        plot.setLabel("bottom", "seconds ago")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMouseEnabled(x=False, y=False)
        if spec.y_max is not None:
            plot.setYRange(0, spec.y_max, padding=0.02)
        if len(spec.curves) > 1:
            plot.addLegend(offset=(5, 5))
        for curve in spec.curves:
            item = plot.plot(name=curve.label, pen=pg.mkPen(curve.colour, width=2))
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
            self.curves[curve.key] = item
        self.plots[spec.title] = plot
        return plot

    @Slot(dict)
    def on_connected(self, status: JsonDict) -> None:
        self.connected = True
        self.status_label.setText(
            f"Connected to SmoothTask helper {status.get('version', '?')} "
            f"(pid {status.get('pid', '?')}, mode {status.get('mode', '?')})"
        )
        self.status_label.setStyleSheet("color: #3fb950;")

    @Slot(str)
    def on_disconnected(self, reason: str) -> None:
        self._show_disconnected(reason)

    def _show_disconnected(self, reason: str) -> None:
        self.connected = False
        self.status_label.setText(f"Disconnected: {reason}")
        self.status_label.setStyleSheet("color: #f85149; font-weight: bold;")

    @Slot(dict)
    def on_sample(self, sample: JsonDict) -> None:
        try:
            values = sample_values(sample)
            when = float(sample["time"])
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return  # a sample from an incompatible helper: skip it rather than crash
        self.last_sample = sample
        self.history.append(when, values)
        title = gpu_title(sample.get("gpu"))
        if title != self.plots[GPU_PLOT].plotItem.titleLabel.text:
            self.plots[GPU_PLOT].setTitle(title)
        if self.isVisible():
            self._redraw()

    def window_seconds(self) -> int:
        return WINDOWS_S[self.window_choice.currentText()]

    @Slot()
    def _redraw(self) -> None:
        now = time.time()
        times, series = self.history.window(now - self.window_seconds())
        x = times - now
        for key, item in self.curves.items():
            item.setData(x, series[key], connect="finite")
        for plot in self.plots.values():
            plot.setXRange(-self.window_seconds(), 0, padding=0)

    def showEvent(self, event: QShowEvent) -> None:
        self._redraw()  # samples that came while hidden were only buffered
        super().showEvent(event)
