"""An ananicy-cpp style rules directory, written here, loads and classifies (issue 4, item 4)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from smoothtask_helper.ananicy import load_directory
from smoothtask_helper.rules import combine, load_defaults

TYPES = """\
# ananicy-cpp types
{"type": "Game", "nice": -5, "ioclass": "best-effort", "latency_nice": -10}
{"type": "BG_CPUIO", "nice": 16, "ioclass": "idle", "sched": "idle"}
{"type": "Heavy_CPU", "nice": 9, "sched": "batch"}
{"type": "LowLatency_RT", "nice": -10, "sched": "rr"}
{"type": "Doc-View", "nice": -3}
"""

RULES = """\
# games
{ "name": "supertuxkart", "type": "Game" }
{ "name": "gcc", "type": "BG_CPUIO" }

{ "name": "blender", "type": "Heavy_CPU" }
this is not json
{ "name": "jackd", "type": "LowLatency_RT" }
{ "name": "evince", "type": "Doc-View" }
{ "name": "greedy", "nice": -15 }
["an", "array"]
{ "type": "Game" }
{ "name": "fifo-fan", "sched": "fifo" }
{ "name": "mystery", "type": "NoSuchType" }
{ "name": "plain-background", "nice": 12 }
{ "name": "averyveryverylongname", "nice": 19 }
"""


@dataclass
class Facts:
    comm: str
    exe: str = ""
    cmdline: str = ""
    cgroup: str = ""
    unit: str = ""
    user: str = "ann"
    uid: int = 1000
    ancestors: Sequence[str] = field(default_factory=list)


def write_database(root: Path) -> None:
    (root / "00-default" / "games").mkdir(parents=True)
    (root / "00-types.types").write_text(TYPES)
    (root / "00-default" / "games" / "mixed.rules").write_text(RULES)
    (root / "00-cgroups.cgroups").write_text('{"cgroup": "cpu80", "CPUQuota": 80}\n')


def test_directory_loads_and_classifies(tmp_path: Path) -> None:
    write_database(tmp_path)
    loaded = load_directory(tmp_path)
    assert loaded.files == 2  # .cgroups files are not rules
    rules = combine([loaded.document, load_defaults()])

    def decided(comm: str) -> tuple[str, str] | None:
        rule = rules.match(Facts(comm))
        return None if rule is None else (rule.type, rules.class_of(rule))

    assert decided("supertuxkart") == ("game", "INTERACTIVE")
    assert decided("gcc") == ("build", "IDLE")  # idle I/O class: IDLE
    assert decided("blender") == ("build", "BACKGROUND")  # SCHED_BATCH
    assert decided("evince") == ("editor", "INTERACTIVE")
    assert decided("plain-background") == ("ananicy", "BACKGROUND")
    # names longer than the kernel's 15 characters also match the cut comm
    assert decided("averyveryverylo") == ("ananicy", "BACKGROUND")
    rule = rules.match(Facts("gcc"))
    assert rule is not None and rule.source == f"{tmp_path}/00-default/games/mixed.rules:3"


def test_malformed_lines_are_reported_with_file_and_line_and_skipped(tmp_path: Path) -> None:
    write_database(tmp_path)
    loaded = load_directory(tmp_path)
    rules_file = tmp_path / "00-default" / "games" / "mixed.rules"
    types_file = tmp_path / "00-types.types"
    errors = "\n".join(loaded.errors)
    expected = [
        (types_file, 5, "real-time scheduling"),
        (rules_file, 6, "not a JSON object"),
        (rules_file, 7, "LowLatency_RT' was refused"),
        (rules_file, 9, "below -10"),
        (rules_file, 10, "not a JSON object"),
        (rules_file, 11, "needs a 'name'"),
        (rules_file, 12, "real-time scheduling"),
        (rules_file, 13, "unknown type 'NoSuchType'"),
    ]
    for path, line, reason in expected:
        assert any(e.startswith(f"{path}:{line}: ") and reason in e for e in loaded.errors), (
            f"{path}:{line} ({reason}) not in:\n{errors}"
        )
    assert loaded.error_count == len(expected)
    names = {r.name for r in loaded.document.rules}
    assert "ananicy:jackd" not in names and "ananicy:greedy" not in names
    assert "ananicy:supertuxkart" in names


def test_a_missing_directory_is_one_error(tmp_path: Path) -> None:
    loaded = load_directory(tmp_path / "nope")
    assert loaded.error_count == 1 and "not a directory" in loaded.errors[0]
    assert loaded.document.rules == ()
