"""Qt runs on the virtual desktop (platform xcb) so that the tray has a real host.

Without the desktop's programs, outside CI, Qt falls back to the offscreen platform and
the tests that need the tray skip.
"""

import os
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from tests.conftest import require
from tests.support.desktop import Desktop, missing_programs


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
