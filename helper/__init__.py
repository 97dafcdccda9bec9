"""SmoothTask helper: the privileged part that measures and (later) sets priorities.

Also home of the public contract (``api``), the data model and the D-Bus client,
which the tray app and ``smoothtaskctl`` share.
"""

__version__ = "0.1.0"
