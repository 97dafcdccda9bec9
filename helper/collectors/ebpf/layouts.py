"""numpy layouts of the BPF maps' keys and values (must match bpf/*.c exactly; the
map reader checks the sizes against what bcc compiled)."""

from typing import Any

import numpy as np

from smoothtask_helper.collectors.ebpf.histogram import SLOTS

U32 = np.dtype("<u4")
U64 = np.dtype("<u8")

PROC_STATS = np.dtype([("oncpu_ns", "<u8"), ("wait_ns", "<u8"), ("hist", "<u4", (SLOTS,))])
CPU_STATE = np.dtype([("since", "<u8"), ("pending_wait", "<u8"), ("hist", "<u8", (SLOTS,))])
RECLAIM_STATS = np.dtype([("stall_ns", "<u8"), ("stalls", "<u8")])
IO_SLOT_KEY = np.dtype([("dev", "<u8"), ("slot", "<u8")])
IO_COUNT = np.dtype([("issued", "<u8"), ("completed", "<u8"), ("bytes", "<u8")])
TCP_STATS = np.dtype([("established", "<i8"), ("opened", "<u8"), ("closed", "<u8")])


def opaque(size: int) -> np.dtype[Any]:
    """For maps that are only counted, never interpreted."""
    return np.dtype((np.void, size))
