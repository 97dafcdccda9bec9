"""eBPF tests run as root on the real kernel; in CI they must run, not skip."""

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothtask_helper.collectors.ebpf import EbpfCollector, EbpfConfig
from tests.conftest import require
from tests.support.bus import HelperProcess, PrivateBus


@functools.cache
def ebpf_problem() -> str | None:
    """Why eBPF cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root"
    probe = EbpfCollector(EbpfConfig(probes=frozenset({"runqueue"}), bpf_stats=False))
    probe.load()
    reason = probe.probe_status()["runqueue"]["reason"]
    ready = probe.state == "ready"
    probe.close()
    return None if ready else f"eBPF unavailable: {reason}"


def require_ebpf() -> None:
    problem = ebpf_problem()
    require(problem is None, problem or "")


@pytest.fixture(scope="module")
def collector() -> Iterator[EbpfCollector]:
    """Every probe, loaded once per test module."""
    require_ebpf()
    loaded = EbpfCollector(EbpfConfig())
    loaded.load()
    assert loaded.state == "ready", loaded.probe_status()
    yield loaded
    loaded.close()


@pytest.fixture
def ebpf_helper(helper: HelperProcess) -> HelperProcess:
    """The session helper, once its probes are attached."""
    require_ebpf()
    helper.wait_ebpf_ready()
    return helper


def start_helper(bus: PrivateBus, tmp_path: Path, *args: str) -> HelperProcess:
    return HelperProcess(bus.address, tmp_path / "helper.log", extra_args=args).start()
