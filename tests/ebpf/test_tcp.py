"""TCP connections per process, seen by the helper, against what the test opened."""

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.support.bus import HelperProcess
from tests.support.waiting import wait_for

CONNECTIONS = 50

# Opens N connections to PORT, says "open", waits; on a line closes them all, says
# "closed", and waits again: the test decides when each step happens.
HOLDER = """
import socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
print("open", flush=True)
sys.stdin.readline()
for c in conns:
    c.close()
print("closed", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def server() -> Iterator[socket.socket]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(CONNECTIONS * 2)  # the backlog completes the handshakes: no accept()
    yield listener
    listener.close()


def established(helper: HelperProcess, pid: int) -> int | None:
    entry = next((p for p in helper.snapshot()["processes"] if p["pid"] == pid), None)
    return None if entry is None else entry["tcp_established"]


def test_fifty_loopback_connections_then_none(
    ebpf_helper: HelperProcess, server: socket.socket
) -> None:
    port = server.getsockname()[1]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(port), str(CONNECTIONS)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "open"
        wait_for(
            lambda: established(ebpf_helper, holder.pid) == CONNECTIONS,
            10,
            f"tcp_established == {CONNECTIONS}",
        )
        entry = next(p for p in ebpf_helper.snapshot()["processes"] if p["pid"] == holder.pid)
        assert entry["tcp_opened"] == CONNECTIONS

        holder.stdin.write("close\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "closed"
        wait_for(lambda: established(ebpf_helper, holder.pid) == 0, 10, "tcp_established == 0")
        entry = next(p for p in ebpf_helper.snapshot()["processes"] if p["pid"] == holder.pid)
        assert entry["tcp_closed"] == CONNECTIONS
        assert ebpf_helper.snapshot()["tcp"]["established"] >= 0
    finally:
        holder.kill()
        holder.communicate()
