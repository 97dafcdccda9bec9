"""What following DRM clients costs the helper per sample with 1,000 processes, against
the naive way: reading every fd link of every process (and the fdinfo of each DRM fd)
every sample.

The processes are real (idle `sleep`s, each holding extra open files); the GPU is not
(this machine has none): the root has a synthetic i915 card in sys/, proc/ links to the
real /proc/<pid> of every process, plus a few synthetic processes holding DRM clients.
Both variants read that same root in the same run, alternating round by round.

    .venv/bin/python bench/gpu_fdinfo.py [--processes 1000] [--files 20] [--rounds 9]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from smoothtask_helper.collectors.gpu import GpuCollector, GpuConfig  # noqa: E402
from smoothtask_helper.collectors.gpu.fdinfo import parse_fdinfo  # noqa: E402
from smoothtask_helper.collectors.procfs import ProcessScanner  # noqa: E402
from smoothtask_helper.model import ProcessSample  # noqa: E402
from tests.gpu.trees import INTEL_SLOT, Tree, i915_fdinfo, process  # noqa: E402

DRM_CLIENTS = 10
FIRST_SYNTHETIC_PID = 4_000_000  # above any real pid (pid_max is at most 2^22)
TARGET_PERCENT = 0.25  # of one core at 1 Hz: a quarter of the helper's 1% budget


def build_root(folder: Path, real: list[ProcessSample]) -> list[ProcessSample]:
    tree = Tree(folder)
    tree.card("card0", "i915", INTEL_SLOT, "8086:3e92")
    for p in real:
        os.symlink(f"/proc/{p.pid}", folder / "proc" / str(p.pid))
    synthetic = []
    for i in range(DRM_CLIENTS):
        pid = FIRST_SYNTHETIC_PID + i
        for fd in range(3, 23):  # 20 files, one of them the GPU
            target = "/dev/dri/renderD128" if fd == 10 else f"/tmp/file{fd}"
            text = i915_fdinfo(100 + i, render_ns=0) if fd == 10 else "pos:\t0\n"
            tree.fd(pid, fd, target, text)
        synthetic.append(process(pid))
    return synthetic


def naive_sample(proc: Path, pids: list[int]) -> int:
    """Every fd link of every process, and the fdinfo of each DRM fd: DRM clients seen."""
    clients = 0
    for pid in pids:
        folder = f"{proc}/{pid}/fd"
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            try:
                target = os.readlink(f"{folder}/{name}")
            except OSError:
                continue
            if target.startswith("/dev/dri/"):
                with open(f"{proc}/{pid}/fdinfo/{name}") as f:
                    clients += parse_fdinfo(f.read()) is not None
    return clients


def cpu_ms(action: Callable[[], object]) -> float:
    """CPU time (this process's, not wall time: the machine is shared) of one call."""
    started = time.process_time()
    action()
    return 1e3 * (time.process_time() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--files", type=int, default=20, help="open files per idle process")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    extra = [os.open("/dev/null", os.O_RDONLY) for _ in range(args.files - 3)]
    idle = [subprocess.Popen(["sleep", "3600"], pass_fds=extra) for _ in range(args.processes)]
    for fd in extra:
        os.close(fd)
    scanner = ProcessScanner()
    try:
        with tempfile.TemporaryDirectory(prefix="st-bench-gpu-") as folder:
            real = [p for p in scanner.scan() if not p.kernel_thread]
            processes = real + build_root(Path(folder), real)
            pids = [p.pid for p in processes]
            collector = GpuCollector(GpuConfig(root=Path(folder)))
            collector.start()
            one_sample = partial(collector.read, processes)
            cycle = collector.config.revisit_every
            # the processes running at start are looked at over the first cycle
            first = [cpu_ms(one_sample) for _ in range(cycle)]
            ours, naive = [], []
            for _ in range(args.rounds):
                # one full revisit cycle, so that every process was visited once
                ours.append(sum(cpu_ms(one_sample) for _ in range(cycle)) / cycle)
                naive.append(cpu_ms(partial(naive_sample, Path(folder) / "proc", pids)))
            found = naive_sample(Path(folder) / "proc", pids)
            status = collector.status()["fdinfo"]
    finally:
        scanner.close()
        for proc in idle:
            proc.kill()
        for proc in idle:
            proc.wait()

    fds = status["fd_links_read"]
    mine, theirs = statistics.median(ours), statistics.median(naive)
    print(
        f"processes followed: {len(processes)} ({args.processes} idle with {args.files} open "
        f"files each, {DRM_CLIENTS} synthetic DRM clients); DRM clients found: "
        f"{status['clients']} (naive: {found})"
    )
    print(
        f"fd links read in all: {fds}; first {len(first)} samples (every process looked at "
        f"once): max {max(first):.1f} ms, median {statistics.median(first):.1f} ms per sample"
    )
    print(
        f"SmoothTask, per sample (rolling visits, clients read): median {mine:.2f} ms "
        f"(rounds: {', '.join(f'{v:.2f}' for v in ours)})"
    )
    print(
        f"every fd of every process each sample (baseline): median {theirs:.2f} ms "
        f"(rounds: {', '.join(f'{v:.1f}' for v in naive)})"
    )
    print(f"ratio SmoothTask/baseline: {mine / theirs:.3f}")
    percent = mine / 10  # ms per 1 s sample -> percent of one core
    ok = percent < TARGET_PERCENT and status["clients"] == DRM_CLIENTS
    print(
        f"at 1 Hz: {percent:.3f}% of one core; target (< {TARGET_PERCENT:g}%, every client "
        f"found): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
