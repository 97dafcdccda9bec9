"""App groups: who belongs to the focused app, and which autogroups and cgroups are wholly
one managed app (only then does a group-wide lever change: an autogroup's nice weighs every
process of that session, a cgroup's weight every process in it)."""

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

from smoothtask_helper import procinfo
from smoothtask_helper.actuator import GroupWant, ProcessWant
from smoothtask_helper.levers import CgroupLever
from smoothtask_helper.model import ProcessSample
from smoothtask_helper.procinfo import Identity

MAX_FOCUS_GROUP = 512  # an "app" with more processes than this is not one app


class GroupView(Protocol):
    """The engine's knowledge of the process now at a pid."""

    def want_at(self, pid: int) -> ProcessWant | None: ...

    def weight_at(self, pid: int) -> int | None: ...

    def autogroup_at(self, pid: int) -> int | None: ...

    def cgroups_at(self, pid: int) -> procinfo.Cgroups: ...


def focus_members(leader: int, by_pid: Mapping[int, ProcessSample]) -> set[int]:
    """The focused process, its descendants and its systemd app scope."""
    children: dict[int, list[int]] = {}
    for process in by_pid.values():
        children.setdefault(process.ppid, []).append(process.pid)
    members = {leader}
    stack = [leader]
    while stack and len(members) < MAX_FOCUS_GROUP:
        for child in children.get(stack.pop(), ()):
            if child not in members:
                members.add(child)
                stack.append(child)
    return members | (scope_members(leader) & by_pid.keys())


def scope_members(pid: int) -> set[int]:
    """The processes of an app's systemd scope (unified hierarchy only)."""
    cgroups = procinfo.read_cgroups(pid)
    path = cgroups.unified
    unit = procinfo.unit_of(path)
    if not path or cgroups.systemd != path or not unit.endswith(".scope"):
        return set()
    if unit.startswith(("session-", "init.")):
        return set()  # a login session's scope holds everything: not one app
    return set(read_cgroup_procs(Path("/sys/fs/cgroup") / path.lstrip("/")))


def read_cgroup_procs(folder: Path) -> list[int]:
    try:
        return [int(line) for line in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def autogroup_wants(
    view: GroupView,
    wants: Mapping[Identity, ProcessWant],
    pids: Iterable[int],
    own: int | None,
) -> dict[str, GroupWant]:
    """Autogroups in which every process wants the same nice (never the helper's own)."""
    candidates: dict[int, tuple[int, Identity] | None] = {}
    for identity, want in wants.items():
        group = view.autogroup_at(identity.pid)
        if group is None or group == own:
            continue
        seen = candidates.get(group, (want.nice, identity))
        candidates[group] = seen if seen is not None and seen[0] == want.nice else None
    if not any(candidates.values()):
        return {}
    for pid in pids:  # every member of a candidate must want that same nice
        group = view.autogroup_at(pid)
        if group is None:
            continue
        chosen = candidates.get(group)
        if chosen is None:
            continue
        member = view.want_at(pid)
        if member is None or member.nice != chosen[0]:
            candidates[group] = None
    return {
        f"autogroup:{group}": GroupWant("autogroup", str(group), found[0], found[1])
        for group, found in candidates.items()
        if found is not None
    }


def cgroup_wants(
    view: GroupView, wants: Mapping[Identity, ProcessWant], lever: CgroupLever
) -> dict[str, GroupWant]:
    """Cgroups (never the root) in which every process wants the same CPU weight."""
    paths: set[str] = set()
    for identity in wants:
        cgroups = view.cgroups_at(identity.pid)
        path = cgroups.unified if lever.version == 2 else cgroups.cpu_v1
        if path and path != "/":  # the root cgroup is everyone's
            paths.add(path)
    out: dict[str, GroupWant] = {}
    for path in paths:
        folder = lever.mount / path.lstrip("/")
        pids = read_cgroup_procs(folder)
        weights = {view.weight_at(pid) for pid in pids}
        if pids and len(weights) == 1 and None not in weights:
            (weight,) = weights
            key = str(folder / lever.file)
            out[f"cgroup:{key}"] = GroupWant("cgroup", key, lever.value_for(weight or 0))
    return out
