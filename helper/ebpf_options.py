"""The eBPF collector's configuration: the settings file's [ebpf] section, with the
helper's command-line options on top (they win, as --interval does)."""

import argparse
from dataclasses import replace

from smoothtask_helper.collectors.ebpf import PROBE_NAMES, EbpfConfig, MapSizes
from smoothtask_helper.settings import Settings

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
    group.add_argument(
        "--bpf-max-processes",
        type=_map_size,
        default=None,
        help="entries of the per-process maps (default: ebpf.max_processes in the settings)",
    )
    group.add_argument(
        "--bpf-max-tasks",
        type=_map_size,
        default=None,
        help="entries of the per-thread maps (default: ebpf.max_tasks in the settings)",
    )
    group.add_argument(
        "--no-bpf-stats",
        action="store_true",
        help="do not switch the kernel's BPF run-time statistics on",
    )


def ebpf_config(args: argparse.Namespace, settings: Settings) -> EbpfConfig:
    """What the collector should run now: the settings, overridden by the command line."""
    return EbpfConfig(
        enabled=settings.ebpf_enabled and not args.no_ebpf,
        probes=frozenset(settings.ebpf_probes) - set(args.disable_probe),
        sizes=replace(
            MapSizes(),
            max_processes=args.bpf_max_processes or settings.ebpf_max_processes,
            max_tasks=args.bpf_max_tasks or settings.ebpf_max_tasks,
        ),
        bpf_stats=settings.ebpf_bpf_stats and not args.no_bpf_stats,
    )
