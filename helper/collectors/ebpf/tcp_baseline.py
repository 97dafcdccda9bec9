"""TCP connections that existed before the tcp probe attached.

The probe counts changes from the moment it attaches. What was already established is
read once from /proc (psutil walks every process's sockets) and added; listening
sockets are written into the probe's listener map, so that connections accepted later
by an older listener are attributed to it.
"""

import logging
import socket
from collections import Counter
from typing import Any

import psutil

log = logging.getLogger(__name__)

FAMILIES = {socket.AF_INET: 2, socket.AF_INET6: 10}  # AF_* as the kernel numbers them


class TcpBaseline:
    def __init__(self) -> None:
        self._established: Counter[int] = Counter()

    def seed(self, listen_owner: Any) -> None:
        """Read the connections of every process; fill the BPF listener map."""
        try:
            connections = psutil.net_connections(kind="tcp")
        except (psutil.Error, OSError) as exc:
            log.warning("no TCP baseline (connections before the probe are not counted): %s", exc)
            return
        for conn in connections:
            if conn.pid is None:
                continue
            if conn.status == psutil.CONN_ESTABLISHED:
                self._established[conn.pid] += 1
            elif conn.status == psutil.CONN_LISTEN and conn.laddr:
                family = FAMILIES.get(conn.family)
                if family is None:
                    continue
                key = listen_owner.Key((family << 16) | conn.laddr.port)
                listen_owner[key] = listen_owner.Leaf(conn.pid)

    def established(self, pids: list[int], deltas: list[int]) -> dict[int, int]:
        """Established now, per process: baseline + change since attach, never below 0."""
        out = dict(self._established)
        for pid, delta in zip(pids, deltas, strict=True):
            out[pid] = out.get(pid, 0) + delta
        return {pid: max(0, count) for pid, count in out.items()}

    def pids(self) -> set[int]:
        return set(self._established)

    def forget(self, gone: set[int]) -> None:
        for pid in gone:
            self._established.pop(pid, None)
