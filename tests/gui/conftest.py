"""Qt runs on the virtual desktop (platform xcb) so that the tray has a real host.

Without the desktop's programs, outside CI, Qt falls back to the offscreen platform and
the tests that need the tray skip.
"""

import ctypes
import os
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from tests.conftest import require
from tests.support.desktop import Desktop, missing_programs

# PySide6 6.12 with pyqtgraph 0.14 on Python 3.11 drops references to True, False and None
# that it never took whenever a pyqtgraph item is destroyed (seen: ~235 to True per
# dashboard of four plots; pyqtgraph's items mix a Python class into QGraphicsObject and
# override itemChange, the pattern of pyqtgraph issue #3357). On 3.12+ these objects are
# immortal; on 3.11 a session that creates and destroys dashboards test after test drives
# a count to zero and the interpreter aborts ("bool_dealloc", "none_dealloc"), during the
# tests or at exit. The app builds one dashboard and keeps it. Here each gets references
# that are never given back (not even at exit, unlike a list's), as 3.12 does for all.
SINGLETON_GUARD = 100_000
for _singleton in (True, False, None):
    for _ in range(SINGLETON_GUARD):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(_singleton))


@pytest.fixture(scope="session")
def desktop() -> Iterator[Desktop | None]:
    if missing_programs():
        yield None
        return
    running = Desktop().start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def qapp(desktop: Desktop | None) -> Iterator[QApplication]:
    if desktop is not None:
        os.environ.update(desktop.env)
        os.environ["QT_QPA_PLATFORM"] = "xcb"
    else:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(["smoothtask-tests"])
    yield app
    app.closeAllWindows()
    app.shutdown()  # before the desktop stops: Qt must not see its X server vanish


@pytest.fixture
def on_desktop(desktop: Desktop | None, qapp: QApplication) -> Desktop:
    require(desktop is not None, f"needs the virtual desktop; missing: {missing_programs()}")
    assert desktop is not None
    return desktop
