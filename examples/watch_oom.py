"""Watch OOM kills as the kernel makes them, from SmoothTask's eBPF collector.

    sudo .venv/bin/python examples/watch_oom.py [--seconds N]

Prints one line per kill: time, victim pid, name, user and memory. Needs root.
"""

import argparse
import select
import sys
import time

from smoothtask_helper.collectors.ebpf import EbpfCollector, EbpfConfig


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    args = parser.parse_args()

    collector = EbpfCollector(EbpfConfig(probes=frozenset({"oom"}), bpf_stats=False))
    collector.load()
    if collector.state != "ready":
        print(f"eBPF unavailable: {collector.probe_status()['oom']['reason']}", file=sys.stderr)
        return 1
    print("watching for OOM kills", flush=True)
    events = collector.events_fd()
    started = time.monotonic()
    try:
        while args.seconds is None or time.monotonic() - started < args.seconds:
            if events is not None:
                select.select([events], [], [], 0.5)  # wake when the kernel has news
            else:
                time.sleep(0.1)
            for kill in collector.poll_events().oom_kills:
                memory = f"{kill.rss_bytes / 2**20:.1f} MiB" if kill.rss_bytes else "?"
                when = time.strftime("%H:%M:%S", time.localtime(kill.time))
                print(
                    f"{when} OOM kill: pid {kill.pid} ({kill.comm}), uid {kill.uid}, RSS {memory}",
                    flush=True,
                )
    except KeyboardInterrupt:
        pass
    finally:
        collector.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
