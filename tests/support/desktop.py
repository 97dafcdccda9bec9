"""The virtual desktop (scripts/desktop.sh): Xvfb, openbox, trayer, dunst, a session bus."""

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.bus import SCRIPTS

NEEDED = ("Xvfb", "openbox", "trayer", "dunst", "xdotool", "xdpyinfo", "dbus-daemon")


def missing_programs() -> list[str]:
    return [p for p in NEEDED if shutil.which(p) is None]


@dataclass
class Desktop:
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="st-desktop-")))
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> "Desktop":
        out = subprocess.run(
            [str(SCRIPTS / "desktop.sh"), "start", str(self.folder)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if out.returncode != 0:
            raise RuntimeError(f"the virtual desktop did not start:\n{out.stderr}")
        for line in out.stdout.splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            self.env[key] = value
        return self

    def stop(self) -> None:
        subprocess.run([str(SCRIPTS / "desktop.sh"), "stop", str(self.folder)], check=False)
        shutil.rmtree(self.folder, ignore_errors=True)

    def run(self, *cmd: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={**os.environ, **self.env},
        )
