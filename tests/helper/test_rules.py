"""Rules: parsing, validation (every error names where), matching, the shipped defaults."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from smoothtask_helper.errors import InvalidArgument
from smoothtask_helper.rules import (
    MAX_DOCUMENT_BYTES,
    RulesDocument,
    combine,
    load_defaults,
    parse_rules,
)


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


DEFAULTS = load_defaults()
RULES = combine([DEFAULTS])


def type_of(facts: Facts) -> tuple[str | None, str | None]:
    rule = RULES.match(facts)
    return (None, None) if rule is None else (rule.type, RULES.class_of(rule))


@pytest.mark.parametrize(
    ("comm", "expected"),
    [
        ("cc1plus", ("build", "BACKGROUND")),
        ("rustc", ("build", "BACKGROUND")),
        ("ninja", ("build", "BACKGROUND")),
        ("ld.lld", ("build", "BACKGROUND")),
        ("firefox", ("browser", "NORMAL")),
        ("pipewire", ("audio", "CRIT_INTERACTIVE")),
        ("baloo_file", ("indexer", "IDLE")),
        ("packagekitd", ("updater", "IDLE")),
        ("qbittorrent", ("torrent", "IDLE")),
        ("restic", ("backup", "IDLE")),
        ("wineserver", ("game", "INTERACTIVE")),
        ("systemd", ("system", "NORMAL")),
        ("conmon", ("container", "BACKGROUND")),
        ("bash", (None, None)),
    ],
)
def test_shipped_defaults_classify_common_software(
    comm: str, expected: tuple[str | None, str | None]
) -> None:
    assert type_of(Facts(comm)) == expected


def test_defaults_cover_every_kind_the_issue_lists() -> None:
    types = {r.type for r in DEFAULTS.rules}
    assert types >= {
        "browser", "ide", "editor", "terminal", "game", "audio", "video", "build",
        "indexer", "updater", "torrent", "backup", "container",
    }  # fmt: skip


def test_a_webpack_build_is_a_build_but_a_plain_node_is_not() -> None:
    assert (
        type_of(Facts("node", cmdline="node /app/node_modules/.bin/webpack --mode=production"))[0]
        == "build"
    )
    assert type_of(Facts("node", cmdline="node server.js"))[0] is None


def test_gradle_daemon_by_command_line() -> None:
    facts = Facts("java", cmdline="java -cp gradle-launcher.jar org.gradle.launcher.GradleMain")
    assert type_of(facts) == ("build", "BACKGROUND")


USER_RULES = """
[types.render]
class = "IDLE"

[[rule]]
name = "my renders"
type = "render"
[rule.match]
exe = "/opt/blender*/blender"
cmdline_regex = ".* -b .*"

[[rule]]
name = "my editor"
type = "editor"
class = "INTERACTIVE"
nice = -5
ionice = "best-effort/1"
[rule.match]
comm = "myedit"
parent = ["make"]
"""


def test_user_rules_with_globs_regexes_parents_and_values() -> None:
    document = parse_rules(USER_RULES, "rules.toml", DEFAULTS.types)
    rules = combine([document, DEFAULTS])
    render = Facts("blender", exe="/opt/blender-4.1/blender", cmdline="blender -b scene.blend")
    rule = rules.match(render)
    assert rule is not None and rule.name == "my renders" and rules.class_of(rule) == "IDLE"
    assert rules.match(Facts("blender", exe="/opt/blender-4.1/blender", cmdline="blender"))
    assert rules.match(Facts("blender", exe="/usr/bin/blender")).name == "editors"  # type: ignore[union-attr]
    editor = rules.match(Facts("myedit", ancestors=["sh", "make", "bash"]))
    assert editor is not None and editor.nice == -5 and str(editor.ionice) == "best-effort/1"
    assert rules.match(Facts("myedit", ancestors=["bash"])) is None


def test_user_rules_come_before_the_defaults() -> None:
    text = '[[rule]]\nname = "mine"\ntype = "editor"\n[rule.match]\ncomm = "cc1plus"\n'
    rules = combine([parse_rules(text, "rules.toml", DEFAULTS.types), DEFAULTS])
    assert rules.match(Facts("cc1plus")).name == "mine"  # type: ignore[union-attr]


def test_the_comm_index_keeps_rule_order() -> None:
    text = (
        '[[rule]]\nname = "wild"\ntype = "editor"\n[rule.match]\ncomm = "cc*"\n'
        '[[rule]]\nname = "exact"\ntype = "build"\n[rule.match]\ncomm = "cc1"\n'
    )
    rules = combine([parse_rules(text, "r", DEFAULTS.types), DEFAULTS])
    assert rules.match(Facts("cc1")).name == "wild"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rule = [", "invalid TOML"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\nnice = -11\n[rule.match]\ncomm = 'a'", "below -10"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\nsched = 'fifo'\n[rule.match]\ncomm = 'a'",
         "real-time scheduling"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\nsched = 'rr'\n[rule.match]\ncomm = 'a'",
         "real-time scheduling"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\nionice = 'realtime/0'\n[rule.match]\ncomm = 'a'",
         "real-time I/O"),
        ("[[rule]]\nname = 'x'\ntype = 'nosuch'\n[rule.match]\ncomm = 'a'", "unknown type"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\nclass = 'FAST'\n[rule.match]\ncomm = 'a'",
         "unknown class"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\n[rule.match]\ncomm_regex = '('", "invalid regular"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\n[rule.match]\nfoo = 'a'", "unknown key"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\n[rule.match]", "at least one key"),
        ("[[rule]]\ntype = 'build'\n[rule.match]\ncomm = 'a'", "'name' is required"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\n[rule.match]\ncomm = '" + "a" * 300 + "'",
         "longer than 256"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\n[rule.match]\ncomm = []", "non-empty list"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\n[rule.match]\ncomm = " + str(["a"] * 65),
         "more than 64"),
        ("[[rule]]\nname = 'x'\ntype = 'build'\n[rule.match]\nuid = -1", "uid"),
        ("[types.Bad]\nclass = 'IDLE'", "type name"),
        ("[types.ok]\nclass = 'IDLE'\nspeed = 1", "unknown key"),
        ("[global]\nx = 1", "unknown top-level key"),
        ("x" * (MAX_DOCUMENT_BYTES + 1), "larger than"),
    ],
)  # fmt: skip
def test_invalid_rules_are_refused_with_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as caught:
        parse_rules(text, "rules.toml", DEFAULTS.types)
    assert str(caught.value).startswith("rules.toml")


def test_an_error_names_the_rule() -> None:
    text = (
        "[[rule]]\nname = 'good'\ntype = 'build'\n[rule.match]\ncomm = 'a'\n"
        "[[rule]]\nname = 'bad one'\ntype = 'build'\nnice = 99\n[rule.match]\ncomm = 'b'\n"
    )
    with pytest.raises(InvalidArgument, match=r"rule 2 \('bad one'\): nice 99"):
        parse_rules(text, "rules.toml", DEFAULTS.types)


def test_rules_round_trip_to_json() -> None:
    document = parse_rules(USER_RULES, "rules.toml", DEFAULTS.types)
    shown = [r.to_json() for r in document.rules]
    assert shown[0]["match"] == {"exe": ["/opt/blender*/blender"], "cmdline_regex": [".* -b .*"]}
    assert shown[1]["nice"] == -5 and shown[1]["class"] == "INTERACTIVE"


def test_empty_document_is_valid() -> None:
    assert parse_rules("", "rules.toml") == RulesDocument((), {})
