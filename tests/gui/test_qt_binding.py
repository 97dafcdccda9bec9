"""The installed Qt binding must not corrupt reference counts (signal emission, plot items
coming and going).

PySide6 6.12.0 under Python 3.11 decrements None, True and False on every Signal.emit,
and the process aborts ("Fatal Python error: none_dealloc") after a few thousand signals:
the tray app would die within minutes. pyproject.toml excludes that version; this test
catches a binding with the same fault. It runs in a subprocess because the fault aborts
the interpreter.
"""

import os
import subprocess
import sys

PROBE = """
import sys
from PySide6 import QtCore

class Emitter(QtCore.QObject):
    pair = QtCore.Signal(object, object)
    document = QtCore.Signal(dict)

emitter = Emitter()
emitter.pair.connect(lambda a, b: None)
emitter.document.connect(lambda d: None)
before = sys.getrefcount(None), sys.getrefcount(True)
for _ in range(500):
    emitter.pair.emit(None, True)
    emitter.document.emit({"ok": None, "flag": False})

import gc
import pyqtgraph
from PySide6.QtWidgets import QApplication
app = QApplication(["probe"])
for _ in range(10):  # the pattern that lost references with PySide6 6.12 + pyqtgraph 0.14
    plot = pyqtgraph.PlotWidget()
    plot.plot([1, 2, 3])
    plot.show()
    app.processEvents()
    plot.close()
    plot.deleteLater()
    app.processEvents()
    del plot
    gc.collect()
after = sys.getrefcount(None), sys.getrefcount(True)
print(after[0] - before[0], after[1] - before[1])
"""


def test_signal_emission_keeps_reference_counts() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, f"the Qt binding aborted the interpreter:\n{result.stderr}"
    none_delta, true_delta = (int(x) for x in result.stdout.split())
    assert none_delta >= 0 and true_delta >= 0, "Signal.emit loses references to None/True"
