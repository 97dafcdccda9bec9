"""Compiles the enabled probes as one bcc module and attaches them, probe by probe.

The only module that imports bcc (lazily: importing it costs ~0.15 s, which must not
delay the helper's first sample). Nothing here raises to the caller: every failure
becomes a probe's "unavailable: <reason>" with the exact message seen.
"""

import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from smoothtask_helper.collectors.ebpf.histogram import SLOTS
from smoothtask_helper.collectors.ebpf.probes import (
    FREE_FUNCTION,
    FREE_TRACEPOINT,
    OptionalPrograms,
    Probe,
    bpf_source,
    feature_macros,
    missing_tracepoints,
    optional_choice,
    tracefs_problem,
    tracefs_root,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MapSizes:
    max_processes: int = 8192
    max_tasks: int = 32768
    max_sockets: int = 16384
    max_inflight_io: int = 8192
    max_gpu_jobs: int = 4096  # GPU jobs in flight (fences emitted, not yet signaled)
    ringbuf_pages: int = 64  # a power of two


@dataclass
class LoadResult:
    bpf: Any | None  # bcc.BPF
    attached: list[Probe] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # unavailable probe -> why
    compile_s: float = 0.0
    attach_s: float = 0.0
    compiles: int = 0
    programs: dict[str, str] = field(default_factory=dict)  # function -> tracepoint
    # a probe's optional programs: compiled in (then attached), or why not
    optional: dict[str, OptionalPrograms] = field(default_factory=dict)
    optional_reasons: dict[str, str] = field(default_factory=dict)


def cflags(
    probes: list[Probe], sizes: MapSizes, optional: Mapping[str, OptionalPrograms] | None = None
) -> list[str]:
    flags = [
        f"-DRQ_SLOTS={SLOTS}",
        f"-DMAX_TASKS={sizes.max_tasks}",
        f"-DMAX_PROCS={sizes.max_processes}",
        f"-DMAX_SOCKETS={sizes.max_sockets}",
        f"-DMAX_INFLIGHT_IO={sizes.max_inflight_io}",
        f"-DMAX_GPU_JOBS={sizes.max_gpu_jobs}",
        f"-DRINGBUF_PAGES={sizes.ringbuf_pages}",
    ]
    flags += [f"-D{p.macro}" for p in probes]
    for probe in probes:
        extra = (optional or {}).get(probe.name)
        flags += [f"-D{m}" for m in extra.macros] if extra else []
    if any(p.sends_events for p in probes):
        flags.append("-DWANT_EVENTS")
    flags += [f"-D{m}" for m in feature_macros()]
    return flags


def module_source(probes: list[Probe]) -> str:
    """common.h, the probes' programs, then exit.c (its parts are #ifdef'd per probe)."""
    parts = [bpf_source("common.h"), *(bpf_source(p.source) for p in probes)]
    parts.append(bpf_source("exit.c"))
    return "\n".join(parts)


def load(probes: list[Probe], sizes: MapSizes) -> LoadResult:
    """Compile the probes as one module (isolating failures if needed) and attach them."""
    result = LoadResult(bpf=None)
    try:
        import bcc  # noqa: PLC0415  # lazily: see the module docstring
    except ImportError as exc:
        for probe in probes:
            result.reasons[probe.name] = f"bcc (python3-bpfcc) is not installed: {exc}"
        return result
    lacking = missing_privilege()
    if lacking:
        for probe in probes:
            result.reasons[probe.name] = lacking
        return result
    candidates = _with_tracepoints(probes, result)
    if not candidates:
        return result
    started = time.monotonic()
    bpf, candidates = _compile_isolating(bcc, candidates, sizes, result)
    result.compile_s = time.monotonic() - started
    if bpf is None:
        return result
    started = time.monotonic()
    result.bpf = bpf
    _attach_each(bpf, candidates, result)
    result.attach_s = time.monotonic() - started
    return result


CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 21, 38, 39


def missing_privilege() -> str:
    """Why this process may not load BPF programs, or "" (root, or CAP_BPF+CAP_PERFMON)."""
    if os.geteuid() == 0:
        return ""
    try:
        with open("/proc/self/status") as f:
            effective = next(int(line.split()[1], 16) for line in f if line.startswith("CapEff:"))
    except (OSError, StopIteration, ValueError):
        effective = 0
    if effective & (1 << CAP_SYS_ADMIN) or (
        effective & (1 << CAP_BPF) and effective & (1 << CAP_PERFMON)
    ):
        return ""
    return (
        f"not running as root (uid {os.geteuid()}): loading eBPF programs needs root, "
        "or CAP_BPF with CAP_PERFMON"
    )


def _with_tracepoints(probes: list[Probe], result: LoadResult) -> list[Probe]:
    """The probes whose tracepoints this kernel has; the others get their reason."""
    if tracefs_root() is None:
        for probe in probes:
            result.reasons[probe.name] = tracefs_problem()
        return []
    candidates = []
    for probe in probes:
        missing = missing_tracepoints(probe)
        if missing:
            result.reasons[probe.name] = f"tracepoint {', '.join(missing)} not found in this kernel"
            continue
        candidates.append(probe)
        choice = optional_choice(probe)
        if choice is not None and choice.programs is not None:
            result.optional[probe.name] = choice.programs
        elif choice is not None:
            result.optional_reasons[probe.name] = choice.reason
    return candidates


def _compile_isolating(
    bcc: Any, candidates: list[Probe], sizes: MapSizes, result: LoadResult
) -> tuple[Any | None, list[Probe]]:
    """One module of all candidates; if that fails, find the culprits one by one."""
    bpf, error = _compile(bcc, candidates, sizes, result.optional)
    result.compiles = 1
    if bpf is None and (len(candidates) > 1 or result.optional):
        good = []
        for probe in candidates:
            alone, alone_error = _compile_alone(bcc, probe, sizes, result)
            if alone is None:
                result.reasons[probe.name] = alone_error
            else:
                alone.cleanup()
                good.append(probe)
        candidates = good
        if candidates:
            bpf, error = _compile(bcc, candidates, sizes, result.optional)
            result.compiles += 1
    if bpf is None:
        for probe in candidates:
            result.reasons.setdefault(probe.name, error)
    return bpf, candidates


def _compile_alone(
    bcc: Any, probe: Probe, sizes: MapSizes, result: LoadResult
) -> tuple[Any | None, str]:
    """One probe on its own; if it fails with its optional programs, again without them
    (the required part still measures something)."""
    alone, error = _compile(bcc, [probe], sizes, result.optional)
    result.compiles += 1
    extra = result.optional.get(probe.name)
    if alone is None and extra is not None:
        del result.optional[probe.name]
        alone, without_error = _compile(bcc, [probe], sizes, result.optional)
        result.compiles += 1
        if alone is not None:
            result.optional_reasons[probe.name] = f"does not compile: {error}"
        else:
            error = without_error
    return alone, error


def _attach_each(bpf: Any, candidates: list[Probe], result: LoadResult) -> None:
    for probe in candidates:
        failure = _attach(bpf, probe.programs)
        if failure:
            result.reasons[probe.name] = failure
            result.optional.pop(probe.name, None)
            continue
        result.attached.append(probe)
        result.programs.update({fn: tp for tp, fn in probe.programs})
        extra = result.optional.get(probe.name)
        if extra is None:
            continue
        failure = _attach(bpf, extra.programs)
        if failure:  # the probe keeps what it measures without them
            del result.optional[probe.name]
            result.optional_reasons[probe.name] = failure
        else:
            result.programs.update({fn: tp for tp, fn in extra.programs})
    if any(p.free_hook for p in result.attached):
        failure = _attach(bpf, ((FREE_TRACEPOINT, FREE_FUNCTION),))
        if failure:  # without it the entries of exited processes wait for the sweep
            log.warning("the free hook is not attached: %s", failure)
        else:
            result.programs[FREE_FUNCTION] = FREE_TRACEPOINT


def _compile(
    bcc: Any, probes: list[Probe], sizes: MapSizes, optional: Mapping[str, OptionalPrograms]
) -> tuple[Any | None, str]:
    """bcc.BPF for the probes, or None and the reason (bcc prints its reasons on stderr)."""
    with _captured_output() as captured:
        try:
            # bytes: bcc warns (DeprecationWarning) about str arguments
            source = module_source(probes).encode()
            return bcc.BPF(text=source, cflags=cflags(probes, sizes, optional)), ""
        except Exception as exc:  # noqa: BLE001  # bcc raises plain Exception
            failure = str(exc)
    return None, _explain(failure, captured())


def _attach(bpf: Any, programs: tuple[tuple[str, str], ...]) -> str:
    """Attach all programs or none; the exact failure message, or "" on success."""
    done = []
    with _captured_output() as captured:
        for tracepoint, function in programs:
            try:
                bpf.attach_tracepoint(tp=tracepoint.encode(), fn_name=function.encode())
            except Exception as exc:  # noqa: BLE001  # bcc raises plain Exception
                failure = _explain(str(exc), "")
                break
            done.append(tracepoint)
        else:
            return ""
    for tracepoint in done:
        with contextlib.suppress(Exception):
            bpf.detach_tracepoint(tp=tracepoint.encode())
    detail = captured().strip().splitlines()
    return f"{failure}: {detail[-1]}" if detail and detail[-1] not in failure else failure


MAX_REASON = 300  # characters: a reason is a line in a status, not a log


def _explain(failure: str, stderr: str) -> str:
    """The most telling line: bcc's own explanation or clang's first error."""
    failure = failure.strip().splitlines()[0] if failure.strip() else ""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    reason = failure or (lines[-1] if lines else "unknown failure")
    for line in lines:
        if "kernel headers" in line or "error:" in line or "Need super-user" in line:
            reason = f"{failure}: {line}" if failure else line
            break
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"


@contextlib.contextmanager
def _captured_output() -> Iterator[Any]:
    """Collect what C code writes to fd 1 and 2 (clang and libbpf write to stderr, bcc's
    "Unable to find kernel headers" goes to stdout), and pass it on to our log."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        text = ""
        try:
            yield lambda: text
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            for line in text.splitlines():
                if line.strip():
                    log.debug("bcc: %s", line)
