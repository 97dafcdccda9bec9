"""Real D-Bus daemons and a real helper process for tests."""

import asyncio
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smoothtask_helper import api
from smoothtask_helper.client import HelperClient
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
PR_SET_PDEATHSIG = 1
SCRIPTS = ROOT / "scripts"


def bus_call(address: str, member: str, *args: str) -> list[str]:
    """A call to the bus itself (org.freedesktop.DBus.<member>): its reply as words, or
    no words when it failed."""
    result = subprocess.run(
        [
            "dbus-send",
            f"--bus={address}",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/",
            f"org.freedesktop.DBus.{member}",
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.split() if result.returncode == 0 else []


def name_owner_pid(address: str, name: str = api.BUS_NAME) -> int | None:
    """The pid of the process that owns ``name`` on the bus, or None."""
    words = bus_call(address, "GetConnectionUnixProcessID", f"string:{name}")
    return int(words[-1]) if words and words[-1].isdigit() else None


def name_has_owner(address: str, name: str = api.BUS_NAME) -> bool:
    return bus_call(address, "NameHasOwner", f"string:{name}")[-1:] == ["true"]


def connection_pids(address: str) -> set[int]:
    """The pids of every connection on the bus."""
    names = (word.strip('"') for word in bus_call(address, "ListNames"))
    pids = (name_owner_pid(address, name) for name in names if name.startswith(":"))
    return {pid for pid in pids if pid is not None}


_PRCTL = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not in the forked child


def die_with_parent() -> None:
    """In the child before exec: if the test process dies (even killed, or aborted),
    the kernel sends this child SIGTERM, so no helper keeps its probes attached."""
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _call_json(
    address: str, member: str, signature: str = "", body: list[Any] | None = None
) -> Any:
    async def call() -> Any:
        client = await HelperClient.connect(address)
        try:
            result = await client.call_json(member, signature, body or [])
            return result
        finally:
            client.disconnect()

    return asyncio.run(call())


@dataclass
class PrivateBus:
    """A system-like dbus-daemon in a folder other users can reach (not pytest's 0700 tmp)."""

    folder: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="st-bus-", dir="/tmp"))
    )
    address: str = ""
    helper_user: str = "root"  # who may own the helper's name besides root

    proc: subprocess.Popen[str] | None = None

    def start(self) -> "PrivateBus":
        self.proc = subprocess.Popen(
            [str(SCRIPTS / "private-bus.sh"), str(self.folder), self.helper_user],
            env={**os.environ, "FOREGROUND": "1"},
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509  # only sets a signal, no threads
        )
        assert self.proc.stdout is not None
        self.address = self.proc.stdout.readline().strip()  # printed once it listens
        if not self.address:
            raise RuntimeError(f"dbus-daemon did not start (exit {self.proc.wait(10)})")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            if self.proc.stdout is not None:
                self.proc.stdout.close()
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
    # how to run it; the default is this interpreter with the helper's module
    command: list[str] = field(default_factory=lambda: [sys.executable, "-m", "smoothtask_helper"])

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
                *self.command,
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
            preexec_fn=die_with_parent,  # noqa: PLW1509  # only sets a signal, no threads
        )
        log.close()

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"helper exited with {self.proc.returncode}:\n{self.log()}")
            # this helper, not one an earlier test left running
            return self.proc is not None and name_owner_pid(self.address) == self.proc.pid

        wait_for(ready, timeout, "the helper to own its bus name")
        return self

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = _call_json(self.address, "GetStatus")
        return status

    def snapshot(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = _call_json(self.address, "GetSnapshot")
        return snapshot

    def history(self, seconds: int) -> list[dict[str, Any]]:
        """The summaries the helper kept for the last ``seconds`` (GetHistory)."""
        history: list[dict[str, Any]] = _call_json(self.address, "GetHistory", "u", [seconds])
        return history

    def alerts(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The helper's alert log (of one kind), oldest first."""
        alerts: list[dict[str, Any]] = _call_json(self.address, "GetAlerts", "u", [0])["alerts"]
        return [a for a in alerts if kind is None or a["kind"] == kind]

    def wait_ebpf_ready(self, timeout: float = 30.0) -> dict[str, Any]:
        """The status once the eBPF probes finished loading (ready or not)."""

        def loaded() -> dict[str, Any] | None:
            status = self.status()
            return status if status["ebpf"]["state"] != "loading" else None

        status = wait_for(loaded, timeout, "the helper's eBPF probes to load")
        assert status["ebpf"]["state"] == "ready", status["probes"]
        return status

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
