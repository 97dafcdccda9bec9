"""TestRules: which running processes a candidate rules document matches, before applying."""

import asyncio
from pathlib import Path
from typing import Any

import pytest

from smoothtask_helper.client import HelperClient
from smoothtask_helper.errors import InvalidArgument
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.procs import end, spawn_as
from tests.support.waiting import wait_for


def trial(address: str, toml: str) -> Any:
    async def call() -> Any:
        client = await HelperClient.connect(address)
        try:
            return await client.call_json("TestRules", "s", [toml])
        finally:
            client.disconnect()

    return asyncio.run(call())


def test_lists_what_a_rule_would_match_and_changes_nothing(
    own_bus: PrivateBus, tmp_path: Path
) -> None:
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    proc = spawn_as("st-trial-me")
    try:
        rules_before = helper.status()["rules"]
        toml = (
            '[[rule]]\nname = "trial"\ntype = "build"\n[rule.match]\ncomm = "st-trial-*"\n'
            '[[rule]]\nname = "nobody"\ntype = "build"\n[rule.match]\ncomm = "no-such-*"\n'
        )

        def listed() -> Any:
            result = trial(helper.address, toml)
            pids = [m["pid"] for m in result["rules"][0]["matches"]]
            return result if proc.pid in pids else None

        result = wait_for(listed, 10, "the process matched")
        assert result["valid"] is True
        assert result["rules"][0]["name"] == "trial" and result["rules"][0]["count"] >= 1
        assert result["rules"][1]["count"] == 0
        assert helper.status()["rules"] == rules_before  # nothing applied
    finally:
        end(proc)
        helper.stop()


def test_an_invalid_rule_is_refused_with_where(own_bus: PrivateBus, tmp_path: Path) -> None:
    helper = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    try:
        with pytest.raises(InvalidArgument, match="nice"):
            trial(
                helper.address,
                '[[rule]]\nname = "x"\ntype = "build"\nnice = -15\n[rule.match]\ncomm = "x"\n',
            )
    finally:
        helper.stop()
