"""Cost of SmoothTask's eBPF probes on a context-switch-heavy load, against bcc's runqlat.

The load is `perf bench sched pipe` pinned to CPU 0 (two tasks ping-ponging through a
pipe: every message is two wakeups and two context switches, the worst case for
scheduler probes). Variants, alternated round by round, medians taken: no probes;
SmoothTask's probes (all of them, loaded as the helper loads them); bcc's runqlat tool
(the baseline); and, for reference, programs that do nothing on the same tracepoints:
the floor any tracepoint probe pays. Targets (issue 3): SmoothTask's slowdown at most
runqlat's, and at most 5%.

    sudo .venv/bin/python bench/ebpf_overhead.py [--rounds 7] [--loops 50000]
"""

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smoothtask_helper.collectors.ebpf import EbpfCollector, EbpfConfig  # noqa: E402

RUNQLAT = shutil.which("runqlat-bpfcc") or "/usr/sbin/runqlat-bpfcc"
TARGET_SLOWDOWN = 0.05


def pipe_bench(loops: int) -> float:
    """Microseconds per ping-pong message."""
    out = subprocess.run(
        ["taskset", "-c", "0", "perf", "bench", "sched", "pipe", "-l", str(loops)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"([\d.]+) usecs/op", out)
    if match is None:
        raise RuntimeError(f"unexpected perf output:\n{out}")
    return float(match.group(1))


def with_nothing(run: Callable[[], float]) -> float:
    return run()


def with_smoothtask(run: Callable[[], float]) -> float:
    collector = EbpfCollector(EbpfConfig())
    collector.load()
    if collector.state != "ready":
        raise RuntimeError(f"eBPF unavailable: {collector.probe_status()}")
    try:
        return run()
    finally:
        collector.close()


EMPTY_PROGRAMS = b"""
int empty_switch(struct tracepoint__sched__sched_switch *args) { return 0; }
int empty_wakeup(struct tracepoint__sched__sched_wakeup *args) { return 0; }
int empty_wakeup_new(struct tracepoint__sched__sched_wakeup_new *args) { return 0; }
"""


def with_empty_programs(run: Callable[[], float]) -> float:
    """Programs that do nothing, on the same tracepoints: the floor any such probe pays."""
    import bcc  # noqa: PLC0415

    bpf = bcc.BPF(text=EMPTY_PROGRAMS)
    for tracepoint, function in (
        (b"sched:sched_switch", b"empty_switch"),
        (b"sched:sched_wakeup", b"empty_wakeup"),
        (b"sched:sched_wakeup_new", b"empty_wakeup_new"),
    ):
        bpf.attach_tracepoint(tp=tracepoint, fn_name=function)
    try:
        return run()
    finally:
        bpf.cleanup()


def with_runqlat(run: Callable[[], float]) -> float:
    tool = subprocess.Popen(
        [RUNQLAT, "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(3)  # compiled and attached
        if tool.poll() is not None:
            raise RuntimeError(f"runqlat failed: {tool.communicate()[1]}")
        return run()
    finally:
        tool.kill()
        tool.communicate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--loops", type=int, default=50_000)
    args = parser.parse_args()

    variants = {
        "none": with_nothing,
        "empty": with_empty_programs,
        "smoothtask": with_smoothtask,
        "runqlat": with_runqlat,
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, variant in variants.items():
            results[name].append(variant(lambda: pipe_bench(args.loops)))
    median = {name: statistics.median(values) for name, values in results.items()}
    slowdown = {name: median[name] / median["none"] - 1 for name in variants if name != "none"}
    for name, values in results.items():
        print(
            f"{name:>10}: median {median[name]:.3f} us/message  "
            f"(rounds: {', '.join(f'{v:.2f}' for v in values)})"
        )
    print(
        f"slowdown, empty programs on the same tracepoints (floor): {100 * slowdown['empty']:+.1f}%"
    )
    print(f"slowdown, SmoothTask probes: {100 * slowdown['smoothtask']:+.1f}%")
    print(f"slowdown, runqlat (baseline): {100 * slowdown['runqlat']:+.1f}%")
    ratio = (
        slowdown["smoothtask"] / slowdown["runqlat"] if slowdown["runqlat"] > 0 else float("nan")
    )
    print(f"ratio SmoothTask/runqlat slowdown: {ratio:.2f}")
    vs_runqlat = slowdown["smoothtask"] <= slowdown["runqlat"]
    absolute = slowdown["smoothtask"] <= TARGET_SLOWDOWN
    print(
        f"target 'at most runqlat': {'met' if vs_runqlat else 'MISSED'}; "
        f"target 'at most {100 * TARGET_SLOWDOWN:.0f}%': {'met' if absolute else 'MISSED'}"
    )
    return 0 if vs_runqlat and absolute else 1


if __name__ == "__main__":
    sys.exit(main())
