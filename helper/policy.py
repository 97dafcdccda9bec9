"""Type plus context -> priority class, with hysteresis and the guardrails. Pure logic.

- A focused application (the reported pid with its descendants, or its cgroup scope) is
  raised to CRIT_INTERACTIVE, but only from NORMAL or INTERACTIVE: a build running in
  the focused terminal stays BACKGROUND.
- When the user has been idle for a while the focus boost is withdrawn: nobody is
  watching, and a boosted app would only take time from the background work.
- Under I/O pressure BACKGROUND work drops to IDLE, so builds stop starving the disk.
- Hysteresis: a class, once in force, holds for at least N samples before the context
  may change it. A new process (or one that just ran another program) is classified at
  once: there is nothing to flap from.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from smoothtask_helper.model import ProcessSample
from smoothtask_helper.priority import BOOSTABLE

# Guardrail: never touched, whatever a rule says (comm as the kernel cuts it, 15 chars).
CORE_SERVICES: Final = frozenset(
    {
        "systemd",
        "init",
        "systemd-journal",
        "systemd-udevd",
        "systemd-logind",
        "dbus-daemon",
        "dbus-broker",
        "dbus-broker-lau",
        "polkitd",
        "udevd",
        "sshd",
        "auditd",
        "agetty",
        "login",
        "smoothtask-help",
    }
)
PROTECTED_TYPES: Final = frozenset({"system", "kernel"})


def protection(process: ProcessSample, type_name: str, own_pid: int) -> str | None:
    """Why this process must never be touched, or None."""
    if process.kernel_thread or process.ppid == 2 or process.pid == 2:
        return "kernel thread"
    if process.pid == 1:
        return "PID 1"
    if process.pid == own_pid:
        return "the helper itself"
    if process.comm in CORE_SERVICES:
        return "core system service"
    if type_name in PROTECTED_TYPES:
        return f"type {type_name}"
    return None


@dataclass(frozen=True, slots=True)
class Context:
    focus_boost: bool  # a focused app is known, the boost is on and the user is active
    io_pressure: bool  # I/O pressure above the threshold


def decide(base_class: str, focused: bool, context: Context) -> tuple[str, str]:
    """(class, reason) for a process of ``base_class``."""
    if focused and context.focus_boost and base_class in BOOSTABLE:
        return "CRIT_INTERACTIVE", "focused"
    if context.io_pressure and base_class == "BACKGROUND":
        return "IDLE", "I/O pressure"
    return base_class, "type"


K = TypeVar("K")


@dataclass(slots=True)
class _Held:
    process_class: str
    since: int  # sample number when it came into force


class Hysteresis(Generic[K]):
    """The class in force per key; changes only after it held ``samples`` samples."""

    def __init__(self, samples: int) -> None:
        self.samples = samples
        self._held: dict[K, _Held] = {}

    def step(self, key: K, desired: str, sample: int, fresh: bool) -> str:
        held = self._held.get(key)
        if held is None or fresh:
            self._held[key] = _Held(desired, sample)
            return desired
        if desired != held.process_class and sample - held.since >= self.samples:
            held.process_class, held.since = desired, sample
        return held.process_class

    def force(self, key: K, process_class: str, sample: int) -> None:
        """Set at once (a person asked for it): no waiting."""
        self._held[key] = _Held(process_class, sample)

    def forget(self, key: K) -> None:
        self._held.pop(key, None)

    def current(self, key: K) -> str | None:
        held = self._held.get(key)
        return None if held is None else held.process_class

    def keep_only(self, keys: Iterable[K]) -> None:
        alive = set(keys)
        for key in [k for k in self._held if k not in alive]:
            del self._held[key]
