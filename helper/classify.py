"""Process -> (type, rule, base class), cached per process and read lazily.

Facts a rule may look at (executable, command line, cgroup) are read from /proc only
when a rule needs them, and a classification is kept until the process runs another
program (its comm changes): a build that starts hundreds of compilers a second costs a
dictionary lookup for most of them.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from smoothtask_helper import procinfo
from smoothtask_helper.model import ProcessSample
from smoothtask_helper.rules import Rule, RuleSet, user_name


class LazyFacts:
    """The ``rules.Facts`` of one process, each read on first use."""

    def __init__(self, process: ProcessSample, ancestors: Callable[[], Sequence[str]]) -> None:
        self._process = process
        self._ancestors_of = ancestors
        self._exe: str | None = None
        self._cmdline: str | None = None
        self._cgroups: procinfo.Cgroups | None = None
        self._ancestors: Sequence[str] | None = None

    @property
    def comm(self) -> str:
        return self._process.comm

    @property
    def uid(self) -> int:
        return self._process.uid

    @property
    def user(self) -> str:
        return user_name(self._process.uid)

    @property
    def exe(self) -> str:
        if self._exe is None:
            self._exe = procinfo.read_exe(self._process.pid)
        return self._exe

    @property
    def cmdline(self) -> str:
        if self._cmdline is None:
            self._cmdline = procinfo.read_cmdline(self._process.pid)
        return self._cmdline

    @property
    def cgroups(self) -> procinfo.Cgroups:
        if self._cgroups is None:
            self._cgroups = procinfo.read_cgroups(self._process.pid)
        return self._cgroups

    @property
    def cgroup(self) -> str:
        return self.cgroups.systemd or ""

    @property
    def unit(self) -> str:
        return procinfo.unit_of(self.cgroups.systemd)

    @property
    def ancestors(self) -> Sequence[str]:
        if self._ancestors is None:
            self._ancestors = self._ancestors_of()
        return self._ancestors


@dataclass(frozen=True, slots=True)
class Classification:
    type: str
    rule: Rule | None
    base_class: str
    inherited: bool = False

    @property
    def rule_label(self) -> str | None:
        if self.rule is None:
            return None
        return f"{self.rule.name} (inherited)" if self.inherited else self.rule.name


UNCLASSIFIED = Classification("unclassified", None, "NORMAL")
KERNEL = Classification("kernel", None, "NORMAL")


def classify(
    process: ProcessSample,
    rules: RuleSet,
    parent: Classification | None,
    ancestors: Callable[[], Sequence[str]],
    parent_uid: int | None = None,
) -> Classification:
    """The first matching rule decides; else the parent's type when it inherits and the
    parent runs as the same user (another user's process is not part of the same app)."""
    if process.kernel_thread:
        return KERNEL
    rule = rules.match(LazyFacts(process, ancestors))
    if rule is not None:
        return Classification(rule.type, rule, rules.class_of(rule))
    if parent is not None and parent.rule is not None and parent_uid == process.uid:
        info = rules.type_info(parent.type)
        if info is not None and info.inherit:
            return Classification(parent.type, parent.rule, parent.base_class, inherited=True)
    return UNCLASSIFIED
