"""Which process has the keyboard focus: X11's _NET_ACTIVE_WINDOW and _NET_WM_PID.

Event-driven: the root window's PropertyNotify for _NET_ACTIVE_WINDOW arrives on the X
connection, which a QSocketNotifier watches in Qt's own event loop (no thread, no
polling). Plain Wayland offers no standard way to learn the focused window; there the
tracker says so instead of guessing.
"""

import logging
import os

from PySide6.QtCore import QObject, QSocketNotifier, Signal, Slot
from Xlib import X
from Xlib import display as xdisplay
from Xlib import error as xerror
from Xlib.ext import screensaver
from Xlib.xobject.drawable import Window

log = logging.getLogger(__name__)


class FocusTracker(QObject):
    """Emits ``focus_changed(pid)`` when the focused window changes to another process."""

    focus_changed = Signal(int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.available = False
        self.reason = "not started"
        self.pid: int | None = None
        self._display: xdisplay.Display | None = None
        self._notifier: QSocketNotifier | None = None

    def start(self) -> bool:
        """Begin following the focus; False (with ``reason``) where that is impossible."""
        name = os.environ.get("DISPLAY")
        if not name:
            self.reason = (
                "no X11 display: on plain Wayland the desktop offers no standard way to "
                "learn the focused window"
                if os.environ.get("WAYLAND_DISPLAY")
                else "no display"
            )
            return False
        try:
            self._display = xdisplay.Display(name)
        except (xerror.DisplayError, OSError) as exc:
            self.reason = f"cannot open X display {name}: {exc}"
            return False
        self._root = self._display.screen().root
        self._active = self._display.intern_atom("_NET_ACTIVE_WINDOW")
        self._wm_pid = self._display.intern_atom("_NET_WM_PID")
        self._root.change_attributes(event_mask=X.PropertyChangeMask)
        self._display.flush()
        self._notifier = QSocketNotifier(self._display.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._on_readable)
        self.available = True
        self.reason = (
            "Wayland session: only X11 (XWayland) windows are followed"
            if os.environ.get("WAYLAND_DISPLAY")
            else ""
        )
        self._update()
        return True

    def stop(self) -> None:
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier = None
        if self._display is not None:
            self._display.close()
            self._display = None
        self.available = False

    @Slot()
    def _on_readable(self) -> None:
        display = self._display
        if display is None:
            return
        changed = False
        try:
            while display.pending_events():
                event = display.next_event()
                if event.type == X.PropertyNotify and event.atom == self._active:
                    changed = True
        except (xerror.ConnectionClosedError, OSError) as exc:
            log.warning("lost the X connection: %s", exc)
            self.stop()
            self.reason = f"lost the X connection: {exc}"
            return
        if changed:
            self._update()

    def _update(self) -> None:
        pid = self.focused_pid()
        if pid is not None and pid != self.pid:
            self.pid = pid
            self.focus_changed.emit(pid)

    def idle_seconds(self) -> float:
        """Seconds since the last keyboard or mouse input (MIT-SCREEN-SAVER); 0 unknown."""
        if self._display is None or not self._display.has_extension("MIT-SCREEN-SAVER"):
            return 0.0
        try:
            info = screensaver.query_info(self._root)
        except xerror.XError:
            return 0.0
        return float(info.idle) / 1000.0

    def focused_pid(self) -> int | None:
        """The pid owning the active window now, if the window says (_NET_WM_PID)."""
        if self._display is None:
            return None
        try:
            active = self._root.get_full_property(self._active, X.AnyPropertyType)
            if active is None or not active.value or not active.value[0]:
                return None
            window: Window = self._display.create_resource_object("window", int(active.value[0]))
            owner = window.get_full_property(self._wm_pid, X.AnyPropertyType)
        except (xerror.BadWindow, xerror.BadMatch, xerror.XError):
            return None  # the window went away meanwhile
        if owner is None or not owner.value:
            return None
        return int(owner.value[0])
