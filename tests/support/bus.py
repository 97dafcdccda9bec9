"""Real D-Bus daemons and a real helper process for tests."""

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from smoothtask_helper import api
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"


def name_owner_pid(address: str, name: str = api.BUS_NAME) -> int | None:
    """The pid of the process that owns ``name`` on the bus, or None."""
    result = subprocess.run(
        [
            "dbus-send",
            f"--bus={address}",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/",
            "org.freedesktop.DBus.GetConnectionUnixProcessID",
            f"string:{name}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    words = result.stdout.split()
    return int(words[-1]) if result.returncode == 0 and words and words[-1].isdigit() else None


def name_has_owner(address: str, name: str = api.BUS_NAME) -> bool:
    result = subprocess.run(
        [
            "dbus-send",
            f"--bus={address}",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/",
            "org.freedesktop.DBus.NameHasOwner",
            f"string:{name}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return "boolean true" in result.stdout


@dataclass
class PrivateBus:
    """A system-like dbus-daemon in a folder other users can reach (not pytest's 0700 tmp)."""

    folder: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="st-bus-", dir="/tmp"))
    )
    address: str = ""

    def start(self) -> "PrivateBus":
        out = subprocess.run(
            [str(SCRIPTS / "private-bus.sh"), str(self.folder), "root"],
            capture_output=True,
            text=True,
            check=True,
        )
        self.address = out.stdout.strip()
        return self

    def stop(self) -> None:
        pid_file = self.folder / "bus.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text())
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        shutil.rmtree(self.folder, ignore_errors=True)


# Tests that do not test the policy run the helper in dry-run: it classifies and decides
# but changes no priority on this machine (the test runner, the lead's builds ...).
DRY_RUN_SETTINGS = '[general]\nmode = "dry-run"\n'


@dataclass
class HelperProcess:
    """``smoothtask-helper`` as a subprocess, its log kept for failure messages.

    Its settings, rules and journal live in ``config/`` and ``state/`` beside the log
    (never /etc or /var/lib); ``settings`` (TOML), when given, is written before it starts.
    """

    address: str
    log_path: Path
    extra_args: tuple[str, ...] = ()
    settings: str | None = DRY_RUN_SETTINGS
    proc: subprocess.Popen[bytes] | None = None

    @property
    def config_dir(self) -> Path:
        return self.log_path.parent / "config"

    @property
    def state_dir(self) -> Path:
        return self.log_path.parent / "state"

    def start(self, timeout: float = 20.0) -> "HelperProcess":
        self.config_dir.mkdir(parents=True, exist_ok=True)
        if self.settings is not None:
            (self.config_dir / "settings.toml").write_text(self.settings)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "smoothtask_helper",
                "--bus",
                self.address,
                "--config-dir",
                str(self.config_dir),
                "--state-dir",
                str(self.state_dir),
                *self.extra_args,
            ],
            stdout=log,
            stderr=log,
            # its own session, as under systemd: its work is not the test's session's
            start_new_session=True,
        )
        log.close()

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"helper exited with {self.proc.returncode}:\n{self.log()}")
            # this helper, not one an earlier test left running
            return self.proc is not None and name_owner_pid(self.address) == self.proc.pid

        wait_for(ready, timeout, "the helper to own its bus name")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode
