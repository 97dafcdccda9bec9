"""Classification: rules first, else the parent's type when it inherits (same user only)."""

from dataclasses import replace

from smoothtask_helper.classify import UNCLASSIFIED, classify
from smoothtask_helper.model import ProcessSample
from smoothtask_helper.rules import combine, load_defaults

RULES = combine([load_defaults()])
CHILD = ProcessSample(
    pid=4243, start_time=1.0, comm="st-helper", uid=1000, ppid=4242, state="S", threads=1,
    cpu_percent=0.0, rss_bytes=0, nice=0, ionice="none", kernel_thread=False,
    process_class="NORMAL", process_type="unclassified",
)  # fmt: skip


def no_ancestors() -> list[str]:
    return []


def test_a_rule_decides() -> None:
    found = classify(replace(CHILD, comm="rustc"), RULES, None, no_ancestors)
    assert (found.type, found.base_class, found.rule_label) == (
        "build",
        "BACKGROUND",
        "compilers and linkers",
    )


def test_an_inheriting_type_passes_to_a_child_of_the_same_user_only() -> None:
    browser = classify(replace(CHILD, comm="firefox"), RULES, None, no_ancestors)
    same_user = classify(CHILD, RULES, browser, no_ancestors, parent_uid=1000)
    assert (same_user.type, same_user.rule_label) == ("browser", "browsers (inherited)")
    assert classify(CHILD, RULES, browser, no_ancestors, parent_uid=0) == UNCLASSIFIED


def test_build_and_terminal_types_do_not_pass_on() -> None:
    for comm in ("make", "cargo", "xterm", "systemd"):
        parent = classify(replace(CHILD, comm=comm), RULES, None, no_ancestors)
        assert classify(CHILD, RULES, parent, no_ancestors, parent_uid=1000) == UNCLASSIFIED


def test_kernel_threads_are_kernel() -> None:
    found = classify(replace(CHILD, kernel_thread=True, comm="rustc"), RULES, None, no_ancestors)
    assert (found.type, found.base_class, found.rule) == ("kernel", "NORMAL", None)
