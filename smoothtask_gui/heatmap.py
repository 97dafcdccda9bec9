"""Run-queue latency over time as a heat map: time across, latency slot up, colour = how
many waits fell in that slot during that sample (log scale)."""

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from smoothtask_gui.figures import LATENCY_SLOTS, slot_label
from smoothtask_gui.ringbuffer import MatrixRing

LABELLED_SLOTS = range(0, LATENCY_SLOTS, 8)
SHOWN_SLOTS = 40  # up to ~1.5 s of waiting; higher slots would only be empty rows


class LatencyHeatMap(pg.PlotWidget):  # type: ignore[misc]  # pyqtgraph is untyped
    def __init__(self, capacity: int) -> None:
        super().__init__(title="Run-queue latency (waits per slot, log colour)")
        self.rows = MatrixRing(capacity, LATENCY_SLOTS)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.addItem(self.image)
        self.setMouseEnabled(x=False, y=False)
        self.setLabel("bottom", "seconds ago")
        self.setLabel("left", "wait up to")
        ticks = [(slot + 1, slot_label(slot)) for slot in LABELLED_SLOTS if slot < SHOWN_SLOTS]
        self.getAxis("left").setTicks([ticks])
        self.setYRange(0, SHOWN_SLOTS, padding=0)

    def append(self, time: float, row: np.ndarray | None) -> None:
        self.rows.append(time, row)

    def redraw(self, now: float, window_s: float) -> None:
        times, rows = self.rows.window(now - window_s)
        self.setXRange(-window_s, 0, padding=0)
        if len(times) < 2:
            self.image.clear()
            return
        # one column per sample, from the first sample's age to now
        image = np.log1p(rows[:, :SHOWN_SLOTS]).T  # slots up, time across
        self.image.setImage(image, autoLevels=False, levels=(0.0, max(1.0, image.max())))
        start = times[0] - now
        width = max(times[-1] - times[0], 1e-3) * len(times) / (len(times) - 1)
        self.image.setRect(QRectF(start, 0, width, SHOWN_SLOTS))
