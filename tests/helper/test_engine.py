"""The engine on real samples of this machine: guardrails, focus groups, labels.

No actuator here (``None``): the engine's decisions are read from ``wanted()``, which is
exactly what an actuator would be asked to hold; nothing on this machine is changed.
"""

import os
import subprocess
from collections.abc import Iterator

import pytest

from smoothtask_helper import levers
from smoothtask_helper.engine import Engine
from smoothtask_helper.model import ProcessSample, Snapshot
from smoothtask_helper.procinfo import read_identity
from smoothtask_helper.rules import combine, load_defaults, parse_rules
from smoothtask_helper.sampler import Sampler
from smoothtask_helper.settings import DEFAULTS, merged
from smoothtask_helper.validate import pid_arg
from tests.conftest import require_user
from tests.support.procs import end, spawn_as
from tests.support.waiting import wait_for

MATCH_EVERYTHING = '[[rule]]\nname = "everything"\ntype = "indexer"\n[rule.match]\ncomm = "*"\n'

PARENT_WITH_CHILDREN = """
import subprocess, sys, time
kids = [subprocess.Popen([sys.argv[1], "-c", "import time; time.sleep(3600)"]) for _ in range(2)]
time.sleep(3600)
"""


@pytest.fixture
def sampler() -> Iterator[Sampler]:
    running = Sampler(1.0)
    yield running
    running.close()


def by_pid(snapshot: Snapshot) -> dict[int, ProcessSample]:
    return {p.pid: p for p in snapshot.processes}


def test_kernel_threads_pid_1_and_core_services_are_never_wanted(sampler: Sampler) -> None:
    defaults = load_defaults()
    everything = combine([parse_rules(MATCH_EVERYTHING, "test", defaults.types), defaults])
    engine = Engine(DEFAULTS, everything, None, levers.detect())
    core = spawn_as("dbus-daemon")  # named like a core service
    with subprocess.Popen(["sleep", "60"]) as child:
        try:
            snapshot = engine.update(sampler.sample()).snapshot
            wanted = {i.pid for i in engine.wanted()}
            processes = by_pid(snapshot)
            assert child.pid in wanted  # the rule does reach ordinary processes
            assert processes[child.pid].process_class == "IDLE"
            kernel = [p for p in snapshot.processes if p.kernel_thread]
            assert kernel, "a Linux machine has kernel threads"
            for process in kernel:
                assert process.pid not in wanted
                assert (process.process_type, process.process_class) == ("kernel", "NORMAL")
            assert 1 not in wanted and processes[1].process_class == "NORMAL"
            assert core.pid not in wanted and processes[core.pid].process_class == "NORMAL"
            assert os.getpid() not in wanted  # the engine's own process (the helper's)
            engine_itself = Engine(DEFAULTS, everything, None, levers.detect(), own_pid=child.pid)
            engine_itself.update(sampler.sample())
            assert child.pid not in {i.pid for i in engine_itself.wanted()}
        finally:
            child.kill()
            end(core)


# Processes run as the test user: another user's process never takes its parent's type, so
# what classifies the test runner (started by make, an IDE, a container...) cannot leak in.


def test_a_focused_app_and_its_descendants_are_boosted_but_not_its_build(
    sampler: Sampler,
) -> None:
    user = require_user("tester").pw_name
    engine = Engine(DEFAULTS, combine([load_defaults()]), None, levers.detect())
    code = PARENT_WITH_CHILDREN.replace("sys.argv[1]", repr("/usr/bin/python3"))
    app = spawn_as("st-app", code, user=user)
    build = spawn_as("cc1plus", user=user)  # a compiler, not in the app's tree
    try:
        wait_for(lambda: len(children_of(app.pid)) == 2, 10, "the app's children")
        engine.report_focus(pid_arg(app.pid), user_idle_s=0.0)
        processes = by_pid(engine.update(sampler.sample()).snapshot)
        group = [app.pid, *children_of(app.pid)]
        for pid in group:
            assert processes[pid].process_class == "CRIT_INTERACTIVE", pid
        assert processes[build.pid].process_class == "BACKGROUND"
        assert processes[build.pid].rule == "compilers and linkers"
        wanted = engine.wanted()
        nice = {i.pid: w.nice for i, w in wanted.items()}
        assert nice[app.pid] == -8 and nice[build.pid] == 19
        # the user went idle long ago: the boost is withdrawn (after the hysteresis)
        engine.report_focus(pid_arg(app.pid), user_idle_s=10_000.0)
        for _ in range(DEFAULTS.hysteresis_samples + 1):
            processes = by_pid(engine.update(sampler.sample()).snapshot)
        assert processes[app.pid].process_class == "NORMAL"
    finally:
        end(app)
        end(build)


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


def test_class_changes_wait_for_the_hysteresis(sampler: Sampler) -> None:
    settings = merged(DEFAULTS, {"policy": {"hysteresis_samples": 2}})
    engine = Engine(settings, combine([load_defaults()]), None, levers.detect())
    app = spawn_as("st-hyst", user=require_user("tester").pw_name)
    try:
        engine.report_focus(pid_arg(app.pid), 0.0)
        classes = [by_pid(engine.update(sampler.sample()).snapshot)[app.pid].process_class]
        engine.report_focus(None, 0.0)
        for _ in range(3):
            classes.append(by_pid(engine.update(sampler.sample()).snapshot)[app.pid].process_class)
        assert classes == ["CRIT_INTERACTIVE", "CRIT_INTERACTIVE", "NORMAL", "NORMAL"]
    finally:
        end(app)


def test_unchanged_processes_keep_their_labelled_samples(sampler: Sampler) -> None:
    engine = Engine(DEFAULTS, combine([load_defaults()]), None, levers.detect())
    build = spawn_as("cc1plus")
    try:
        first = by_pid(engine.update(sampler.sample()).snapshot)
        second = by_pid(engine.update(sampler.sample()).snapshot)
        assert second[build.pid].process_class == "BACKGROUND"
        quiet = [pid for pid in first if pid in second and first[pid] is second[pid]]
        assert len(quiet) > len(first) // 2  # the fast path reuses most samples as they were
    finally:
        end(build)


def test_identity_matches_the_kernels(sampler: Sampler) -> None:
    engine = Engine(DEFAULTS, combine([load_defaults()]), None, levers.detect())
    build = spawn_as("cc1plus")
    try:
        engine.update(sampler.sample())
        (identity,) = [i for i in engine.wanted() if i.pid == build.pid]
        assert identity == read_identity(build.pid)
    finally:
        end(build)


def test_types_pass_to_children_of_the_same_user_only(sampler: Sampler) -> None:
    user = require_user("tester").pw_name
    defaults = load_defaults()
    rules = '[[rule]]\nname = "my app"\ntype = "browser"\n[rule.match]\ncomm = "st-browser"\n'
    engine = Engine(
        DEFAULTS, combine([parse_rules(rules, "test", defaults.types), defaults]), None,
        levers.detect(),
    )  # fmt: skip
    code = PARENT_WITH_CHILDREN.replace("sys.argv[1]", repr("/usr/bin/python3"))
    browser = spawn_as("st-browser", code, user=user)
    make = spawn_as("make", code, user=user)
    try:
        wait_for(lambda: len(children_of(browser.pid)) == 2, 10, "the browser's children")
        wait_for(lambda: len(children_of(make.pid)) == 2, 10, "make's children")
        processes = by_pid(engine.update(sampler.sample()).snapshot)
        for child in children_of(browser.pid):
            assert (processes[child].process_type, processes[child].rule) == (
                "browser",
                "my app (inherited)",
            )
        assert processes[make.pid].process_type == "build"
        for child in children_of(make.pid):  # what a build tool runs is classified on its own
            assert processes[child].process_type == "unclassified"
    finally:
        end(browser)
        end(make)


def test_a_sample_between_ticks_classifies_new_processes_without_counting_a_sample(
    sampler: Sampler,
) -> None:
    settings = merged(DEFAULTS, {"policy": {"hysteresis_samples": 2}})
    engine = Engine(settings, combine([load_defaults()]), None, levers.detect())
    app = spawn_as("st-between", user=require_user("tester").pw_name)
    try:
        engine.report_focus(pid_arg(app.pid), 0.0)
        engine.update(sampler.sample())
        engine.report_focus(None, 0.0)
        build = spawn_as("cc1plus")
        try:
            for _ in range(3):  # event-driven samples: no tick, so the focus class holds
                processes = by_pid(engine.update(sampler.sample(), tick=False).snapshot)
            assert processes[build.pid].process_class == "BACKGROUND"  # new: at once
            assert processes[app.pid].process_class == "CRIT_INTERACTIVE"
        finally:
            end(build)
    finally:
        end(app)
