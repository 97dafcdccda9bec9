"""Pure policy: type + context -> class, hysteresis, guardrails."""

from dataclasses import replace

import pytest

from smoothtask_helper.model import ProcessSample
from smoothtask_helper.policy import Context, Hysteresis, decide, protection

ACTIVE = Context(focus_boost=True, io_pressure=False)
IDLE_USER = Context(focus_boost=False, io_pressure=False)
IO_PRESSURE = Context(focus_boost=True, io_pressure=True)

PROCESS = ProcessSample(
    pid=4242, start_time=1.0, comm="editor", uid=1000, ppid=100, state="S", threads=1,
    cpu_percent=0.0, rss_bytes=0, nice=0, ionice="none", kernel_thread=False,
    process_class="NORMAL", process_type="unclassified",
)  # fmt: skip


@pytest.mark.parametrize(
    ("base", "focused", "context", "expected"),
    [
        ("NORMAL", True, ACTIVE, "CRIT_INTERACTIVE"),
        ("INTERACTIVE", True, ACTIVE, "CRIT_INTERACTIVE"),
        ("BACKGROUND", True, ACTIVE, "BACKGROUND"),  # a build in the focused terminal
        ("IDLE", True, ACTIVE, "IDLE"),
        ("NORMAL", False, ACTIVE, "NORMAL"),
        ("NORMAL", True, IDLE_USER, "NORMAL"),  # nobody is watching
        ("BACKGROUND", False, IO_PRESSURE, "IDLE"),
        ("NORMAL", False, IO_PRESSURE, "NORMAL"),
        ("CRIT_INTERACTIVE", False, ACTIVE, "CRIT_INTERACTIVE"),
    ],
)
def test_decide(base: str, focused: bool, context: Context, expected: str) -> None:
    assert decide(base, focused, context)[0] == expected


def test_hysteresis_holds_a_class_for_n_samples() -> None:
    held: Hysteresis[str] = Hysteresis(3)
    assert held.step("p", "CRIT_INTERACTIVE", 1, fresh=True) == "CRIT_INTERACTIVE"
    assert held.step("p", "NORMAL", 2, fresh=False) == "CRIT_INTERACTIVE"
    assert held.step("p", "NORMAL", 3, fresh=False) == "CRIT_INTERACTIVE"
    assert held.step("p", "NORMAL", 4, fresh=False) == "NORMAL"
    assert held.step("p", "CRIT_INTERACTIVE", 5, fresh=False) == "NORMAL"  # held again


def test_a_new_program_is_classified_at_once() -> None:
    held: Hysteresis[str] = Hysteresis(3)
    held.step("p", "NORMAL", 1, fresh=True)
    assert held.step("p", "BACKGROUND", 2, fresh=True) == "BACKGROUND"


def test_a_person_forces_a_class_at_once() -> None:
    held: Hysteresis[str] = Hysteresis(10)
    held.step("p", "NORMAL", 1, fresh=True)
    held.force("p", "IDLE", 2)
    assert held.current("p") == "IDLE"
    held.forget("p")
    assert held.current("p") is None


@pytest.mark.parametrize(
    ("changes", "type_name", "reason"),
    [
        ({"kernel_thread": True}, "kernel", "kernel thread"),
        ({"ppid": 2}, "unclassified", "kernel thread"),
        ({"pid": 1}, "unclassified", "PID 1"),
        ({"pid": 777}, "unclassified", "the helper itself"),
        ({"comm": "dbus-daemon"}, "build", "core system service"),
        ({}, "system", "type system"),
        ({}, "build", None),
    ],
)
def test_guardrails(changes: dict[str, object], type_name: str, reason: str | None) -> None:
    assert protection(replace(PROCESS, **changes), type_name, own_pid=777) == reason  # type: ignore[arg-type]
