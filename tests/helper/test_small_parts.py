"""History ring buffer, alert log, rate limiter, the safe error rendering."""

import json

import pytest

from smoothtask_helper.alertlog import AlertLog
from smoothtask_helper.errors import shown
from smoothtask_helper.history import History
from smoothtask_helper.ratelimit import RateLimiter


def test_history_keeps_more_than_15_minutes_at_1_hz() -> None:
    history = History(1800, 1.0)
    for second in range(4000):
        history.add(float(second), json.dumps({"time": float(second)}))
    last_15_min = json.loads(history.json_since(900))
    assert len(last_15_min) == 900
    assert last_15_min[0]["time"] == 3100.0 and last_15_min[-1]["time"] == 3999.0
    assert len(json.loads(history.json_since(86400))) == 1801  # the capacity: 30 min + 1


def test_history_resizes_with_the_interval() -> None:
    history = History(900, 1.0)
    history.resize(900, 0.5)
    for i in range(5000):
        history.add(i * 0.5, "{}")
    assert len(history) == 1801
    assert History(900, 1.0).json_since(10) == "[]"


def test_alert_log_is_bounded_and_numbered() -> None:
    log = AlertLog(capacity=3)
    for i in range(5):
        log.add("helper-degraded", "warning", f"t{i}", "b", pid=None, detail=i)
    document = log.document(0)
    assert [a["id"] for a in document["alerts"]] == [3, 4, 5]
    assert document["next_id"] == 6 and document["capacity"] == 3
    assert set(document["alerts"][0]) >= {"id", "time", "kind", "severity", "title", "body", "pid"}
    assert document["alerts"][0]["detail"] == 2
    assert [a.id for a in log.since(4)] == [5]
    with pytest.raises(ValueError, match="severity"):
        log.add("x", "apocalyptic", "t", "b")


def test_rate_limiter_allows_a_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, 3, clock=lambda: now[0])
    assert [limiter.allow(1000) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow(1001)  # another caller has its own bucket
    now[0] = 0.5  # one token back at 2 per second
    assert limiter.allow(1000) and not limiter.allow(1000)
    assert limiter.retry_after(1000) == pytest.approx(0.5)


def test_shown_is_bounded_for_any_value() -> None:
    deep: list[object] = []
    node = deep
    for _ in range(5000):
        child: list[object] = []
        node.append(child)
        node = child
    assert len(shown(deep)) < 80
    assert len(shown("x" * 10_000)) < 80
