"""The helper's own BPF cost: run time and run count per program, as bpftop shows them.

The kernel counts them only while BPF statistics are on. ``bpf_enable_stats`` (libbpf,
BPF_ENABLE_STATS, kernel 5.8+) switches them on for as long as a descriptor stays open:
they go off by themselves when the helper exits, even if it crashes, so the machine is
left as it was. The figures are read from /proc/self/fdinfo/<program fd>.
"""

import ctypes
import ctypes.util
import logging
import os
from collections.abc import Callable
from typing import cast

log = logging.getLogger(__name__)

BPF_STATS_RUN_TIME = 0
SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"


class BpfStats:
    def __init__(self) -> None:
        self._fd: int | None = None
        self.reason = "not requested"

    def enable(self) -> bool:
        """Switch run-time statistics on; False (with ``reason``) where that is impossible."""
        if self._fd is not None:
            return True
        enable = _bpf_enable_stats()
        if enable is None:
            self.reason = "libbpf with bpf_enable_stats not found"
            return self.sysctl_on()
        fd = enable(BPF_STATS_RUN_TIME)
        if fd < 0:
            self.reason = f"BPF_ENABLE_STATS failed: {os.strerror(-fd)}"
            return self.sysctl_on()
        self._fd = fd
        self.reason = ""
        return True

    def sysctl_on(self) -> bool:
        """Statistics may still be on for everyone through the sysctl."""
        try:
            with open(SYSCTL) as f:
                on = f.read().strip() == "1"
        except OSError:
            return False
        if on:
            self.reason = ""
        return on

    @property
    def enabled(self) -> bool:
        return self._fd is not None or self.sysctl_on()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def program_stats(fd: int) -> dict[str, int]:
    """run_time_ns, run_cnt (and more) of one loaded program, from its fdinfo."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/self/fdinfo/{fd}") as f:
            for line in f:
                key, _, value = line.partition(":")
                value = value.strip()
                if value.isdigit():
                    out[key.strip()] = int(value)
    except OSError:
        pass
    return out


def _bpf_enable_stats() -> Callable[[int], int] | None:
    for name in ("libbpf.so.1", "libbpf.so.0", ctypes.util.find_library("bpf"), "libbcc.so.0"):
        if not name:
            continue
        try:
            library = ctypes.CDLL(name, use_errno=True)
            function = library.bpf_enable_stats
        except (OSError, AttributeError):
            continue
        function.restype = ctypes.c_int
        function.argtypes = [ctypes.c_int]
        return cast(Callable[[int], int], function)
    return None
