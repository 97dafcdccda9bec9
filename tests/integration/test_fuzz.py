"""Issue 5, item 3: thousands of malformed calls from unprivileged users.

Wrong types, out-of-range numbers, huge strings, broken TOML and JSON, nonexistent
pids, PID 1 and kernel threads, sent by ``tester2`` (whom polkit refuses) and by
``tester`` (whom polkit allows to change its own processes and to configure, so that
the validators and parsers behind polkit are reached too). The helper must stay up,
answer every call with a named error without traceback text, and change nothing.

Rate limit: this helper allows many calls per second so that the calls reach the
parsers; the limit itself is tested in test_authorization.py.
"""

import json
import math
import pwd
import random
import string
import subprocess
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from smoothtask_helper import api, procinfo
from smoothtask_helper.errors import InvalidArgument
from smoothtask_helper.rules import load_defaults, parse_rules
from smoothtask_helper.settings import DEFAULTS, merged
from tests.integration.conftest import managing_settings
from tests.support.bus import HelperProcess, PrivateBus
from tests.support.call_as import call, call_as
from tests.support.procs import end, ionice_of, nice_of, spawn_as

CALLS_PER_USER = 2600
SIGNATURES = {
    "GetStatus": "", "GetSnapshot": "", "GetHistory": "u", "ListProcesses": "",
    "SetProcessClass": "us", "ResetProcessClass": "u", "GetRules": "", "SetRules": "s",
    "GetSettings": "", "SetSettings": "s", "SetMode": "s", "ReportFocus": "ud", "GetAlerts": "u",
}  # fmt: skip
WRONG = ["", "s", "u", "i", "d", "b", "x", "t", "us", "su", "ss", "uu", "ud", "du", "as",
         "a{ss}", "(us)", "sss", "uds"]  # fmt: skip
LIMITS = "\n[limits]\ncalls_per_s = 1000.0\ncall_burst = 10000\n"
NOT_A_PID = 4_000_000  # above this machine's pid_max (and below the kernel's limit)


class Fuzzer:
    def __init__(self, seed: int, own_pid: int, kernel_thread: int) -> None:
        self.random = random.Random(seed)  # noqa: S311  # reproducible, not secret
        self.own_pid = own_pid
        self.kernel_thread = kernel_thread
        self.rules_types = load_defaults().types

    def text(self, low: int = 0, high: int = 40) -> str:
        alphabet = string.ascii_lowercase + string.digits + " _-./[]{}=\"'#\n\té€😀"
        return "".join(self.random.choice(alphabet) for _ in range(self.random.randint(low, high)))

    def value(self, code: str) -> Any:  # noqa: PLR0911  # one return per D-Bus type
        r = self.random
        if code == "s":
            return r.choice([self.text(), "x" * r.choice([10, 5000, 300_000]), "IDLE", ""])
        if code in "ut":
            return r.choice([0, 1, 2, 2**31, 2**32 - 1, r.randint(0, 2**32 - 1)])
        if code in "ix":
            return r.choice([-1, 0, 1, -(2**31), 2**31 - 1])
        if code == "d":
            return r.choice([0.0, -1.0, math.nan, math.inf, 1e300])
        if code == "b":
            return r.choice([True, False])
        if code == "as":
            return [self.text() for _ in range(r.randint(0, 5))]
        if code == "a{ss}":
            return {self.text(1, 5): self.text() for _ in range(r.randint(0, 3))}
        if code == "(us)":
            return [r.randint(0, 100), self.text()]
        raise AssertionError(code)

    def values(self, signature: str) -> list[Any]:
        codes = {"as": ["as"], "a{ss}": ["a{ss}"], "(us)": ["(us)"]}.get(signature, list(signature))
        return [self.value(c) for c in codes]

    def broken_toml(self) -> str:
        r = self.random
        candidates = [
            self.text(1, 400),
            "[[rule]]\nname = 'x'\ntype = 'build'\nnice = -11\n[rule.match]\ncomm = 'a'\n",
            "[[rule]]\nname = 'x'\ntype = 'build'\nsched = 'fifo'\n[rule.match]\ncomm = 'a'\n",
            "[[rule]]\nname = 'x'\ntype = 'build'\n[rule.match]\ncmdline_regex = '(('\n",
            "[[rule]]\nname = '" + "n" * 100 + "'\ntype = 'build'\n[rule.match]\ncomm = 'a'\n",
            "[types.x]\nclass = 'TURBO'\n",
            "a = " + "[" * r.randint(100, 3000),
            "[[rule]]\n" * r.randint(1, 3000),
            "x = '" + "y" * 300_000 + "'",
            "[[rule]]\nname = 'x'\ntype = 'build'\n[rule.match]\ncomm = " + str(["a"] * 100),
        ]
        return r.choice(candidates)

    def broken_json(self) -> str:
        r = self.random
        return r.choice([
            self.text(1, 200), "[]", "null", "1", '"text"', "{", '{"general": ', "[" * 5000,
            '{"general": {"mode": "turbo"}}', '{"general": {"interval_s": -1}}',
            '{"policy": {"manage_uids": "everyone"}}', '{"classes": {"IDLE": {"nice": -20}}}',
            '{"classes": {"IDLE": {"ionice": "realtime/0"}}}', '{"limits": {"call_burst": 0}}',
            '{"nosuch": {}}', '{"general": {"mode": ' + "[" * 900 + "]" * 900 + "}}",
            '{"general": {"history_s": NaN}}', '{"policy": {"ananicy_dirs": ["../etc"]}}',
            json.dumps({"x": "y" * 70_000}),
        ])  # fmt: skip

    def malformed(self) -> dict[str, Any]:  # noqa: PLR0911  # one return per kind
        """One call that must be refused (checked against the validators where possible)."""
        r = self.random
        kind = r.randrange(9)
        if kind == 0:  # wrong argument types
            member = r.choice(list(SIGNATURES))
            signature = r.choice([s for s in WRONG if s != SIGNATURES[member]])
            return call(member, signature, *self.values(signature))
        if kind == 1:  # out of range
            return r.choice([
                call("GetHistory", "u", r.choice([0, 86_401, 2**32 - 1])),
                call("SetProcessClass", "us", r.choice([0, 2**32 - 1, 4_194_305]), "IDLE"),
                call("ResetProcessClass", "u", r.choice([0, 2**32 - 1])),
                call("ReportFocus", "ud", self.own_pid, r.choice([-1.0, math.nan, 1e300])),
                call("ReportFocus", "ud", 2**32 - 1, 0.0),
            ])  # fmt: skip
        if kind == 2:  # nonexistent pids
            pid = NOT_A_PID + r.randrange(1000)
            return r.choice([
                call("SetProcessClass", "us", pid, "IDLE"), call("ResetProcessClass", "u", pid),
                call("ReportFocus", "ud", pid, 0.0),
            ])  # fmt: skip
        if kind == 3:  # PID 1 and kernel threads
            pid = r.choice([1, 2, self.kernel_thread])
            return r.choice([
                call("SetProcessClass", "us", pid, "IDLE"), call("ResetProcessClass", "u", pid),
                call("ReportFocus", "ud", pid, 0.0),
            ])  # fmt: skip
        if kind == 4:  # bad or huge class names on one's own process
            name = r.choice([self.text(0, 30), "idle", "Normal", "x" * 1_000_000, "IDLE "])
            return call("SetProcessClass", "us", self.own_pid, name)
        if kind == 5:  # bad modes
            mode = r.choice([self.text(0, 20), "ACTIVE", "pause", "dryrun", "m" * 200_000])
            assert mode not in api.MODES
            return call("SetMode", "s", mode)
        if kind == 6:  # broken TOML
            text = self.broken_toml()
            try:
                parse_rules(text, "fuzz", self.rules_types)
            except InvalidArgument:
                return call("SetRules", "s", text)
            return self.malformed()  # valid by chance: not malformed, draw again
        if kind == 7:  # broken JSON
            text = self.broken_json()
            try:
                document = json.loads(text)
                merged(DEFAULTS, document["settings"] if isinstance(document, dict) and
                       list(document) == ["settings"] else document)  # fmt: skip
            except (ValueError, RecursionError, InvalidArgument, TypeError):
                return call("SetSettings", "s", text)
            return self.malformed()
        # reading with wrong values
        return call(r.choice(["GetHistory", "GetAlerts"]), "s", self.text())

    def calls(self, count: int) -> list[dict[str, Any]]:
        return [self.malformed() for _ in range(count)]


@pytest.fixture
def own_process(tester: pwd.struct_passwd) -> Iterator[subprocess.Popen[bytes]]:
    proc = spawn_as("st-fuzzed", user=tester.pw_name)
    yield proc
    end(proc)


def state(helper: HelperProcess, pid: int) -> dict[str, Any]:
    (settings, rules, status, alerts) = call_as(
        "root",
        helper.address,
        [call("GetSettings"), call("GetRules"), call("GetStatus"), call("GetAlerts", "u", 0)],
    )
    status_doc = json.loads(status["text"])
    return {
        "settings": json.loads(settings["text"]),
        "rules": json.loads(rules["text"])["toml"],
        "mode": status_doc["mode"],
        "overrides": status_doc["policy"]["overrides"],
        "focus": status_doc["policy"]["focus"],
        "alerts": json.loads(alerts["text"])["alerts"],
        "files": sorted(
            (p.name, p.read_bytes()) for p in helper.config_dir.iterdir() if p.is_file()
        ),
        "process": (nice_of(pid), ionice_of(pid)),
        "pid 1": nice_of(1),
    }


def test_thousands_of_malformed_calls(
    polkit_bus: PrivateBus,
    tmp_path_factory: pytest.TempPathFactory,
    tester: pwd.struct_passwd,
    tester2: pwd.struct_passwd,
    own_process: subprocess.Popen[bytes],
) -> None:
    log = tmp_path_factory.mktemp("fuzz") / "helper.log"
    settings = managing_settings(tester.pw_uid, tester2.pw_uid) + LIMITS
    helper = HelperProcess(polkit_bus.address, log, settings=settings).start()
    try:
        kernel_thread = next(pid for pid in range(3, 500) if procinfo.is_kernel_thread(pid))
        before = state(helper, own_process.pid)
        replies = []
        for seed, user in enumerate((tester2.pw_name, tester.pw_name)):
            calls = Fuzzer(seed, own_process.pid, kernel_thread).calls(CALLS_PER_USER)
            replies += call_as(user, helper.address, calls, concurrency=16, timeout=600)
        assert len(replies) >= 5000
        assert helper.proc is not None and helper.proc.poll() is None, "the helper died"
        names = Counter(r["error"] for r in replies)
        print(f"{len(replies)} malformed calls answered: {dict(names)}")
        assert not [r for r in replies if r["ok"]], "a malformed call succeeded"
        assert all(str(n).startswith(api.ERROR_PREFIX) for n in names), names
        assert names[api.ERROR_PREFIX + "Internal"] == 0, names
        leaks = [r for r in replies if "Traceback" in r["text"] or 'File "' in r["text"]]
        assert not leaks, leaks[:3]
        assert state(helper, own_process.pid) == before
        assert set(names) >= {api.ERROR_PREFIX + n for n in
                              ("InvalidArgument", "NoSuchProcess", "NotAuthorized")}  # fmt: skip
    finally:
        assert helper.stop() == 0
    assert "D-Bus method" not in helper.log()  # no method failed unexpectedly
