"""The eBPF collector (bcc, tracepoints only): see docs/ebpf.md.

The programs are in bpf/ at the top of the project, shipped as ``smoothtask_helper.bpf``.
"""

from smoothtask_helper.collectors.ebpf.collector import EbpfCollector, EbpfConfig, KernelReading
from smoothtask_helper.collectors.ebpf.events import EventBatch, OomKill
from smoothtask_helper.collectors.ebpf.loader import MapSizes
from smoothtask_helper.collectors.ebpf.probes import PROBE_NAMES

__all__ = [
    "PROBE_NAMES",
    "EbpfCollector",
    "EbpfConfig",
    "EventBatch",
    "KernelReading",
    "MapSizes",
    "OomKill",
]
