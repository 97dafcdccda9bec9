"""The eBPF probes: which BPF source, which tracepoints, and what this kernel offers.

A probe is what a person switches on or off and what status reports on. Kernel features
are probed at run time from the live tracefs format files, never assumed.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

TRACEFS_ROOTS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
EXIT_TRACEPOINT = "sched:sched_process_exit"
FREE_TRACEPOINT = "sched:sched_process_free"
FREE_FUNCTION = "st_process_free"


@dataclass(frozen=True)
class OptionalPrograms:
    """Programs a probe adds where this kernel has their tracepoints (a driver's module may
    bring them), with the -D flags that switch them on in its .c file."""

    macros: tuple[str, ...]
    programs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class OptionalChoice:
    """What a probe's optional part is on this kernel: the programs to add, or why none."""

    programs: OptionalPrograms | None
    reason: str = ""


@dataclass(frozen=True)
class OptionalPart:
    name: str  # in the status, e.g. "gpu_scheduler"
    choose: Callable[[Path | None], OptionalChoice]  # from the tracefs at this root


@dataclass(frozen=True)
class Probe:
    name: str
    source: str  # file in bpf/
    programs: tuple[tuple[str, str], ...]  # (tracepoint "category:event", function)
    description: str
    free_hook: bool = False  # has a <name>_on_free hook: exit.c frees its entries
    sends_events: bool = False
    optional: OptionalPart | None = None  # programs added where the kernel has them

    @property
    def macro(self) -> str:
        return f"PROBE_{self.name.upper()}"


GPU_SCHED_FUNCTIONS = ("st_gpu_sched_queue", "st_gpu_sched_run", "st_gpu_sched_done")
# The DRM GPU scheduler's job tracepoints (queued, given to the hardware, done), by the
# names of Linux 6.17+ and of the kernels before; see bpf/gpu.c.
GPU_SCHED_TRACEPOINTS = (
    (
        "NEW_NAMES",
        (
            "gpu_scheduler:drm_sched_job_queue",
            "gpu_scheduler:drm_sched_job_run",
            "gpu_scheduler:drm_sched_job_done",
        ),
    ),
    (
        "OLD_NAMES",
        (
            "gpu_scheduler:drm_sched_job",
            "gpu_scheduler:drm_run_job",
            "gpu_scheduler:drm_sched_process_job",
        ),
    ),
)


def gpu_scheduler_programs(root: Path | None = None) -> OptionalChoice:
    """The gpu_scheduler tracepoints this kernel has, and how they name a job's fence."""
    for naming, tracepoints in GPU_SCHED_TRACEPOINTS:
        fields = [tracepoint_fields(tp, root) for tp in tracepoints]
        if any(f is None for f in fields):
            continue
        if all({"fence_context", "fence_seqno"} <= f for f in fields if f is not None):
            keying = "GPU_SCHED_KEYED"
        elif all("fence" in f for f in fields if f is not None):
            keying = "GPU_SCHED_POINTER"
        else:
            return OptionalChoice(
                None,
                f"{', '.join(tracepoints)} name no fence this probe knows "
                "(neither fence_context/fence_seqno nor fence)",
            )
        return OptionalChoice(
            OptionalPrograms(
                ("GPU_SCHED", f"GPU_SCHED_{naming}", keying),
                tuple(zip(tracepoints, GPU_SCHED_FUNCTIONS, strict=True)),
            ),
        )
    return OptionalChoice(
        None,
        "no gpu_scheduler tracepoints in this kernel (they come with a driver that uses "
        "the DRM GPU scheduler: amdgpu, xe, nouveau, panfrost, v3d, ...)",
    )


PROBES: tuple[Probe, ...] = (
    Probe(
        "runqueue",
        "sched.c",
        (
            ("sched:sched_wakeup", "st_wakeup"),
            ("sched:sched_wakeup_new", "st_wakeup_new"),
            ("sched:sched_switch", "st_switch"),
        ),
        "run-queue latency (system histogram, per-process wait and p99) and on-CPU time",
        free_hook=True,
    ),
    Probe(
        "lifecycle",
        "lifecycle.c",
        (
            ("sched:sched_process_exec", "st_exec"),
            ("sched:sched_process_fork", "st_fork"),
            (EXIT_TRACEPOINT, "st_process_exit"),  # in exit.c
        ),
        "exec, fork and exit events: new processes are seen at once",
        sends_events=True,
    ),
    Probe(
        "oom",
        "oom.c",
        (("oom:mark_victim", "st_oom_victim"),),
        "OOM kills: the victim's pid, name and user",
        sends_events=True,
    ),
    Probe(
        "reclaim",
        "reclaim.c",
        (
            ("vmscan:mm_vmscan_direct_reclaim_begin", "st_reclaim_begin"),
            ("vmscan:mm_vmscan_direct_reclaim_end", "st_reclaim_end"),
        ),
        "direct-reclaim stalls: how long allocations stalled, and who stalled",
        free_hook=True,
    ),
    Probe(
        "blockio",
        "blockio.c",
        (("block:block_rq_issue", "st_io_issue"), ("block:block_rq_complete", "st_io_complete")),
        "block I/O latency per device, requests issued and completed",
    ),
    Probe(
        "tcp",
        "tcp.c",
        (("sock:inet_sock_set_state", "st_tcp_state"),),
        "TCP connections per process: established now, opened, closed",
        free_hook=True,
    ),
    Probe(
        "gpu",
        "gpu.c",
        (
            ("dma_fence:dma_fence_emit", "st_gpu_fence_emit"),
            ("dma_fence:dma_fence_signaled", "st_gpu_fence_signaled"),
        ),
        "GPU job durations (fence emitted -> signaled; GPU scheduler queue and run times "
        "where a driver uses it)",
        optional=OptionalPart("gpu_scheduler", gpu_scheduler_programs),
    ),
)

PROBE_NAMES = tuple(p.name for p in PROBES)
BY_NAME = {p.name: p for p in PROBES}


@cache
def bpf_source(name: str) -> str:
    """A file of the bpf/ folder, shipped in the package as smoothtask_helper.bpf."""
    return resources.files("smoothtask_helper.bpf").joinpath(name).read_text()


def tracefs_root() -> Path | None:
    for root in TRACEFS_ROOTS:
        if (root / "events").is_dir():
            return root
    return None


def tracefs_problem() -> str:
    """Why no tracefs is usable: not mounted, or not readable by this process."""
    for root in TRACEFS_ROOTS:
        try:
            os.stat(root / "events")
        except PermissionError:
            return f"tracefs at {root} is not readable by uid {os.geteuid()}: permission denied"
        except OSError:
            continue
    return "tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)"


def tracepoint_fields(tracepoint: str, root: Path | None = None) -> set[str] | None:
    """Field names of a tracepoint from its format file; None if it does not exist."""
    root = root or tracefs_root()
    if root is None:
        return None
    category, event = tracepoint.split(":", 1)
    try:
        text = (root / "events" / category / event / "format").read_text()
    except OSError:
        return None
    fields = set()
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("field:") and "common_" not in line:
            declaration = line.split(";", 1)[0].removeprefix("field:")
            name = declaration.split()[-1].split("[", 1)[0]
            fields.add(name)
    return fields


def feature_macros(root: Path | None = None) -> list[str]:
    """-D flags for what this kernel's tracepoints carry (see the .c files)."""
    macros = []
    exit_fields = tracepoint_fields(EXIT_TRACEPOINT, root) or set()
    if "group_dead" in exit_fields:
        macros.append("EXIT_HAS_GROUP_DEAD")
    oom = tracepoint_fields("oom:mark_victim", root) or set()
    if "comm" in oom:
        macros.append("OOM_HAS_COMM")
    if "uid" in oom:
        macros.append("OOM_HAS_UID")
    if {"anon_rss", "file_rss", "shmem_rss"} <= oom:
        macros.append("OOM_HAS_RSS")
    if "oom_score_adj" in oom:
        macros.append("OOM_HAS_SCORE_ADJ")
    return macros


def missing_tracepoints(probe: Probe, root: Path | None = None) -> list[str]:
    return [tp for tp, _ in probe.programs if tracepoint_fields(tp, root) is None]


def optional_choice(probe: Probe, root: Path | None = None) -> OptionalChoice | None:
    """The probe's optional programs on this kernel, or None when it has none at all."""
    return probe.optional.choose(root) if probe.optional is not None else None
