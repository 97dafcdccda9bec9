"""An ananicy-cpp rules directory as an extra source of rules.

ananicy-cpp keeps one JSON object per line: ``*.types`` define types (nice, ioclass,
sched ...), ``*.rules`` map a process name to a type or to values of its own; ``#``
starts a comment. Its large community database thus classifies processes here too.

Each entry becomes a SmoothTask rule whose class follows from its values (idle I/O or
SCHED_IDLE -> IDLE, nice >= 10 or SCHED_BATCH -> BACKGROUND, nice <= -6 ->
CRIT_INTERACTIVE, nice < 0 -> INTERACTIVE, else NORMAL): the class table's values then
apply, as for every other rule. An entry asking for real-time scheduling, a real-time
I/O class or nice below -10 is refused (guardrails). Malformed lines are reported as
``file:line: reason`` and skipped; the rest loads.
"""

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from smoothtask_helper.errors import shown
from smoothtask_helper.priority import MAX_NICE, MIN_NICE, REALTIME_WORDS
from smoothtask_helper.rules import Rule, RulesDocument, literal_criterion

MAX_FILES: Final = 4096
MAX_FILE_BYTES: Final = 4 * 1024 * 1024
MAX_ENTRIES: Final = 50_000
MAX_ERRORS: Final = 200  # reported in full; beyond that only counted
COMM_CHARS: Final = 15  # the kernel cuts process names to this

# ananicy-cpp's own type names -> SmoothTask's types (others are kept, lower-cased)
TYPE_MAP: Final = {
    "game": "game",
    "player-audio": "player",
    "player-video": "video",
    "image-view": "editor",
    "doc-view": "editor",
    "image-edit": "editor",
    "document-editor": "editor",
    "chat": "chat",
    "lowlatency_rt": "audio",
    "bg_cpuio": "build",
    "heavy_cpu": "build",
    "compiler": "build",
    "jobs": "build",
    "idle": "indexer",
    "shell": "terminal",
    "service": "system",
}


@dataclass
class AnanicyLoad:
    document: RulesDocument
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    files: int = 0

    def error(self, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)


class _LineError(Exception):
    """One line is refused; the message says why."""


def _type_name(ananicy_type: str) -> str:
    mapped = TYPE_MAP.get(ananicy_type.lower())
    if mapped is not None:
        return mapped
    name = re.sub(r"[^a-z0-9_-]", "-", ananicy_type.lower())[:32]
    return name if name[:1].isalpha() else f"a-{name}"[:32]


def _values(entry: dict[str, Any]) -> dict[str, Any]:
    """The scheduling values of an entry, checked against the guardrails."""
    out: dict[str, Any] = {}
    if "nice" in entry:
        nice = entry["nice"]
        if isinstance(nice, bool) or not isinstance(nice, int):
            raise _LineError(f"nice must be an integer, not {shown(nice)}")
        if nice < MIN_NICE:
            raise _LineError(f"nice {nice} is below {MIN_NICE}: SmoothTask never sets that")
        if nice > MAX_NICE:
            raise _LineError(f"nice {nice} is above {MAX_NICE}")
        out["nice"] = nice
    for key in ("sched", "ioclass"):
        if key in entry:
            value = entry[key]
            if not isinstance(value, str):
                raise _LineError(f"{key} must be a string, not {shown(value)}")
            if value.lower() in REALTIME_WORDS or value.lower() == "iso":
                raise _LineError(f"{key} {shown(value)}: real-time scheduling is never used")
            out[key] = value.lower()
    return out


def _class_for(values: dict[str, Any]) -> str:
    nice = values.get("nice", 0)
    if values.get("ioclass") == "idle" or values.get("sched") == "idle":
        return "IDLE"
    if nice >= 10 or values.get("sched") == "batch":
        return "BACKGROUND"
    if nice <= -6:
        return "CRIT_INTERACTIVE"
    if nice < 0:
        return "INTERACTIVE"
    return "NORMAL"


def _entries(path: Path, load: AnanicyLoad) -> list[tuple[int, dict[str, Any]]]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            load.error(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB, skipped")
            return []
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        load.error(f"{path}: cannot read: {exc.strerror or exc}")
        return []
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            entry = json.loads(stripped)
        except ValueError as exc:
            load.error(f"{path}:{number}: not a JSON object: {exc.args[0] if exc.args else exc}")
            continue
        if not isinstance(entry, dict):
            load.error(f"{path}:{number}: not a JSON object")
            continue
        out.append((number, entry))
    return out


def _files(root: Path, suffix: str, load: AnanicyLoad) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if name.endswith(suffix):
                found.append(Path(folder) / name)
            if len(found) >= MAX_FILES:
                load.error(f"{root}: more than {MAX_FILES} {suffix} files; the rest skipped")
                return found
    return found


def load_directory(root: Path) -> AnanicyLoad:
    """Read ``*.types`` then ``*.rules`` below ``root`` (sorted, recursive)."""
    load = AnanicyLoad(RulesDocument((), {}))
    if not root.is_dir():
        load.error(f"{root}: not a directory")
        return load
    types: dict[str, dict[str, Any]] = {}
    type_files = _files(root, ".types", load)
    rule_files = _files(root, ".rules", load)
    load.files = len(type_files) + len(rule_files)
    for path in type_files:
        for number, entry in _entries(path, load):
            name = entry.get("type")
            if not isinstance(name, str) or not name or len(name) > 64:
                load.error(f"{path}:{number}: a type needs a 'type' name (1-64 characters)")
                continue
            try:
                types[name] = _values(entry)
            except _LineError as exc:
                types[name] = {"refused": f"{path}:{number}"}
                load.error(f"{path}:{number}: type {name!r}: {exc}")
    rules: dict[str, Rule] = {}  # a later entry for the same name replaces the earlier one
    for path in rule_files:
        for number, entry in _entries(path, load):
            if len(rules) >= MAX_ENTRIES:
                load.error(f"{path}:{number}: more than {MAX_ENTRIES} rules; the rest skipped")
                break
            try:
                rule = _rule(entry, types, f"{path}:{number}")
            except _LineError as exc:
                load.error(f"{path}:{number}: {exc}")
                continue
            rules[rule.name] = rule
    load.document = RulesDocument(tuple(rules.values()), {})
    return load


def _rule(entry: dict[str, Any], types: dict[str, dict[str, Any]], source: str) -> Rule:
    name = entry.get("name")
    if not isinstance(name, str) or not name or len(name) > 255 or "\n" in name:
        raise _LineError("a rule needs a 'name' (the process name, 1-255 characters)")
    values: dict[str, Any] = {}
    type_name = "ananicy"
    ananicy_type = entry.get("type")
    if ananicy_type is not None:
        if not isinstance(ananicy_type, str) or ananicy_type not in types:
            raise _LineError(f"unknown type {shown(ananicy_type)}")
        if "refused" in types[ananicy_type]:
            raise _LineError(
                f"its type {shown(ananicy_type)} was refused (see {types[ananicy_type]['refused']})"
            )
        values.update(types[ananicy_type])
        type_name = _type_name(ananicy_type)
    values.update(_values(entry))
    names = [name] if len(name) <= COMM_CHARS else [name, name[:COMM_CHARS]]
    return Rule(
        name=f"ananicy:{name}"[:80],
        type=type_name,
        source=source,
        criteria=(literal_criterion("comm", names),),
        process_class=_class_for(values),
    )
