"""The public contract (shared/API.md): names other programs rely on. Stdlib only."""

from typing import Final

from smoothtask_helper import __version__

VERSION: Final = __version__

BUS_NAME: Final = "org.smoothtask.Helper1"
OBJECT_PATH: Final = "/org/smoothtask/Helper1"
INTERFACE: Final = "org.smoothtask.Helper1"

ERROR_PREFIX: Final = "org.smoothtask.Error."

# Priority classes, most favoured first.
CLASSES: Final = ("CRIT_INTERACTIVE", "INTERACTIVE", "NORMAL", "BACKGROUND", "IDLE")
DEFAULT_CLASS: Final = "NORMAL"

MODES: Final = ("active", "paused", "dry-run")

# polkit actions (polkit/org.smoothtask.policy)
ACTION_SET_PRIORITY: Final = "org.smoothtask.set-priority"
ACTION_SET_PRIORITY_ANY: Final = "org.smoothtask.set-priority-any"
ACTION_CONFIGURE: Final = "org.smoothtask.configure"
