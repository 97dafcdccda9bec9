"""The gpu probe: dma_fence tracepoints on the real kernel (this machine has no GPU
driver: they attach and their figures are zero), and the GPU scheduler's tracepoints,
chosen from tracefs by what the kernel has."""

import dataclasses
import os
from pathlib import Path

import pytest

from smoothtask_helper.collectors.ebpf import EbpfCollector, loader
from smoothtask_helper.collectors.ebpf.probes import (
    BY_NAME,
    GPU_SCHED_FUNCTIONS,
    OptionalChoice,
    OptionalPart,
    OptionalPrograms,
    bpf_source,
    gpu_scheduler_programs,
)
from tests.ebpf.conftest import require_ebpf
from tests.ebpf.test_probes import tracefs
from tests.support.bus import HelperProcess

FIELD = "\tfield:{type} {name};\toffset:{offset};\tsize:{size};\tsigned:0;\n"


def format_file(*fields: tuple[str, str, int]) -> str:
    text, offset = "format:\n", 8
    for type_, name, size in fields:
        text += FIELD.format(type=type_, name=name, offset=offset, size=size)
        offset += size
    return text


KEYED = format_file(("u64", "fence_context", 8), ("u64", "fence_seqno", 8), ("u64", "client_id", 8))
BY_POINTER = format_file(
    ("struct drm_sched_entity *", "entity", 8), ("struct dma_fence *", "fence", 8)
)
DONE_BY_POINTER = format_file(("struct dma_fence *", "fence", 8))
NEW = ("drm_sched_job_queue", "drm_sched_job_run", "drm_sched_job_done")
OLD = ("drm_sched_job", "drm_run_job", "drm_sched_process_job")


def no_drm_device() -> bool:
    return not os.path.isdir("/sys/class/drm") or not any(
        name.startswith("card") for name in os.listdir("/sys/class/drm")
    )


# -- which scheduler tracepoints (synthetic tracefs trees) ------------------------------


def test_linux_6_17_names_keyed_by_fence(tmp_path: Path) -> None:
    root = tracefs(tmp_path, {f"gpu_scheduler:{n}": KEYED for n in NEW})
    choice = gpu_scheduler_programs(root)
    assert choice.programs is not None
    assert choice.programs.macros == ("GPU_SCHED", "GPU_SCHED_NEW_NAMES", "GPU_SCHED_KEYED")
    assert [fn for _, fn in choice.programs.programs] == list(GPU_SCHED_FUNCTIONS)
    assert choice.programs.programs[0][0] == "gpu_scheduler:drm_sched_job_queue"


def test_older_names_keyed_by_the_fence_address(tmp_path: Path) -> None:
    events = {f"gpu_scheduler:{n}": BY_POINTER for n in OLD[:2]}
    events["gpu_scheduler:drm_sched_process_job"] = DONE_BY_POINTER
    choice = gpu_scheduler_programs(tracefs(tmp_path, events))
    assert choice.programs is not None
    assert choice.programs.macros == ("GPU_SCHED", "GPU_SCHED_OLD_NAMES", "GPU_SCHED_POINTER")


def test_no_scheduler_or_an_unknown_layout(tmp_path: Path) -> None:
    none = gpu_scheduler_programs(tracefs(tmp_path / "none", {"dma_fence:dma_fence_emit": KEYED}))
    assert none.programs is None and "no gpu_scheduler tracepoints" in none.reason
    odd = format_file(("u64", "job_id", 8))
    unknown = gpu_scheduler_programs(
        tracefs(tmp_path / "odd", {f"gpu_scheduler:{n}": odd for n in NEW})
    )
    assert unknown.programs is None and "name no fence" in unknown.reason


def test_the_probe_source_opens_with_what_it_measures() -> None:
    source = bpf_source("gpu.c")
    assert source.startswith("/* gpu.c")
    for function in (*GPU_SCHED_FUNCTIONS, "st_gpu_fence_emit", "st_gpu_fence_signaled"):
        assert f"int {function}(" in source
    assert "-DMAX_GPU_JOBS=4096" in loader.cflags([BY_NAME["gpu"]], loader.MapSizes())


# -- the real kernel (root) --------------------------------------------------------------


def test_dma_fence_tracepoints_attach_and_measure_zero(collector: EbpfCollector) -> None:
    status = collector.probe_status()["gpu"]
    assert status["available"], status["reason"]
    assert status["tracepoints"][:2] == ["dma_fence:dma_fence_emit", "dma_fence:dma_fence_signaled"]
    assert {p["name"] for p in status["programs"]} >= {"st_gpu_fence_emit", "st_gpu_fence_signaled"}
    scheduler = status["optional"]["gpu_scheduler"]
    collector.read()
    jobs = collector.read().gpu_jobs_us
    assert jobs is not None
    assert jobs["count"] == sum(jobs["histogram"]) and len(jobs["histogram"]) == 64
    if no_drm_device():  # as here and in CI: no driver emits fences, and that is no error
        assert not scheduler["available"]
        assert "no gpu_scheduler tracepoints" in scheduler["reason"]
        assert jobs["count"] == 0 and jobs["emitted"] == 0
        assert jobs["histogram"] == [0] * 64
        assert jobs["p50"] is None and jobs["scheduler"] is None
    maps = collector.status()["maps"]
    assert maps["gpu_fences"]["max_entries"] == loader.MapSizes().max_gpu_jobs


STAND_IN_FORMATS = {
    # What bcc would generate from the tracefs format files of kernels with a DRM GPU
    # scheduler. This kernel has no driver that loads it, so the programs are compiled
    # against these definitions and checked by the kernel's verifier (not attached).
    "GPU_SCHED_NEW_NAMES": """
struct tracepoint__gpu_scheduler__drm_sched_job_queue {
    u64 __do_not_use__; int data_loc_name; u32 job_count; int hw_job_count;
    int data_loc_dev; u64 fence_context; u64 fence_seqno; u64 client_id; };
struct tracepoint__gpu_scheduler__drm_sched_job_run {
    u64 __do_not_use__; int data_loc_name; u32 job_count; int hw_job_count;
    int data_loc_dev; u64 fence_context; u64 fence_seqno; u64 client_id; };
struct tracepoint__gpu_scheduler__drm_sched_job_done {
    u64 __do_not_use__; u64 fence_context; u64 fence_seqno; };
""",
    "GPU_SCHED_OLD_NAMES": """
struct tracepoint__gpu_scheduler__drm_sched_job {
    u64 __do_not_use__; struct drm_sched_entity * entity; struct dma_fence * fence;
    int data_loc_name; uint64_t id; u32 job_count; int hw_job_count; };
struct tracepoint__gpu_scheduler__drm_run_job {
    u64 __do_not_use__; struct drm_sched_entity * entity; struct dma_fence * fence;
    int data_loc_name; uint64_t id; u32 job_count; int hw_job_count; };
struct tracepoint__gpu_scheduler__drm_sched_process_job {
    u64 __do_not_use__; struct dma_fence * fence; };
""",
}


@pytest.mark.parametrize(
    "macros",
    [
        ("GPU_SCHED", "GPU_SCHED_NEW_NAMES", "GPU_SCHED_KEYED"),
        ("GPU_SCHED", "GPU_SCHED_OLD_NAMES", "GPU_SCHED_POINTER"),
    ],
)
def test_scheduler_programs_pass_the_verifier(macros: tuple[str, ...]) -> None:
    require_ebpf()
    import bcc  # noqa: PLC0415  # only where eBPF runs

    gpu = BY_NAME["gpu"]
    source = bpf_source("common.h") + STAND_IN_FORMATS[macros[1]] + bpf_source("gpu.c")
    flags = loader.cflags([gpu], loader.MapSizes(), {"gpu": OptionalPrograms(macros, ())})
    bpf = bcc.BPF(text=source.encode(), cflags=flags)
    try:
        for function in GPU_SCHED_FUNCTIONS:
            assert bpf.load_func(function.encode(), bcc.BPF.TRACEPOINT).fd >= 0
    finally:
        bpf.cleanup()


def test_scheduler_programs_that_do_not_compile_leave_the_fence_part() -> None:
    """Here the scheduler's tracepoints are missing, so its programs really fail to
    compile; the probe then loads without them and says why."""
    require_ebpf()
    macros = ("GPU_SCHED", "GPU_SCHED_NEW_NAMES", "GPU_SCHED_KEYED")
    forced = OptionalPrograms(
        macros, tuple(zip((f"gpu_scheduler:{n}" for n in NEW), GPU_SCHED_FUNCTIONS, strict=True))
    )
    probe = dataclasses.replace(
        BY_NAME["gpu"], optional=OptionalPart("gpu_scheduler", lambda _root: OptionalChoice(forced))
    )
    result = loader.load([probe], loader.MapSizes())
    try:
        assert [p.name for p in result.attached] == ["gpu"]
        assert result.optional == {}
        assert result.optional_reasons["gpu"].startswith("does not compile:")
        assert "st_gpu_fence_emit" in result.programs
    finally:
        if result.bpf is not None:
            result.bpf.cleanup()


def test_the_helper_reports_gpu_jobs(ebpf_helper: HelperProcess) -> None:
    status = ebpf_helper.status()
    assert status["probes"]["gpu"]["available"]
    assert "gpu_scheduler" in status["probes"]["gpu"]["optional"]
    jobs = ebpf_helper.snapshot()["gpu_jobs_us"]
    assert jobs is not None and set(jobs) >= {
        "count",
        "p50",
        "p95",
        "p99",
        "histogram",
        "emitted",
        "scheduler",
    }
    if no_drm_device():
        assert jobs["count"] == 0 and jobs["emitted"] == 0
