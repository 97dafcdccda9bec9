"""The process table against the real helper: real processes, and a class change from the
context menu that reaches the helper and the kernel."""

import pwd
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.processes import ProcessTable
from tests.conftest import require_user
from tests.integration.conftest import managing_settings
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.procs import end, spawn_as


@pytest.fixture
def tester() -> pwd.struct_passwd:
    return require_user("tester")


@pytest.fixture
def table(
    qtbot: QtBot, own_bus: PrivateBus, tmp_path: Path, tester: pwd.struct_passwd
) -> Iterator[ProcessTable]:
    helper = HelperProcess(
        own_bus.address, tmp_path / "helper.log", settings=managing_settings(tester.pw_uid)
    ).start()
    connection = HelperConnection(own_bus.address)
    widget = ProcessTable(connection)
    qtbot.addWidget(widget)
    connection.start()
    widget.show()
    yield widget
    connection.stop()
    helper.stop()


def row_of(table: ProcessTable, pid: int) -> dict[str, object] | None:
    return next((p for p in table.model.processes if p["pid"] == pid), None)


def test_lists_real_processes_sorted_and_filtered(qtbot: QtBot, table: ProcessTable) -> None:
    proc = spawn_as("st-table-a")
    try:
        qtbot.waitUntil(lambda: row_of(table, proc.pid) is not None, timeout=15_000)
        shown = row_of(table, proc.pid)
        assert shown is not None and shown["comm"] == "st-table-a"
        assert table.proxy.rowCount() == table.model.rowCount() > 5
        table.filter.setText("st-table-a")
        rows = [
            [table.proxy.index(r, c).data() for c in range(12)]
            for r in range(table.proxy.rowCount())
        ]
        assert table.proxy.rowCount() == 1, rows
        assert table.proxy.index(0, 1).data() == "st-table-a"
        table.filter.setText("")
        cpu = [
            table.proxy.index(r, 6).data(table.proxy.sortRole())
            for r in range(table.proxy.rowCount())
        ]
        assert cpu == sorted(cpu, reverse=True)  # busiest first
    finally:
        end(proc)


def test_context_menu_sets_the_class_and_the_nice_follows(
    qtbot: QtBot, table: ProcessTable, tester: pwd.struct_passwd
) -> None:
    proc = spawn_as("st-table-b", user=tester.pw_name)
    try:
        qtbot.waitUntil(lambda: row_of(table, proc.pid) is not None, timeout=15_000)
        process = row_of(table, proc.pid)
        assert process is not None
        menu = table.context_menu(process)
        submenu = menu.actions()[0].menu()
        assert isinstance(submenu, QMenu)
        background = next(a for a in submenu.actions() if a.text() == "BACKGROUND")
        background.trigger()
        qtbot.waitUntil(lambda: psutil.Process(proc.pid).nice() == 19, timeout=10_000)
        qtbot.waitUntil(lambda: "Set st-table-b" in table.message.text(), timeout=10_000)
        qtbot.waitUntil(
            lambda: (row_of(table, proc.pid) or {}).get("class") == "BACKGROUND", timeout=10_000
        )
        reset = next(a for a in menu.actions() if a.text().startswith("Reset class"))
        reset.trigger()
        qtbot.waitUntil(lambda: psutil.Process(proc.pid).nice() == 0, timeout=10_000)
    finally:
        end(proc)


def test_a_refusal_is_shown_as_such(qtbot: QtBot, table: ProcessTable) -> None:
    proc = spawn_as("st-table-c")
    qtbot.waitUntil(lambda: row_of(table, proc.pid) is not None, timeout=15_000)
    process = row_of(table, proc.pid)
    assert process is not None
    end(proc)  # gone before the person picks a class
    table.set_class(process, "IDLE")
    qtbot.waitUntil(lambda: "Could not set" in table.message.text(), timeout=10_000)
    assert "st-table-c" in table.message.text()
