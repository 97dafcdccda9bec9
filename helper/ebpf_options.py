"""Command-line options of the helper for the eBPF collector (probes, map sizes)."""

import argparse

from smoothtask_helper.collectors.ebpf import PROBE_NAMES, EbpfConfig, MapSizes

MAP_SIZE_RANGE = (64, 1 << 20)


def _map_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    low, high = MAP_SIZE_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
    return value


def add_ebpf_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("eBPF")
    group.add_argument("--no-ebpf", action="store_true", help="run on /proc only")
    group.add_argument(
        "--disable-probe",
        action="append",
        default=[],
        choices=PROBE_NAMES,
        metavar="PROBE",
        help=f"switch one probe off (repeatable): {', '.join(PROBE_NAMES)}",
    )
    defaults = MapSizes()
    group.add_argument(
        "--bpf-max-processes",
        type=_map_size,
        default=defaults.max_processes,
        help=f"entries of the per-process maps (default {defaults.max_processes})",
    )
    group.add_argument(
        "--bpf-max-tasks",
        type=_map_size,
        default=defaults.max_tasks,
        help=f"entries of the per-thread maps (default {defaults.max_tasks})",
    )
    group.add_argument(
        "--no-bpf-stats",
        action="store_true",
        help="do not switch the kernel's BPF run-time statistics on",
    )


def ebpf_config(args: argparse.Namespace) -> EbpfConfig:
    return EbpfConfig(
        enabled=not args.no_ebpf,
        probes=frozenset(PROBE_NAMES) - set(args.disable_probe),
        sizes=MapSizes(max_processes=args.bpf_max_processes, max_tasks=args.bpf_max_tasks),
        bpf_stats=not args.no_bpf_stats,
    )
