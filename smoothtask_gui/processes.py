"""The process table: every process with its class and why, sortable and filterable; its
context menu changes a process's class through the helper (polkit decides; a refusal is
shown as such)."""

import pwd
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from smoothtask_gui.connection import HelperConnection
from smoothtask_helper.api import CLASSES
from smoothtask_helper.errors import NotAuthorized, SmoothTaskError
from smoothtask_helper.model import JsonDict

REFRESH_MS = 2000
MISSING = "\u2013"  # an en dash: the figure is not available (e.g. no eBPF)
SORT_ROLE = Qt.ItemDataRole.UserRole
AnyIndex = QModelIndex | QPersistentModelIndex


@lru_cache(maxsize=4096)
def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def _mib(value: Any) -> str:
    return f"{value / 2**20:.0f} MiB" if isinstance(value, int) else MISSING


def _ms(value: Any) -> str:
    return f"{value / 1000:.1f}" if isinstance(value, int | float) else MISSING


def _plain(value: Any) -> str:
    return MISSING if value is None else str(value)


@dataclass(frozen=True)
class Column:
    title: str
    key: Callable[[JsonDict], Any]  # the sortable value
    text: Callable[[Any], str] = _plain
    tip: str = ""


COLUMNS = (
    Column("PID", lambda p: p["pid"]),
    Column("Name", lambda p: p["comm"]),
    Column("User", lambda p: user_name(p["uid"])),
    Column("Type", lambda p: p.get("type")),
    Column("Class", lambda p: p.get("class")),
    Column("Nice", lambda p: p.get("nice")),
    Column("CPU %", lambda p: p.get("cpu_percent"), lambda v: f"{v:.1f}"),
    Column("RSS", lambda p: p.get("rss_bytes"), _mib),
    Column(
        "Wait p99 ms",
        lambda p: p.get("runqueue_latency_p99_us"),
        _ms,
        "run-queue wait p99 over the last 10 s (eBPF)",
    ),
    Column("TCP", lambda p: p.get("tcp_established"), tip="established connections (eBPF)"),
    Column(
        "GPU %",
        lambda p: p.get("gpu_percent"),
        lambda v: f"{v:.0f}",
        "the process's busiest GPU engine (DRM fdinfo or NVML)",
    ),
    Column("Why", lambda p: p.get("rule"), tip="the rule that decided the type and class"),
)
FILTERED_COLUMNS = (0, 1, 2, 3, 4, 11)


class ProcessModel(QAbstractTableModel):
    def __init__(self) -> None:
        super().__init__()
        self.processes: list[JsonDict] = []

    def replace(self, processes: list[JsonDict]) -> None:
        self.beginResetModel()
        self.processes = [p for p in processes if not p.get("kernel_thread")]
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008  # Qt's signature
        return 0 if parent.isValid() else len(self.processes)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        process, column = self.processes[index.row()], COLUMNS[index.column()]
        value = column.key(process)
        if role == SORT_ROLE:
            return value if value is not None else -1
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(value) if value is not None else MISSING
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int | float):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section].tip or None
        return None

    def process_at(self, row: int) -> JsonDict:
        return self.processes[row]


class ProcessFilter(QSortFilterProxyModel):
    """Rows whose pid, name, user, type, class or rule contain the filter text."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    @Slot(str)
    def set_text(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10: invalidateFilter is deprecated
            self.beginFilterChange()
            self.text = text.strip().lower()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.text = text.strip().lower()
            self.invalidateFilter()

    def filterAcceptsRow(self, row: int, parent: AnyIndex) -> bool:
        text = self.text
        if not text:
            return True
        model = self.sourceModel()
        return any(
            text in str(model.data(model.index(row, column, parent))).lower()
            for column in FILTERED_COLUMNS
        )


class ProcessTable(QWidget):
    def __init__(self, connection: HelperConnection) -> None:
        super().__init__()
        self.connection = connection
        self.model = ProcessModel()
        self.proxy = ProcessFilter()
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(6, Qt.SortOrder.DescendingOrder)  # busiest first
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._menu)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.verticalHeader().hide()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter: name, user, type, class, pid or rule")
        self.filter.textChanged.connect(self.proxy.set_text)
        self.message = QLabel()
        self.message.setObjectName("processMessage")
        self.message.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.refresh)
        connection.connected.connect(lambda _status: self.refresh())

    def showEvent(self, event: Any) -> None:
        self.refresh()
        self.timer.start(REFRESH_MS)
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        self.timer.stop()  # nobody looks: no calls, no work
        super().hideEvent(event)

    @Slot()
    def refresh(self) -> None:
        self.connection.call("ListProcesses", "", [], self._show, self._failed)

    def _show(self, processes: Any) -> None:
        if isinstance(processes, list):
            self.model.replace(processes)

    def _failed(self, error: BaseException) -> None:
        self.message.setText(f"Cannot list processes: {error}")

    def process_at(self, point: QPoint) -> JsonDict | None:
        index = self.view.indexAt(point)
        if not index.isValid():
            return None
        return self.model.process_at(self.proxy.mapToSource(index).row())

    @Slot(QPoint)
    def _menu(self, point: QPoint) -> None:
        process = self.process_at(point)
        if process is None:
            return
        menu = self.context_menu(process)
        menu.exec(self.view.viewport().mapToGlobal(point))

    def context_menu(self, process: JsonDict) -> QMenu:
        menu = QMenu(self)
        classes = menu.addMenu(f"Set class of {process['comm']} ({process['pid']})")
        for name in CLASSES:
            action = classes.addAction(name)
            action.setCheckable(True)
            action.setChecked(process.get("class") == name)
            action.triggered.connect(lambda _=False, n=name: self.set_class(process, n))
        reset = menu.addAction("Reset class (back to the rules)")
        reset.triggered.connect(lambda: self.set_class(process, None))
        return menu

    def set_class(self, process: JsonDict, name: str | None) -> None:
        pid, comm = int(process["pid"]), process["comm"]
        what = f"{comm} ({pid}) to {name}" if name else f"{comm} ({pid}) back to its rules"
        self.message.setText(f"Asking the helper to set {what}…")
        if name is None:
            self.connection.call(
                "ResetProcessClass", "u", [pid], self._changed(what), self._refused(what)
            )
        else:
            self.connection.call(
                "SetProcessClass", "us", [pid, name], self._changed(what), self._refused(what)
            )

    def _changed(self, what: str) -> Callable[[Any], None]:
        def done(_result: Any) -> None:
            self.message.setText(f"Set {what}.")
            self.refresh()

        return done

    def _refused(self, what: str) -> Callable[[BaseException], None]:
        def failed(error: BaseException) -> None:
            if isinstance(error, NotAuthorized):
                self.message.setText(f"Not allowed to set {what}: {error}")
            elif isinstance(error, SmoothTaskError):
                self.message.setText(f"Could not set {what}: {error}")
            else:
                self.message.setText(f"Could not set {what}: unexpected error {error!r}")

        return failed
