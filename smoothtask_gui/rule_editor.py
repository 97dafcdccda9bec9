"""The person's own rules, as the settings window edits them: [[rule]] entries from the
helper's rules.toml, with the document's other parts ([types]) kept as they are."""

import tomllib
from dataclasses import dataclass, field
from typing import Any

import tomli_w

MATCH_KEYS = ("comm", "exe", "cmdline", "parent", "user", "unit")


@dataclass
class EditableRule:
    name: str
    type: str
    process_class: str = ""  # "": the type's class
    match: dict[str, list[str]] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)  # keys this editor does not show

    def to_toml_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"name": self.name, "type": self.type, **self.other}
        if self.process_class:
            table["class"] = self.process_class
        if "match" not in self.other:
            table["match"] = {k: v if len(v) != 1 else v[0] for k, v in self.match.items() if v}
        return table


@dataclass
class RulesText:
    rules: list[EditableRule]
    rest: dict[str, Any]  # everything but [[rule]]: [types] and friends

    def to_toml(self) -> str:
        document = dict(self.rest)
        if self.rules:
            document["rule"] = [r.to_toml_table() for r in self.rules]
        return tomli_w.dumps(document)


def parse(text: str) -> RulesText:
    """The editable form of a rules document (ValueError if it is not TOML)."""
    document = tomllib.loads(text) if text.strip() else {}
    rules = []
    for raw in document.pop("rule", []):
        if not isinstance(raw, dict):
            continue
        raw_match = raw.get("match", {})
        shown = isinstance(raw_match, dict)  # a malformed match stays as it is, for the helper
        match = {
            key: [str(v) for v in (value if isinstance(value, list) else [value])]
            for key, value in (raw_match.items() if shown else ())
        }
        hidden = ("name", "type", "class", "match") if shown else ("name", "type", "class")
        other = {k: v for k, v in raw.items() if k not in hidden}
        rules.append(
            EditableRule(
                name=str(raw.get("name", "")),
                type=str(raw.get("type", "")),
                process_class=str(raw.get("class", "")),
                match=match,
                other=other,
            )
        )
    return RulesText(rules, document)


def patterns(text: str) -> list[str]:
    """A match field as typed: patterns separated by commas."""
    return [part.strip() for part in text.split(",") if part.strip()]
