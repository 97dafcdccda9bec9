"""Events from the BPF ring buffer (bpf/common.h ``struct event``), decoded."""

import ctypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EV_EXEC, EV_FORK, EV_EXIT, EV_OOM = 1, 2, 3, 4


class RawEvent(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_uint32),
        ("pid", ctypes.c_uint32),
        ("other", ctypes.c_uint32),
        ("uid", ctypes.c_uint32),
        ("time_ns", ctypes.c_uint64),
        ("value", ctypes.c_uint64),
        ("comm", ctypes.c_char * 16),
    )


@dataclass(frozen=True)
class OomKill:
    time: float  # unix seconds
    pid: int
    comm: str
    uid: int | None
    rss_bytes: int | None
    oom_score_adj: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "pid": self.pid,
            "comm": self.comm,
            "uid": self.uid,
            "rss_bytes": self.rss_bytes,
            "oom_score_adj": self.oom_score_adj,
        }


@dataclass
class EventBatch:
    """What happened since the last poll."""

    execs: list[tuple[int, str]] = field(default_factory=list)  # (pid, comm)
    exits: list[int] = field(default_factory=list)
    forks: dict[int, int] = field(default_factory=dict)  # parent pid -> clones
    oom_kills: list[OomKill] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.execs or self.exits or self.forks or self.oom_kills)


def monotonic_to_unix(ns: int) -> float:
    """bpf_ktime_get_ns() is CLOCK_MONOTONIC; give it as wall-clock time."""
    return time.time() - (time.monotonic() - ns / 1e9)


class EventDecoder:
    """Collects decoded events into the current batch; ``take()`` hands it over."""

    def __init__(self, page_size: int) -> None:
        self._page_size = page_size
        self._batch = EventBatch()

    def take(self) -> EventBatch:
        batch, self._batch = self._batch, EventBatch()
        return batch

    def callback(self) -> Callable[[Any, Any, int], int]:
        """The function bcc's ring buffer calls for each event."""

        def on_event(_ctx: Any, data: Any, size: int) -> int:
            if size < ctypes.sizeof(RawEvent):
                return 0
            self.decode(ctypes.cast(data, ctypes.POINTER(RawEvent)).contents)
            return 0

        return on_event

    def decode(self, event: RawEvent) -> None:
        batch = self._batch
        comm = event.comm.decode("utf-8", "replace")
        if event.type == EV_EXEC:
            batch.execs.append((event.pid, comm))
        elif event.type == EV_EXIT:
            batch.exits.append(event.pid)
        elif event.type == EV_FORK:
            batch.forks[event.other] = batch.forks.get(event.other, 0) + 1
        elif event.type == EV_OOM:
            batch.oom_kills.append(self._oom(event, comm))

    def _oom(self, event: RawEvent, comm: str) -> OomKill:
        uid: int | None = None if event.uid == 0xFFFFFFFF else event.uid
        if not comm or uid is None:  # an older kernel: ask /proc while the victim exists
            comm = comm or _read_comm(event.pid)
            uid = uid if uid is not None else _read_uid(event.pid)
        return OomKill(
            time=monotonic_to_unix(event.time_ns),
            pid=event.pid,
            comm=comm,
            uid=uid,
            rss_bytes=event.value * self._page_size if event.value else None,
            oom_score_adj=event.other - 1000 if event.other else None,
        )


def _read_comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _read_uid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None
