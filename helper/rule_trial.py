"""'Test this rule': which running processes a candidate rules document would match,
before it is applied. Read-only: nothing is classified for real, nothing changes."""

import functools
from collections.abc import Iterable

from smoothtask_helper.classify import LazyFacts
from smoothtask_helper.model import JsonDict, ProcessSample
from smoothtask_helper.rules import RulesDocument, parse_rules

MAX_PROCESSES = 4000  # processes looked at, at most (a cap on the /proc reads of one call)
MAX_MATCHES = 50  # processes listed per rule


def try_rules(
    text: str, processes: Iterable[ProcessSample], known_types: RulesDocument
) -> JsonDict:
    """Validate ``text`` (InvalidArgument with the rule and key at fault) and list, per
    rule, the processes it matches now (first match wins, as in the helper)."""
    document = parse_rules(text, "the rules under test", known_types.types)
    by_pid = {p.pid: p for p in processes}
    matches: dict[int, list[JsonDict]] = {i: [] for i in range(len(document.rules))}
    counts = dict.fromkeys(matches, 0)
    for seen, process in enumerate(by_pid.values()):
        if seen >= MAX_PROCESSES:
            break
        if process.kernel_thread:
            continue
        facts = LazyFacts(process, functools.partial(_ancestors, process, by_pid))
        for index, rule in enumerate(document.rules):
            if rule.matches(facts):
                counts[index] += 1
                if len(matches[index]) < MAX_MATCHES:
                    matches[index].append(
                        {"pid": process.pid, "comm": process.comm, "uid": process.uid}
                    )
                break
    return {
        "valid": True,
        "rules": [
            {"name": rule.name, "type": rule.type, "matches": matches[i], "count": counts[i]}
            for i, rule in enumerate(document.rules)
        ],
    }


def _ancestors(process: ProcessSample, by_pid: dict[int, ProcessSample]) -> list[str]:
    names: list[str] = []
    seen: set[int] = set()
    parent = by_pid.get(process.ppid)
    while parent is not None and parent.pid not in seen and len(names) < 64:
        seen.add(parent.pid)
        names.append(parent.comm)
        parent = by_pid.get(parent.ppid)
    return names
