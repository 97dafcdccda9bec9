"""The dashboard window: live plots of what the helper measures.

Plots draw from numpy ring buffers; only the selected time window is handed to
pyqtgraph, with peak downsampling and clip-to-view so a 15-minute window stays cheap.
Figures that need eBPF say so when the helper has no eBPF.
"""

import logging
import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from smoothtask_gui.axes import LatencyAxis
from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.figures import (
    GPU_PLOT,
    IO_PREFIX,
    ebpf_note,
    gpu_title,
    latency_row,
    sample_values,
)
from smoothtask_gui.heatmap import LatencyHeatMap
from smoothtask_gui.ringbuffer import TimeSeries
from smoothtask_helper.model import JsonDict

log = logging.getLogger(__name__)

HISTORY_S = 15 * 60
WINDOWS_S = {"1 minute": 60, "5 minutes": 300, "15 minutes": 900}
DEVICE_COLOURS = ("#58a6ff", "#d29922", "#3fb950", "#f85149", "#bc8cff", "#39c5cf")


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
    log_y: bool = False
    dynamic_prefix: str | None = None  # curves for keys with this prefix, as they appear


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
        "TCP connections",
        "count / per second",
        (
            Curve("tcp_established", "established", "#58a6ff"),
            Curve("tcp_opened", "opened /s", "#3fb950"),
            Curve("tcp_closed", "closed /s", "#f85149"),
        ),
        y_max=None,
    ),
    PlotSpec(
        "Run-queue latency",
        "wait (log)",
        (
            Curve("rq_p50", "p50", "#3fb950"),
            Curve("rq_p95", "p95", "#d29922"),
            Curve("rq_p99", "p99", "#f85149"),
        ),
        y_max=None,
        log_y=True,
    ),
    PlotSpec(
        "Block I/O latency, p99",
        "latency (log)",
        (),
        y_max=None,
        log_y=True,
        dynamic_prefix=IO_PREFIX,
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
EBPF_PLOTS = frozenset({"TCP connections", "Run-queue latency", "Block I/O latency, p99"})


class Dashboard(QWidget):
    def __init__(self, connection: HelperConnection, capacity: int = HISTORY_S) -> None:
        super().__init__()
        self.setWindowTitle("SmoothTask — dashboard")
        self._fit_to_screen(1100, 900)
        keys = tuple(c.key for spec in PLOTS for c in spec.curves)
        self.history = TimeSeries(keys, capacity)
        self.connected = False
        self.last_sample: JsonDict | None = None
        self.status: JsonDict = {}

        self.status_label = QLabel()
        self.status_label.setObjectName("connectionStatus")
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.ebpf_label = QLabel()
        self.ebpf_label.setObjectName("ebpfStatus")
        self.ebpf_label.setWordWrap(True)
        self.ebpf_label.setStyleSheet("color: #d29922;")
        self.ebpf_label.hide()
        self.window_choice = QComboBox()
        self.window_choice.addItems(list(WINDOWS_S))
        self.window_choice.currentTextChanged.connect(self._redraw)
        header = QHBoxLayout()
        header.addWidget(self.status_label, 1)
        header.addWidget(QLabel("Show the last"))
        header.addWidget(self.window_choice)

        self.plots: dict[str, pg.PlotWidget] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._log_keys: set[str] = set()
        grid = QGridLayout()
        for index, spec in enumerate(PLOTS):
            grid.addWidget(self._make_plot(spec), index // 2, index % 2)
        self.heatmap = LatencyHeatMap(capacity)
        self.heatmap.setMinimumHeight(220)
        grid.addWidget(self.heatmap, (len(PLOTS) + 1) // 2, 0, 1, 2)  # the row after the plots
        plots = QWidget()
        plots.setLayout(grid)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(plots)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.ebpf_label)
        layout.addWidget(scroll, 1)

        self._show_disconnected("connecting to the helper…")
        self.connection = connection
        connection.connected.connect(self.on_connected)
        connection.disconnected.connect(self.on_disconnected)
        connection.sample_received.connect(self.on_sample)
        connection.status_changed.connect(self.on_status)

    def _fit_to_screen(self, width: int, height: int) -> None:
        screen = self.screen().availableGeometry() if self.screen() else None
        if screen is not None:
            width, height = min(width, screen.width() - 40), min(height, screen.height() - 60)
        self.resize(width, height)

    def _make_plot(self, spec: PlotSpec) -> pg.PlotWidget:
        # latencies: labelled "100 µs", "2 ms" at 1-2-5 steps, not at every minor tick
        axes = {"left": LatencyAxis("left")} if spec.log_y else None
        plot = pg.PlotWidget(title=spec.title, axisItems=axes)
        plot.setMinimumHeight(200)
        plot.setLabel("left", spec.unit)
        plot.getAxis("left").enableAutoSIPrefix(False)  # "0.5 %", not "500 (x0.001) %"
        plot.setLabel("bottom", "seconds ago")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMouseEnabled(x=False, y=False)
        if spec.log_y:
            plot.setLogMode(y=True)
        elif spec.y_max is not None:
            plot.setYRange(0, spec.y_max, padding=0.02)
        if len(spec.curves) > 1 or spec.dynamic_prefix:
            plot.addLegend(offset=(5, 5))
        for curve in spec.curves:
            self._add_curve(plot, curve, spec.log_y)
        self.plots[spec.title] = plot
        return plot

    def _add_curve(self, plot: pg.PlotWidget, curve: Curve, log_y: bool) -> None:
        item = plot.plot(name=curve.label, pen=pg.mkPen(curve.colour, width=2))
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
        self.curves[curve.key] = item
        if log_y:
            self._log_keys.add(curve.key)

    def _add_dynamic_curves(self) -> None:
        """A curve for each series that appeared (a block device's first request)."""
        for spec in PLOTS:
            if spec.dynamic_prefix is None:
                continue
            for key in sorted(self.history.series):
                if key.startswith(spec.dynamic_prefix) and key not in self.curves:
                    colour = DEVICE_COLOURS[len(self.curves) % len(DEVICE_COLOURS)]
                    label = key.removeprefix(spec.dynamic_prefix)
                    curve = Curve(key, label, colour)
                    self._add_curve(self.plots[spec.title], curve, spec.log_y)

    @Slot(dict)
    def on_connected(self, status: JsonDict) -> None:
        self.connected = True
        self.status_label.setText(
            f"Connected to SmoothTask helper {status.get('version', '?')} "
            f"(pid {status.get('pid', '?')}, mode {status.get('mode', '?')})"
        )
        self.status_label.setStyleSheet("color: #3fb950;")
        self.on_status(status)
        # what the helper kept while we were away (or before we started): up to 15 min
        self.connection.call("GetHistory", "u", [HISTORY_S], self.load_history, _no_history)

    @Slot(dict)
    def on_status(self, status: JsonDict) -> None:
        self.status = status
        note = ebpf_note(status)
        self.ebpf_label.setText(note)
        self.ebpf_label.setVisible(bool(note))
        ready = (status.get("ebpf") or {}).get("state") == "ready"
        for title in EBPF_PLOTS:
            self.plots[title].setTitle(title if ready else f"{title} — needs eBPF")

    @Slot(str)
    def on_disconnected(self, reason: str) -> None:
        self._show_disconnected(reason)

    def _show_disconnected(self, reason: str) -> None:
        self.connected = False
        self.status_label.setText(f"Disconnected: {reason}")
        self.status_label.setStyleSheet("color: #f85149; font-weight: bold;")

    @Slot(dict)
    def on_sample(self, sample: JsonDict) -> None:
        if self._append(sample) and self.on_screen():
            self._redraw()

    def on_screen(self) -> bool:
        """Shown and not minimized (Qt counts a minimized window as visible); what comes
        meanwhile is only buffered, and drawn when the window is restored (showEvent)."""
        return self.isVisible() and not self.window().isMinimized()

    def load_history(self, samples: object) -> None:
        """Summaries from GetHistory (oldest first): the ones newer than what we have fill
        the gap; live samples follow."""
        if not isinstance(samples, list):
            return
        newest = self.history.times.values()[-1] if len(self.history) else float("-inf")
        added = sum(
            1
            for sample in samples
            if isinstance(sample, dict)
            and float(sample.get("time", 0)) > newest
            and self._append(sample)
        )
        if added and self.on_screen():
            self._redraw()

    def _append(self, sample: JsonDict) -> bool:
        try:
            values = sample_values(sample)
            when = float(sample["time"])
            row = latency_row(sample)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            return False  # a sample from an incompatible helper: skip it rather than crash
        if len(self.history) and when <= self.history.times.values()[-1]:
            return False  # already have it (history and live samples overlap)
        self.last_sample = sample
        self.history.append(when, values)
        self.heatmap.append(when, row)
        self._add_dynamic_curves()
        title = gpu_title(sample.get("gpu"))
        if title != self.plots[GPU_PLOT].plotItem.titleLabel.text:
            self.plots[GPU_PLOT].setTitle(title)
        return True

    def window_seconds(self) -> int:
        return WINDOWS_S[self.window_choice.currentText()]

    @Slot()
    def _redraw(self) -> None:
        now = time.time()
        window = self.window_seconds()
        times, series = self.history.window(now - window)
        x = times - now
        for key, item in self.curves.items():
            y = series[key]
            if key in self._log_keys:
                y = np.where(y > 0, y, np.nan)  # log scale: no zeros, no warnings
            item.setData(x, y, connect="finite")
        for plot in self.plots.values():
            plot.setXRange(-window, 0, padding=0)
        self.heatmap.redraw(now, window)

    def showEvent(self, event: QShowEvent) -> None:
        self._redraw()  # samples that came while hidden or minimized were only buffered
        super().showEvent(event)


def _no_history(error: BaseException) -> None:
    """An older helper without GetHistory, or a refusal: live samples only."""
    log.info("no history from the helper (plotting live samples only): %s", error)
