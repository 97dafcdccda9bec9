"""Without root, without kernel headers, or switched off: the helper runs on /proc, the
eBPF figures are null, and status says for each probe why."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from smoothtask_helper.collectors.ebpf import PROBE_NAMES
from tests.conftest import require, require_user
from tests.ebpf.conftest import start_helper
from tests.support.bus import HelperProcess, PrivateBus, name_has_owner
from tests.support.waiting import wait_for

EBPF_SYSTEM_KEYS = (
    "runqueue_latency_us",
    "io_latency_us",
    "tcp",
    "oom_kills",
    "reclaim",
    "gpu_jobs_us",
)
EBPF_PROCESS_KEYS = ("oncpu_ns", "runqueue_wait_ns", "runqueue_latency_p99_us", "tcp_established")


def loaded_status(helper: HelperProcess) -> dict[str, Any]:
    return wait_for(
        lambda: (s := helper.status())["ebpf"]["state"] != "loading" and s,
        30,
        "the eBPF load to finish",
    )


def assert_runs_on_proc_only(helper: HelperProcess, reason_part: str) -> None:
    status = loaded_status(helper)
    assert status["ebpf"]["state"] in ("unavailable", "disabled")
    assert set(status["probes"]) == set(PROBE_NAMES)
    for name, probe in status["probes"].items():
        assert probe["available"] is False
        assert reason_part in probe["reason"], f"{name}: {probe['reason']}"
    snapshot = helper.snapshot()
    for key in EBPF_SYSTEM_KEYS:
        assert snapshot[key] is None, key
    assert snapshot["processes"]  # /proc figures flow
    for process in snapshot["processes"][:20]:
        for key in EBPF_PROCESS_KEYS:
            assert process[key] is None, key
    assert name_has_owner(helper.address)


def test_as_a_non_root_user(tmp_path: Path) -> None:
    require_user("tester")
    bus = PrivateBus(helper_user="tester").start()
    log = tmp_path / "helper.log"
    runner = [sys.executable, "-m", "tests.support.run_helper_as", "tester"]
    helper = HelperProcess(bus.address, log, command=runner)
    try:
        helper.start()
        assert_runs_on_proc_only(helper, "not running as root")
        assert helper.status()["uid"] != 0
    finally:
        helper.stop()
        bus.stop()


def test_without_kernel_headers(own_bus: PrivateBus, tmp_path: Path) -> None:
    require(os.geteuid() == 0, "needs root to hide the headers in a mount namespace")
    modules = f"/lib/modules/{os.uname().release}"
    # A private mount namespace where the kernel's module folder (and the header link in
    # it) is an empty tmpfs: the machine itself is not touched.
    hide = f'mount -t tmpfs smoothtask-test {modules} && exec "$@"'
    wrapper = ["unshare", "--mount", "--propagation", "private", "sh", "-c", hide, "sh"]
    helper = HelperProcess(
        own_bus.address,
        tmp_path / "helper.log",
        command=[*wrapper, sys.executable, "-m", "smoothtask_helper"],
    )
    try:
        helper.start()
        assert_runs_on_proc_only(helper, "kernel headers")
    finally:
        helper.stop()
    subprocess.run(["true"], check=True)  # nothing left mounted here: the namespace is gone
    assert "smoothtask-test" not in Path("/proc/mounts").read_text()


def test_switched_off(own_bus: PrivateBus, tmp_path: Path) -> None:
    helper = start_helper(own_bus, tmp_path, "--no-ebpf")
    try:
        assert_runs_on_proc_only(helper, "switched off")
    finally:
        helper.stop()


def test_one_probe_switched_off(own_bus: PrivateBus, tmp_path: Path) -> None:
    from tests.ebpf.conftest import require_ebpf  # noqa: PLC0415

    require_ebpf()
    helper = start_helper(own_bus, tmp_path, "--disable-probe", "tcp")
    try:
        status = loaded_status(helper)
        assert status["probes"]["tcp"] == status["probes"]["tcp"] | {
            "available": False,
            "reason": "switched off in the settings",
        }
        assert status["probes"]["runqueue"]["available"] is True
        snapshot = helper.snapshot()
        assert snapshot["tcp"] is None
        assert snapshot["runqueue_latency_us"] is not None
        assert all(p["tcp_established"] is None for p in snapshot["processes"])
    finally:
        helper.stop()
