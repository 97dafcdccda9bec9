"""TCP connections per process, each second, from SmoothTask's eBPF collector.

    sudo .venv/bin/python examples/tcp_connections.py [--seconds N] [--top K]

Prints the processes with the most established TCP connections, and how many each
opened and closed since the probe attached. Needs root.
"""

import argparse
import sys
import time

from smoothtask_helper.collectors.ebpf import EbpfCollector, EbpfConfig


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()

    collector = EbpfCollector(EbpfConfig(probes=frozenset({"tcp"}), bpf_stats=False))
    collector.load()
    if collector.state != "ready":
        print(f"eBPF unavailable: {collector.probe_status()['tcp']['reason']}", file=sys.stderr)
        return 1
    print("watching TCP connections", flush=True)
    started = time.monotonic()
    try:
        while args.seconds is None or time.monotonic() - started < args.seconds:
            time.sleep(args.interval)
            reading = collector.read()
            rows = sorted(
                ((s.tcp_established or 0, pid, s) for pid, s in reading.per_pid.items()),
                key=lambda row: (-row[0], row[1]),
            )[: args.top]
            total = (reading.tcp or {}).get("established", 0)
            print(f"-- {time.strftime('%H:%M:%S')}: {total} established", flush=True)
            for established, pid, stats in rows:
                if established or stats.tcp_opened:
                    print(
                        f"{pid:>8} {comm(pid):<16} established {established:>5}  "
                        f"opened {stats.tcp_opened:>6}  closed {stats.tcp_closed:>6}",
                        flush=True,
                    )
    except KeyboardInterrupt:
        pass
    finally:
        collector.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
