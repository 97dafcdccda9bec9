"""Rules: which type a process is (and, optionally, which class). TOML, validated whole.

A rule matches on any of: comm, executable path, command line (shell-style globs, or
anchored regular expressions with the ``_regex`` keys), cgroup path or systemd unit, the
names of its ancestors (``parent``), its user. Every key given must match (AND); a key
with a list matches when any pattern does (OR). The first matching rule wins; user rules
come before an ananicy-cpp database, which comes before the shipped defaults
(``data/default-rules.toml``).

Limits keep a rules document cheap to parse and to match: sizes of the document, of each
pattern and of each list, and regular expressions only anchored (``re.fullmatch``).
"""

import fnmatch
import pwd
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Final, Protocol

from smoothtask_helper.configfile import load_toml
from smoothtask_helper.errors import InvalidArgument
from smoothtask_helper.priority import (
    IoPriority,
    check_class,
    check_nice,
    parse_ionice,
    refuse_realtime_sched,
)

MAX_DOCUMENT_BYTES: Final = 256 * 1024
MAX_RULES: Final = 2048
MAX_TYPES: Final = 256
MAX_PATTERNS: Final = 64
MAX_PATTERN_CHARS: Final = 256
MAX_TEXT_CHARS: Final = 200

NAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.:+@/-]{0,63}")
TYPE_RE: Final = re.compile(r"[a-z][a-z0-9_-]{0,31}")

# TOML key -> the fact it looks at
GLOB_KEYS: Final = {
    "comm": "comm",
    "exe": "exe",
    "cmdline": "cmdline",
    "cgroup": "cgroup",
    "unit": "unit",
    "parent": "ancestors",
    "user": "user",
}
REGEX_KEYS: Final = {
    "comm_regex": "comm",
    "exe_regex": "exe",
    "cmdline_regex": "cmdline",
    "cgroup_regex": "cgroup",
}
RULE_KEYS: Final = frozenset(
    {"name", "type", "class", "nice", "ionice", "sched", "match", "description"}
)
TYPE_KEYS: Final = frozenset({"class", "inherit", "description"})
GLOB_CHARS: Final = frozenset("*?[")


class Facts(Protocol):
    """What a rule can look at; the classifier reads each lazily, on first use."""

    @property
    def comm(self) -> str: ...
    @property
    def exe(self) -> str: ...
    @property
    def cmdline(self) -> str: ...
    @property
    def cgroup(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def uid(self) -> int: ...
    @property
    def ancestors(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class Criterion:
    key: str  # as written in TOML, e.g. "comm" or "cmdline_regex"
    fact: str
    patterns: tuple[str, ...]
    compiled: tuple[re.Pattern[str], ...] = field(compare=False, repr=False)

    def test(self, facts: Facts) -> bool:
        if self.fact == "ancestors":
            return any(p.fullmatch(name) for name in facts.ancestors for p in self.compiled)
        value: str = getattr(facts, self.fact)
        return any(p.fullmatch(value) for p in self.compiled)

    def literal(self) -> bool:
        return self.key == "comm" and not any(GLOB_CHARS & set(p) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    type: str
    source: str  # "defaults", a file path, or "file:line" for ananicy-cpp
    criteria: tuple[Criterion, ...]
    uids: frozenset[int] | None = None
    process_class: str | None = None
    nice: int | None = None
    ionice: IoPriority | None = None
    description: str = ""

    def matches(self, facts: Facts) -> bool:
        if self.uids is not None and facts.uid not in self.uids:
            return False
        return all(c.test(facts) for c in self.criteria)

    def literal_comms(self) -> frozenset[str] | None:
        """The exact comms this rule can match, when its comm key has no wildcards."""
        for criterion in self.criteria:
            if criterion.literal():
                return frozenset(criterion.patterns)
        return None

    def to_json(self) -> dict[str, Any]:
        match: dict[str, Any] = {c.key: list(c.patterns) for c in self.criteria}
        if self.uids is not None:
            match["uid"] = sorted(self.uids)
        return {
            "name": self.name,
            "type": self.type,
            "class": self.process_class,
            "nice": self.nice,
            "ionice": None if self.ionice is None else str(self.ionice),
            "match": match,
            "source": self.source,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class TypeInfo:
    name: str
    process_class: str
    inherit: bool = True  # children without a rule of their own take this type
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.process_class,
            "inherit": self.inherit,
            "description": self.description,
        }


@dataclass(frozen=True, slots=True)
class RulesDocument:
    rules: tuple[Rule, ...]
    types: dict[str, TypeInfo]


def _where(source: str, index: int, name: object) -> str:
    label = f"rule {index + 1}"
    if isinstance(name, str) and name:
        label += f" ({name[:64]!r})"
    return f"{source}: {label}"


def _text(value: object, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a string")
    if len(value) > limit:
        raise InvalidArgument(f"{what} is longer than {limit} characters")
    return value


def _patterns(value: object, what: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise InvalidArgument(f"{what} must be a string or a non-empty list of strings")
    if len(items) > MAX_PATTERNS:
        raise InvalidArgument(f"{what} has more than {MAX_PATTERNS} patterns")
    out = []
    for item in items:
        text = _text(item, f"{what} pattern", MAX_PATTERN_CHARS)
        if not text:
            raise InvalidArgument(f"{what}: empty pattern")
        out.append(text)
    return tuple(out)


@lru_cache(maxsize=4096)
def compile_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def compile_regex(pattern: str, what: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidArgument(f"{what}: invalid regular expression {pattern!r}: {exc}") from None


def literal_criterion(key: str, names: Iterable[str]) -> Criterion:
    """A criterion matching exactly these names (no wildcards), e.g. from ananicy-cpp."""
    patterns = tuple(names)
    compiled = tuple(re.compile(re.escape(n)) for n in patterns)
    return Criterion(key, GLOB_KEYS[key], patterns, compiled)


def parse_match(value: object, what: str) -> tuple[tuple[Criterion, ...], frozenset[int] | None]:
    if not isinstance(value, dict) or not value:
        raise InvalidArgument(f"{what}: 'match' must be a table with at least one key")
    criteria: list[Criterion] = []
    uids: frozenset[int] | None = None
    for key, raw in value.items():
        where = f"{what}: match.{key}"
        if key in GLOB_KEYS:
            patterns = _patterns(raw, where)
            if all(not GLOB_CHARS & set(p) for p in patterns):
                criteria.append(literal_criterion(key, patterns))
            else:
                compiled = tuple(compile_glob(p) for p in patterns)
                criteria.append(Criterion(key, GLOB_KEYS[key], patterns, compiled))
        elif key in REGEX_KEYS:
            patterns = _patterns(raw, where)
            compiled = tuple(compile_regex(p, where) for p in patterns)
            criteria.append(Criterion(key, REGEX_KEYS[key], patterns, compiled))
        elif key == "uid":
            items = raw if isinstance(raw, list) else [raw]
            if (
                not items
                or len(items) > MAX_PATTERNS
                or not all(
                    isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**32 for i in items
                )
            ):
                raise InvalidArgument(f"{where}: a uid or a list of uids (0..4294967295)")
            uids = frozenset(items)
        else:
            known = ", ".join([*GLOB_KEYS, *REGEX_KEYS, "uid"])
            raise InvalidArgument(f"{where}: unknown key (known: {known})")
    # cheap tests first: comm is always known, the others may need a read from /proc
    criteria.sort(key=lambda c: (c.fact != "comm", c.fact == "ancestors"))
    return tuple(criteria), uids


def parse_type_table(value: object, source: str) -> dict[str, TypeInfo]:
    if not isinstance(value, dict):
        raise InvalidArgument(f"{source}: 'types' must be a table of [types.NAME] tables")
    if len(value) > MAX_TYPES:
        raise InvalidArgument(f"{source}: more than {MAX_TYPES} types")
    out: dict[str, TypeInfo] = {}
    for name, raw in value.items():
        where = f"{source}: types.{name[:40]}"
        if not TYPE_RE.fullmatch(name):
            raise InvalidArgument(f"{where}: a type name is lower-case letters, digits, '_' or '-'")
        body = {"class": raw} if isinstance(raw, str) else raw  # short form: build = "IDLE"
        if not isinstance(body, dict):
            raise InvalidArgument(f"{where}: a class name or a table with 'class'")
        unknown = set(body) - TYPE_KEYS
        if unknown:
            raise InvalidArgument(f"{where}: unknown key {sorted(unknown)[0]!r}")
        if "class" not in body:
            raise InvalidArgument(f"{where}: 'class' is required")
        try:
            process_class = check_class(body["class"])
        except InvalidArgument as exc:
            raise InvalidArgument(f"{where}: {exc}") from None
        inherit = body.get("inherit", True)
        if not isinstance(inherit, bool):
            raise InvalidArgument(f"{where}: 'inherit' must be true or false")
        description = _text(body.get("description", ""), f"{where}.description")
        out[name] = TypeInfo(name, process_class, inherit, description)
    return out


def parse_rule(raw: object, index: int, source: str, types: Mapping[str, TypeInfo]) -> Rule:
    name = raw.get("name") if isinstance(raw, dict) else None
    where = _where(source, index, name)
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{where}: must be a table ([[rule]])")
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise InvalidArgument(f"{where}: unknown key {sorted(unknown)[0]!r}")
    if "sched" in raw:
        refuse_realtime_sched(raw["sched"], where)
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidArgument(
            f"{where}: 'name' is required: 1-64 letters, digits, spaces or _.:+@/-"
        )
    type_name = raw.get("type")
    if not isinstance(type_name, str) or not TYPE_RE.fullmatch(type_name):
        raise InvalidArgument(f"{where}: 'type' is required: a lower-case type name")
    process_class = None
    try:
        if "class" in raw:
            process_class = check_class(raw["class"])
        nice = check_nice(raw["nice"]) if "nice" in raw else None
        ionice = parse_ionice(raw["ionice"]) if "ionice" in raw else None
    except InvalidArgument as exc:
        raise InvalidArgument(f"{where}: {exc}") from None
    if process_class is None and type_name not in types:
        raise InvalidArgument(
            f"{where}: unknown type {type_name!r}: give the rule a 'class' or add "
            f"[types.{type_name}] with one"
        )
    if "match" not in raw:
        raise InvalidArgument(f"{where}: 'match' is required")
    criteria, uids = parse_match(raw["match"], where)
    description = _text(raw.get("description", ""), f"{where}: description")
    return Rule(
        name=name,
        type=type_name,
        source=source,
        criteria=criteria,
        uids=uids,
        process_class=process_class,
        nice=nice,
        ionice=ionice,
        description=description,
    )


def parse_rules(
    text: str, source: str, base_types: Mapping[str, TypeInfo] | None = None
) -> RulesDocument:
    """Parse and validate a whole rules document; any error refuses all of it."""
    doc = load_toml(text, source, MAX_DOCUMENT_BYTES)
    unknown = set(doc) - {"types", "rule"}
    if unknown:
        raise InvalidArgument(
            f"{source}: unknown top-level key {sorted(unknown)[0]!r} "
            "(use [types.NAME] and [[rule]])"
        )
    types = parse_type_table(doc.get("types", {}), source)
    known = {**(base_types or {}), **types}
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        raise InvalidArgument(f"{source}: 'rule' must be an array of tables ([[rule]])")
    if len(raw_rules) > MAX_RULES:
        raise InvalidArgument(f"{source}: more than {MAX_RULES} rules")
    rules = tuple(parse_rule(r, i, source, known) for i, r in enumerate(raw_rules))
    return RulesDocument(rules, types)


def load_defaults() -> RulesDocument:
    """The rules and types shipped in the package."""
    text = resources.files("smoothtask_helper").joinpath("data/default-rules.toml").read_text()
    return parse_rules(text, "defaults")


@lru_cache(maxsize=1024)
def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


class RuleSet:
    """Rules in priority order with an index by exact comm, so that a large database
    (thousands of ananicy-cpp rules) costs a dictionary lookup per new process."""

    def __init__(self, rules: Sequence[Rule], types: Mapping[str, TypeInfo]) -> None:
        self.rules = tuple(rules)
        self.types = dict(types)
        self._by_comm: dict[str, list[int]] = {}
        self._unindexed: list[int] = []
        for i, rule in enumerate(self.rules):
            comms = rule.literal_comms()
            if comms is None:
                self._unindexed.append(i)
            else:
                for comm in comms:
                    self._by_comm.setdefault(comm, []).append(i)

    def match(self, facts: Facts) -> Rule | None:
        indexed = self._by_comm.get(facts.comm, ())
        candidates = sorted({*indexed, *self._unindexed}) if indexed else self._unindexed
        for i in candidates:
            if self.rules[i].matches(facts):
                return self.rules[i]
        return None

    def class_of(self, rule: Rule) -> str:
        if rule.process_class is not None:
            return rule.process_class
        return self.types[rule.type].process_class

    def type_info(self, name: str) -> TypeInfo | None:
        return self.types.get(name)


def combine(
    layers: Sequence[RulesDocument], on_drop: Callable[[Rule], None] | None = None
) -> RuleSet:
    """Layers first to last in priority; types of earlier layers override later ones.
    A rule whose type is unknown in the merged table is dropped (``on_drop`` hears of it)."""
    types: dict[str, TypeInfo] = {}
    for layer in reversed(layers):
        types.update(layer.types)
    rules: list[Rule] = []
    for layer in layers:
        for rule in layer.rules:
            if rule.process_class is None and rule.type not in types:
                if on_drop is not None:
                    on_drop(rule)
                continue
            rules.append(rule)
    return RuleSet(rules, types)
