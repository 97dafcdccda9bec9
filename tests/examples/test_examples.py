"""The examples in examples/ run on their own and show what they promise."""

import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import require
from tests.ebpf.conftest import require_ebpf
from tests.support.cgroups import (
    VICTIM_COMM,
    memory_cgroup_available,
    memory_limited_cgroup,
    oom_kill_a_victim,
)
from tests.support.procs import BUSY_LOOP, spawn, started

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_example(name: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / name), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_runqueue_latency_of_one_pid() -> None:
    require_ebpf()
    with started(spawn(BUSY_LOOP, cpu=0), spawn(BUSY_LOOP, cpu=0)) as (hog, _other):
        example = run_example("runqueue_latency.py", str(hog.pid), "--seconds", "3")
        out, err = example.communicate(timeout=60)
    assert example.returncode == 0, err
    lines = [line for line in out.splitlines() if line.startswith(f"pid {hog.pid}: ran")]
    assert lines, out
    last = lines[-1].split()
    ran_ms, waited_ms = float(last[3]), float(last[6])
    assert ran_ms > 200 and waited_ms > 200  # two hogs share CPU 0 in turns


def test_watch_oom_kills() -> None:
    require_ebpf()
    problem = memory_cgroup_available()
    require(problem is None, problem or "")
    example = run_example("watch_oom.py", "--seconds", "20")
    try:
        assert example.stdout is not None
        assert example.stdout.readline().strip() == "watching for OOM kills"
        with memory_limited_cgroup(32 << 20) as procs:
            victim = oom_kill_a_victim(procs)
        line = example.stdout.readline()
        assert f"OOM kill: pid {victim.pid} ({VICTIM_COMM})" in line, line
    finally:
        example.kill()
        example.communicate()


def test_tcp_connections_per_process() -> None:
    require_ebpf()
    example = run_example("tcp_connections.py", "--seconds", "3", "--top", "50")
    assert example.stdout is not None
    assert example.stdout.readline().strip() == "watching TCP connections"  # attached
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    clients = [socket.create_connection(listener.getsockname()) for _ in range(5)]
    try:
        out, err = example.communicate(timeout=60)
    finally:
        for client in clients:
            client.close()
        listener.close()
    assert example.returncode == 0, err
    # this test process holds the 5 client ends and the 5 accepted ends
    mine = [line for line in out.splitlines() if "established    10" in line]
    assert any("opened     10" in line for line in mine), out
