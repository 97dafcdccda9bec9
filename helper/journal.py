"""The on-disk record of every value the actuator changed, so that each can be put back.

Written before a change is made (write-ahead), atomically, so a crash at any moment
leaves a journal that covers every change in force. At start the helper restores what an
earlier run left. A value is put back only while it still holds what SmoothTask set:
anything else was changed by someone else since, and is theirs.

Processes are keyed by (pid, start ticks); after a reboot (another boot id) the journal
is void: none of its processes exist any more.
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smoothtask_helper.atomic import write_atomic
from smoothtask_helper.procinfo import Identity

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
IoValue = tuple[int, int]  # (I/O class, level)


@dataclass(slots=True)
class LeverRecord:
    """One lever of one process: the value per thread before we set ours, and ours."""

    original: dict[int, Any]  # tid -> value (nice: int, ionice: IoValue)
    ours: Any

    def original_for(self, tid: int, pid: int) -> Any:
        """A thread started after we set ours takes the main thread's original."""
        return self.original.get(tid, self.original.get(pid))


@dataclass(slots=True)
class ProcessRecord:
    identity: Identity
    comm: str
    nice: LeverRecord | None = None
    ionice: LeverRecord | None = None
    released: set[str] = field(default_factory=set)  # levers someone else took over

    def holds_values(self) -> bool:
        return self.nice is not None or self.ionice is not None


@dataclass(slots=True)
class GroupRecord:
    """An autogroup's nice or a cgroup's CPU weight."""

    kind: str  # "autogroup" or "cgroup"
    key: str  # autogroup id, or the cgroup's weight file
    original: int
    ours: int
    member: Identity | None = None  # autogroup: a process through which it is reached
    released: bool = False


def _lever_json(lever: LeverRecord | None) -> Any:
    if lever is None:
        return None
    return {"original": {str(t): v for t, v in lever.original.items()}, "ours": lever.ours}


def _lever_from(raw: Any, io: bool) -> LeverRecord | None:
    if raw is None:
        return None

    def value(v: Any) -> Any:
        return (int(v[0]), int(v[1])) if io else int(v)

    return LeverRecord({int(t): value(v) for t, v in raw["original"].items()}, value(raw["ours"]))


def group_id(kind: str, key: str) -> str:
    return f"{kind}:{key}"


class Journal:
    def __init__(self, path: Path, boot_id: str) -> None:
        self.path = path
        self.boot_id = boot_id
        self.processes: dict[Identity, ProcessRecord] = {}
        self.groups: dict[str, GroupRecord] = {}
        self._dirty = False

    def load(self) -> None:
        """Read what an earlier run left; a journal from another boot is void."""
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.error("journal %s is unreadable (%s); nothing to restore from it", self.path, exc)
            self._dirty = True
            return
        if raw.get("boot_id") != self.boot_id or raw.get("version") != FORMAT_VERSION:
            log.info("journal %s is from another boot; nothing to restore", self.path)
            self._dirty = True
            return
        try:
            for item in raw.get("processes", []):
                identity = Identity(int(item["pid"]), int(item["start_ticks"]))
                self.processes[identity] = ProcessRecord(
                    identity,
                    str(item.get("comm", "")),
                    _lever_from(item.get("nice"), io=False),
                    _lever_from(item.get("ionice"), io=True),
                    set(item.get("released", [])),
                )
            for item in raw.get("groups", []):
                member = item.get("member")
                record = GroupRecord(
                    str(item["kind"]),
                    str(item["key"]),
                    int(item["original"]),
                    int(item["ours"]),
                    None if member is None else Identity(int(member[0]), int(member[1])),
                    bool(item.get("released", False)),
                )
                self.groups[group_id(record.kind, record.key)] = record
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            log.error("journal %s is malformed (%s); restoring what could be read", self.path, exc)

    def mark(self) -> None:
        self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty

    def flush(self) -> None:
        """Write the journal if it changed; raises OSError when that fails."""
        if not self._dirty:
            return
        document = {
            "version": FORMAT_VERSION,
            "boot_id": self.boot_id,
            "processes": [
                {
                    "pid": r.identity.pid,
                    "start_ticks": r.identity.start_ticks,
                    "comm": r.comm,
                    "nice": _lever_json(r.nice),
                    "ionice": _lever_json(r.ionice),
                    "released": sorted(r.released),
                }
                for r in self.processes.values()
            ],
            "groups": [
                {
                    "kind": g.kind,
                    "key": g.key,
                    "original": g.original,
                    "ours": g.ours,
                    "member": None if g.member is None else [g.member.pid, g.member.start_ticks],
                    "released": g.released,
                }
                for g in self.groups.values()
            ],
        }
        write_atomic(self.path, json.dumps(document, separators=(",", ":")).encode(), 0o600)
        self._dirty = False


def read_boot_id(path: Path = Path("/proc/sys/kernel/random/boot_id")) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return "unknown"
