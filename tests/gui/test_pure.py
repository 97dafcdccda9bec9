"""Pure parts of the GUI: ring buffers, the health verdict, the rule editor, labels."""

import math
import tomllib

import numpy as np
import pytest
from PySide6.QtWidgets import QApplication

from smoothtask_gui.axes import LatencyAxis
from smoothtask_gui.controller import FocusReport
from smoothtask_gui.health import Health, assess
from smoothtask_gui.ringbuffer import RingBuffer, TimeSeries
from smoothtask_gui.rule_editor import parse, patterns
from smoothtask_gui.tray import tooltip


def test_ring_buffer_keeps_the_last_values_in_order() -> None:
    ring = RingBuffer(3)
    assert len(ring) == 0
    for value in (1, 2, 3, 4, 5):
        ring.append(value)
    assert len(ring) == 3
    assert ring.values().tolist() == [3, 4, 5]
    ring.clear()
    assert ring.values().tolist() == []


def test_ring_buffer_refuses_zero_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        RingBuffer(0)


def test_time_series_window() -> None:
    series = TimeSeries(("a", "b"), capacity=5)
    for t in range(8):
        series.append(float(t), {"a": t * 10.0})  # "b" missing: NaN, a gap in the plot
    times, values = series.window(5.0)
    assert times.tolist() == [5.0, 6.0, 7.0]
    assert values["a"].tolist() == [50.0, 60.0, 70.0]
    assert np.isnan(values["b"]).all()


def psi_sample(cpu: float = 0.0, memory: float = 0.0, io_full: float = 0.0) -> dict[str, object]:
    return {
        "psi": {
            "cpu": {"some_avg10": cpu},
            "memory": {"some_avg10": memory},
            "io": {"full_avg10": io_full},
        }
    }


@pytest.mark.parametrize(
    ("sample", "health"),
    [
        (None, Health.DISCONNECTED),
        (psi_sample(), Health.OK),
        ({"psi": None}, Health.OK),
        (psi_sample(cpu=25.0), Health.BUSY),
        (psi_sample(cpu=55.0), Health.STRAINED),
        (psi_sample(memory=12.0), Health.STRAINED),
        (psi_sample(io_full=16.0), Health.STRAINED),
        (psi_sample() | {"runqueue_latency_us": {"p99": 5_000.0}}, Health.OK),
        (psi_sample() | {"runqueue_latency_us": {"p99": 20_000.0}}, Health.BUSY),
        (psi_sample() | {"runqueue_latency_us": {"p99": 45_000.0}}, Health.STRAINED),
        ({"psi": None, "runqueue_latency_us": {"p99": 45_000.0}}, Health.STRAINED),
        ({"psi": None, "runqueue_latency_us": {"p99": None}}, Health.OK),
    ],
)
def test_health(sample: dict[str, object] | None, health: Health) -> None:
    assert assess(sample) is health


def test_the_rule_editor_keeps_what_it_does_not_show() -> None:
    text = (
        '[types.render]\nclass = "BATCH_HEAVY"\n\n'
        '[[rule]]\nname = "blender"\ntype = "render"\npriority_note = "mine"\n'
        '[rule.match]\ncomm = "blender"\nexe = ["/usr/bin/blender", "/opt/*/blender"]\n'
    )
    edited = parse(text)
    assert edited.rules[0].match == {
        "comm": ["blender"],
        "exe": ["/usr/bin/blender", "/opt/*/blender"],
    }
    edited.rules[0].match["comm"] = patterns(" blender , blender-bin,")
    again = tomllib.loads(edited.to_toml())
    assert again["types"] == {"render": {"class": "BATCH_HEAVY"}}
    assert again["rule"][0]["priority_note"] == "mine"
    assert again["rule"][0]["match"]["comm"] == ["blender", "blender-bin"]
    assert again["rule"][0]["match"]["exe"] == ["/usr/bin/blender", "/opt/*/blender"]


def test_the_rule_editor_leaves_a_malformed_match_for_the_helper_to_name() -> None:
    edited = parse('[[rule]]\nname = "x"\ntype = "build"\nmatch = 5\n')
    assert edited.rules[0].match == {}
    assert tomllib.loads(edited.to_toml())["rule"][0]["match"] == 5
    with pytest.raises(ValueError):
        parse("[[rule]\n")


def test_the_tooltip_says_when_focus_cannot_be_followed() -> None:
    note = "no X11 display: on plain Wayland the desktop offers no standard way"
    assert tooltip(None, "connecting…", focus=note).endswith(f"focus not followed: {note}")
    assert "focus" not in tooltip(None, "connecting…")


def test_the_latency_axis_labels_only_round_values_as_durations(qapp: QApplication) -> None:
    axis = LatencyAxis("left")
    axis.setLogMode(False, True)
    minors = [math.log10(v) for v in (200, 300, 400, 500, 600, 700, 800, 900)]
    labels = axis.logTickStrings(minors, 1.0, 1.0)
    assert labels == ["200 µs", "", "", "500 µs", "", "", "", ""]
    assert axis.logTickStrings([3.0, 4.0, 5.0, 6.0], 1.0, 1.0) == ["1 ms", "10 ms", "100 ms", "1 s"]
    narrow = [math.log10(v) for v in (300, 400)]
    assert axis.logTickStrings(narrow, 1.0, 1.0) == ["300 µs", "400 µs"]


def test_a_focus_report_is_news_while_the_person_stays_active() -> None:
    first = FocusReport(42, 0.3, at=100.0)
    assert first.is_news_after(None)
    # active all along: idle stays near 0 while the clock runs; the helper must hear it,
    # or it would count 60 s of idle from the last report and end the person's alerts
    assert FocusReport(42, 0.5, at=105.0).is_news_after(first)
    # idle since: idle grew with the clock, as the helper already counts
    assert not FocusReport(42, 5.3, at=105.0).is_news_after(first)
    # the focus moved
    assert FocusReport(7, 5.3, at=105.0).is_news_after(first)
