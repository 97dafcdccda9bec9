"""Probe definitions and run-time feature probing, on synthetic tracefs trees."""

from pathlib import Path

from smoothtask_helper.collectors.ebpf import loader
from smoothtask_helper.collectors.ebpf.probes import (
    BY_NAME,
    PROBES,
    bpf_source,
    feature_macros,
    missing_tracepoints,
    tracepoint_fields,
)

EXIT_FORMAT = """name: sched_process_exit
ID: 300
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;
{extra}
print fmt: "comm=%s pid=%d prio=%d"
"""


def tracefs(tmp_path: Path, events: dict[str, str]) -> Path:
    for name, text in events.items():
        folder = tmp_path / "events" / name.replace(":", "/")
        folder.mkdir(parents=True)
        (folder / "format").write_text(text)
    return tmp_path


def test_fields_are_read_from_the_format_file(tmp_path: Path) -> None:
    root = tracefs(tmp_path, {"sched:sched_process_exit": EXIT_FORMAT.format(extra="")})
    assert tracepoint_fields("sched:sched_process_exit", root) == {"comm", "pid", "prio"}
    assert tracepoint_fields("sched:sched_switch", root) is None


def test_features_follow_the_kernel(tmp_path: Path) -> None:
    old = tracefs(
        tmp_path / "old",
        {
            "sched:sched_process_exit": EXIT_FORMAT.format(extra=""),
            "oom:mark_victim": "format:\n\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;\n",
        },
    )
    assert feature_macros(old) == []
    new = tracefs(
        tmp_path / "new",
        {
            "sched:sched_process_exit": EXIT_FORMAT.format(
                extra="\tfield:bool group_dead;\toffset:32;\tsize:1;\tsigned:0;"
            ),
            "oom:mark_victim": (
                "format:\n\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;\n"
                "\tfield:__data_loc char[] comm;\toffset:12;\tsize:4;\tsigned:0;\n"
                "\tfield:uid_t uid;\toffset:48;\tsize:4;\tsigned:0;\n"
            ),
        },
    )
    assert feature_macros(new) == ["EXIT_HAS_GROUP_DEAD", "OOM_HAS_COMM", "OOM_HAS_UID"]


def test_missing_tracepoints_are_named(tmp_path: Path) -> None:
    root = tracefs(tmp_path, {"vmscan:mm_vmscan_direct_reclaim_begin": "format:\n"})
    assert missing_tracepoints(BY_NAME["reclaim"], root) == ["vmscan:mm_vmscan_direct_reclaim_end"]


def test_every_program_exists_in_its_source() -> None:
    for probe in PROBES:
        source = bpf_source(probe.source)
        assert source.startswith("/*"), f"{probe.source} must open with what it measures"
        for _tracepoint, function in probe.programs:
            assert f"int {function}(" in source + bpf_source("exit.c")
        if probe.free_hook:
            assert f"{probe.name}_on_free(" in source


def test_exit_c_closes_the_module() -> None:
    assert loader.module_source([BY_NAME["runqueue"]]).rstrip().endswith("#endif")
    assert "st_process_free" in bpf_source("exit.c")
    flags = loader.cflags([BY_NAME["oom"]], loader.MapSizes(max_processes=100))
    assert "-DPROBE_OOM" in flags and "-DWANT_EVENTS" in flags and "-DMAX_PROCS=100" in flags
