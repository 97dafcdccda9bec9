"""Run-queue latency of one process, each second, from SmoothTask's eBPF collector.

    sudo .venv/bin/python examples/runqueue_latency.py PID [--seconds N]

Prints how long the process ran and waited for a CPU in each interval, its p99 wait over
the last 10 s, and the system's p99. Needs root (loading BPF programs).
"""

import argparse
import sys
import time

from smoothtask_helper.collectors.ebpf import EbpfCollector, EbpfConfig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pid", type=int)
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()

    collector = EbpfCollector(EbpfConfig(probes=frozenset({"runqueue"}), bpf_stats=False))
    collector.load()
    if collector.state != "ready":
        print(
            f"eBPF unavailable: {collector.probe_status()['runqueue']['reason']}", file=sys.stderr
        )
        return 1
    try:
        previous = collector.read().per_pid.get(args.pid)
        started = time.monotonic()
        while args.seconds is None or time.monotonic() - started < args.seconds:
            time.sleep(args.interval)
            reading = collector.read()
            now = reading.per_pid.get(args.pid)
            if now is None or now.oncpu_ns is None or now.runqueue_wait_ns is None:
                print(f"pid {args.pid}: not seen running yet", flush=True)
                continue
            ran = now.oncpu_ns - (previous.oncpu_ns or 0 if previous else 0)
            waited = now.runqueue_wait_ns - (previous.runqueue_wait_ns or 0 if previous else 0)
            system = reading.runqueue_latency_us or {}
            print(
                f"pid {args.pid}: ran {ran / 1e6:8.1f} ms  waited {waited / 1e6:8.1f} ms  "
                f"p99 wait {now.runqueue_latency_p99_us:9.1f} us  "
                f"(system p99 {system.get('p99') or 0:9.1f} us)",
                flush=True,
            )
            previous = now
    except KeyboardInterrupt:
        pass
    finally:
        collector.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
