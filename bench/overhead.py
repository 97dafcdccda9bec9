"""The helper's own CPU use at 1 Hz with many processes, against `top -b -d 1`.

Both run at the same time over the same window, with N extra idle processes alive (so
both scan the same process table); each one's CPU time comes from /proc/<pid>/stat.
Targets (issue 2): the helper uses no more than top, and under 1% of one core.

    .venv/bin/python bench/overhead.py [--seconds 30] [--processes 1000]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.bus import HelperProcess, PrivateBus  # noqa: E402
from tests.support.procs import cpu_seconds  # noqa: E402

TARGET_PERCENT = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=1000)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()

    idle = [subprocess.Popen(["sleep", "3600"]) for _ in range(args.processes)]
    bus = PrivateBus().start()
    folder = Path(tempfile.mkdtemp(prefix="st-bench-"))
    helper = HelperProcess(bus.address, folder / "helper.log").start()
    top = subprocess.Popen(["top", "-b", "-d", "1"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(args.warmup)  # both past their first full scan
        total = sum(1 for n in os.listdir("/proc") if n.isdigit())
        start = {"helper": cpu_seconds(helper.pid), "top": cpu_seconds(top.pid)}
        began = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - began
        used = {
            "helper": cpu_seconds(helper.pid) - start["helper"],
            "top": cpu_seconds(top.pid) - start["top"],
        }
    finally:
        top.kill()
        top.wait()
        helper.stop()
        bus.stop()
        shutil.rmtree(folder, ignore_errors=True)
        for proc in idle:
            proc.kill()
        for proc in idle:
            proc.wait()

    percent = {name: 100.0 * seconds / elapsed for name, seconds in used.items()}
    ratio = percent["helper"] / percent["top"] if percent["top"] else float("inf")
    print(f"processes alive: {total} ({args.processes} extra idle), window {elapsed:.1f} s at 1 Hz")
    print(f"smoothtask-helper: {percent['helper']:.2f}% of one core")
    print(f"top -b -d 1 (baseline): {percent['top']:.2f}% of one core")
    print(f"ratio helper/top: {ratio:.2f}")
    ok = percent["helper"] <= percent["top"] and percent["helper"] < TARGET_PERCENT
    print(f"target (<= top and < {TARGET_PERCENT:g}%): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
