"""Start on login: the XDG autostart entry in the person's own config folder."""

import os
from importlib import resources
from pathlib import Path

ENTRY = "smoothtask.desktop"


def autostart_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / ENTRY


def enabled() -> bool:
    return autostart_path().is_file()


def set_enabled(on: bool) -> None:
    """Write or remove the entry (OSError to the caller: the window says why)."""
    path = autostart_path()
    if not on:
        path.unlink(missing_ok=True)
        return
    text = resources.files("smoothtask_gui").joinpath("data/smoothtask-autostart.desktop")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text.read_text())
    temporary.replace(path)  # never a half-written entry
