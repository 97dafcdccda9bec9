"""The main window: graphs, processes and alerts in tabs (the tray's "Dashboard")."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QTabWidget

from smoothtask_gui.alert_history import AlertHistory
from smoothtask_gui.connection import HelperConnection
from smoothtask_gui.dashboard import Dashboard
from smoothtask_gui.processes import ProcessTable


class MainWindow(QTabWidget):
    def __init__(self, connection: HelperConnection) -> None:
        super().__init__()
        self.setWindowTitle("SmoothTask — dashboard")
        self.graphs = Dashboard(connection)
        self.processes = ProcessTable(connection)
        self.alerts = AlertHistory(connection)
        self.addTab(self.graphs, "Graphs")
        self.addTab(self.processes, "Processes")
        self.addTab(self.alerts, "Alerts")
        # also here, not only in the tray menu: a desktop without a tray has only this window
        self.settings_button = QPushButton("Settings…")
        self.settings_button.setFlat(True)
        self.setCornerWidget(self.settings_button, Qt.Corner.TopRightCorner)
        self.resize(self.graphs.size())

    def show_process(self, pid: int) -> None:
        """Open the process table filtered to one process (the "Show" action)."""
        self.setCurrentWidget(self.processes)
        self.processes.filter.setText(str(pid))
        self.show()
        self.raise_()
        self.activateWindow()
