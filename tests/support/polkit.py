"""A real polkitd on a private bus, seeing only SmoothTask's shipped actions and the test's
rules: started in a private mount namespace with those folders bind-mounted over the paths
compiled into polkitd (shared/ENVIRONMENT.md). Stopped with SIGINT, as it expects."""

import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.bus import ROOT, name_has_owner
from tests.support.waiting import wait_for

POLKITD = Path("/usr/lib/polkit-1/polkitd")
SHIPPED_POLICY = ROOT / "polkit" / "org.smoothtask.policy"
TEST_RULES = ROOT / "tests" / "data" / "polkit" / "50-smoothtask-test.rules"


@dataclass
class Polkitd:
    address: str
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="st-polkit-")))
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Polkitd":
        self.folder.chmod(0o755)
        for name in ("actions", "rules.d", "empty"):
            (self.folder / name).mkdir(mode=0o755)
        shutil.copy(SHIPPED_POLICY, self.folder / "actions")
        shutil.copy(TEST_RULES, self.folder / "rules.d")
        for path in [*(self.folder / "actions").iterdir(), *(self.folder / "rules.d").iterdir()]:
            path.chmod(0o644)
        script = (
            f"mount --bind {self.folder / 'actions'} /usr/share/polkit-1/actions && "
            f"mount --bind {self.folder / 'rules.d'} /etc/polkit-1/rules.d && "
            f"mount --bind {self.folder / 'empty'} /usr/share/polkit-1/rules.d && "
            f"exec {POLKITD}"
        )
        log = (self.folder / "polkitd.log").open("wb")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            env={"DBUS_SYSTEM_BUS_ADDRESS": self.address, "PATH": "/usr/sbin:/usr/bin:/bin"},
            stdout=log,
            stderr=log,
        )
        log.close()

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"polkitd exited:\n{self.log()}")
            return name_has_owner(self.address, "org.freedesktop.PolicyKit1")

        wait_for(up, 20, "polkitd on the bus")
        return self

    def log(self) -> str:
        path = self.folder / "polkitd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)
