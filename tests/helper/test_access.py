"""Every D-Bus method declares its access; the polkit policy declares every action used.

A method added without ``@access.method`` fails at import (``checked``); one added as
READ must be added to READ_ONLY below, on purpose; one needing an action must find it in
polkit/org.smoothtask.policy."""

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from dbus_fast.annotations import DBusStr
from dbus_fast.service import ServiceInterface, dbus_method

from smoothtask_helper import api
from smoothtask_helper.access import Access, checked, declared_access, method
from smoothtask_helper.service import HelperInterface

POLICY = Path(__file__).resolve().parents[2] / "polkit" / "org.smoothtask.policy"
API_METHODS = {
    "GetStatus", "GetSnapshot", "GetHistory", "ListProcesses", "SetProcessClass",
    "ResetProcessClass", "GetRules", "SetRules", "GetSettings", "SetSettings", "SetMode",
    "ReportFocus", "GetAlerts",
    "TestRules",  # beyond API.md: "test this rule" in the settings window
}  # fmt: skip
API_SIGNALS = {"Sample", "Alert", "ProcessClassChanged", "StatusChanged"}
READ_ONLY = {
    "GetStatus", "GetSnapshot", "GetHistory", "ListProcesses", "GetRules", "GetSettings",
    "GetAlerts", "TestRules",
}  # fmt: skip


def policy_actions() -> dict[str, ElementTree.Element]:
    tree = ElementTree.parse(POLICY)
    return {a.get("id", ""): a for a in tree.getroot().iter("action")}


class _NoState:
    def status(self) -> dict[str, Any]:
        return {}

    def latest(self) -> Any:
        return None


def test_the_interface_has_every_method_and_signal_of_the_contract() -> None:
    introspection = HelperInterface(_NoState()).introspect()
    assert {m.name for m in introspection.methods} == API_METHODS
    assert {s.name for s in introspection.signals} == API_SIGNALS


def test_every_method_declares_its_access() -> None:
    declared = declared_access(HelperInterface)
    assert set(declared) == API_METHODS
    assert all(access is not None for access in declared.values())
    assert {name for name, access in declared.items() if access is Access.READ} == READ_ONLY


def test_every_needed_action_is_in_the_polkit_policy_and_every_action_is_needed() -> None:
    actions = policy_actions()
    used = {action for access in declared_access(HelperInterface).values()
            if access is not None for action in access.actions}  # fmt: skip
    assert (
        used
        == set(actions)
        == {
            api.ACTION_SET_PRIORITY,
            api.ACTION_SET_PRIORITY_ANY,
            api.ACTION_CONFIGURE,
        }
    )
    for action in actions.values():
        assert (action.findtext("description") or "").strip()
        assert "Authentication is required" in (action.findtext("message") or "")


def test_a_method_without_a_declared_access_is_refused_at_import() -> None:
    with pytest.raises(TypeError, match="without a declared access: Sneaky"):

        @checked
        class Leaky(ServiceInterface):
            @dbus_method()
            async def Sneaky(self) -> DBusStr:
                return ""


def test_every_argument_needs_a_validator() -> None:
    with pytest.raises(TypeError, match="1 arguments but 0 validators"):

        class Careless(ServiceInterface):
            @method(Access.CONFIGURE)
            async def Take(self, text: DBusStr) -> DBusStr:
                return text
