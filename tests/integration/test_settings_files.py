"""Issue 5, item 4: settings and rules through their files, restarts and hand edits."""

import asyncio
import json
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from smoothtask_helper import api
from smoothtask_helper.client import HelperClient
from smoothtask_helper.errors import InvalidArgument
from tests.support.bus import HelperProcess, PrivateBus

HAND_EDIT_DEADLINE_S = 2.0


def settings_file(helper: HelperProcess) -> Path:
    return helper.config_dir / "settings.toml"


async def with_client(address: str, action: Callable[[HelperClient], Any]) -> Any:
    client = await HelperClient.connect(address)
    try:
        return await action(client)
    finally:
        client.disconnect()


def request(address: str, action: Callable[[HelperClient], Any]) -> Any:
    return asyncio.run(with_client(address, action))


def seconds_until(address: str, check: Callable[[HelperClient], Any], limit: float) -> float:
    """Poll with one connection until ``check`` is true; the time it took."""

    async def poll(client: HelperClient) -> float:
        started = time.monotonic()
        while time.monotonic() - started < limit + 3:
            if await check(client):
                return time.monotonic() - started
            await asyncio.sleep(0.05)
        raise AssertionError(f"not picked up within {limit + 3:g} s")

    result: float = request(address, poll)
    return result


def test_settings_round_trip_through_the_file_and_a_restart(
    own_bus: PrivateBus, tmp_path: Path
) -> None:
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    changes = {"policy": {"hysteresis_samples": 5}, "classes": {"IDLE": {"nice": 17}}}
    reply = request(helper.address, lambda c: c.set_settings(changes))
    assert reply["settings"]["policy"]["hysteresis_samples"] == 5
    request(helper.address, lambda c: c.set_mode("paused"))
    on_disk = tomllib.loads(settings_file(helper).read_text())
    assert on_disk["policy"]["hysteresis_samples"] == 5
    assert on_disk["classes"]["IDLE"]["nice"] == 17
    assert on_disk["general"]["mode"] == "paused"
    assert helper.stop() == 0

    again = HelperProcess(own_bus.address, tmp_path / "helper.log", settings=None).start()
    try:
        document = request(again.address, lambda c: c.get_settings())
        assert document["error"] is None and document["source"] == "file"
        assert document["settings"]["policy"]["hysteresis_samples"] == 5
        assert document["settings"]["classes"]["IDLE"]["nice"] == 17
        assert request(again.address, lambda c: c.get_status())["mode"] == "paused"
    finally:
        assert again.stop() == 0


def test_a_corrupt_file_at_start_leaves_the_last_good_settings_in_force(
    own_bus: PrivateBus, tmp_path: Path
) -> None:
    good = '[general]\nmode = "dry-run"\n[policy]\nhysteresis_samples = 7\n'
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log", settings=good).start()
    assert helper.stop() == 0
    settings_file(helper).write_text('[policy]\nhysteresis_samples = "seven"\n[general\n')
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log", settings=None).start()
    try:
        status = request(helper.address, lambda c: c.get_status())
        assert "invalid TOML" in status["settings"]["error"]
        assert status["settings"]["source"] == "last good copy"
        assert status["mode"] == "dry-run"
        document = request(helper.address, lambda c: c.get_settings())
        assert document["settings"]["policy"]["hysteresis_samples"] == 7
        alerts = request(helper.address, lambda c: c.get_alerts(0))["alerts"]
        assert [a["kind"] for a in alerts] == ["helper-degraded"]
        assert "invalid TOML" in alerts[0]["body"]
    finally:
        assert helper.stop() == 0


def test_a_hand_edit_is_picked_up_within_2_s_and_a_bad_one_is_refused(
    own_bus: PrivateBus, tmp_path: Path
) -> None:
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    try:
        settings_file(helper).write_text(
            '[general]\nmode = "dry-run"\n[policy]\nhysteresis_samples = 9\n'
        )

        async def nine(client: HelperClient) -> bool:
            document = await client.get_settings()
            return bool(document["settings"]["policy"]["hysteresis_samples"] == 9)

        took = seconds_until(helper.address, nine, HAND_EDIT_DEADLINE_S)
        assert took <= HAND_EDIT_DEADLINE_S, f"picked up after {took:.2f} s"

        settings_file(helper).write_text("[policy]\nhysteresis_samples = 0\n")

        async def refused(client: HelperClient) -> bool:
            return bool((await client.get_status())["settings"]["error"])

        took = seconds_until(helper.address, refused, HAND_EDIT_DEADLINE_S)
        assert took <= HAND_EDIT_DEADLINE_S
        document = request(helper.address, lambda c: c.get_settings())
        assert document["settings"]["policy"]["hysteresis_samples"] == 9  # the last good
        assert "hysteresis_samples" in document["error"]
    finally:
        assert helper.stop() == 0


def test_rules_are_saved_checked_and_hand_edits_picked_up(
    own_bus: PrivateBus, tmp_path: Path
) -> None:
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    rules_file = helper.config_dir / "rules.toml"
    try:
        mine = '[[rule]]\nname = "my tool"\ntype = "build"\n[rule.match]\ncomm = "mytool"\n'
        reply = request(helper.address, lambda c: c.set_rules(mine))
        assert reply["rules"] == 1 and rules_file.read_text() == mine
        with pytest.raises(InvalidArgument, match="below -10"):
            request(
                helper.address,
                lambda c: c.set_rules(mine.replace('"build"', '"build"\nnice = -20')),
            )
        assert rules_file.read_text() == mine
        rules_file.write_text(mine.replace("mytool", "othertool"))

        async def edited(client: HelperClient) -> bool:
            rules = await client.get_rules()
            return bool(rules["rules"][0]["match"]["comm"] == ["othertool"])

        assert seconds_until(helper.address, edited, HAND_EDIT_DEADLINE_S) <= HAND_EDIT_DEADLINE_S
        document = request(helper.address, lambda c: c.get_rules())
        assert document["sources"][0]["error"] is None
        assert json.dumps(document)  # one JSON document
    finally:
        assert helper.stop() == 0


def test_alerts_and_history_documents(own_bus: PrivateBus, tmp_path: Path) -> None:
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    try:
        alerts = request(helper.address, lambda c: c.get_alerts(0))
        assert alerts == {"alerts": [], "next_id": 1, "capacity": 500}
        time.sleep(2.5)
        history = request(helper.address, lambda c: c.get_history(60))
        assert len(history) >= 2
        assert all(set(h) >= {"time", "cpu", "memory", "psi"} for h in history)
        times = [h["time"] for h in history]
        assert times == sorted(times)
        status = request(helper.address, lambda c: c.get_status())
        assert status["history"]["seconds"] >= 900  # at least 15 minutes are kept
        assert status["version"] == api.VERSION
    finally:
        assert helper.stop() == 0
