"""Block I/O: requests completed match requests issued, for direct I/O on a real disk."""

import mmap
import os
import time
from pathlib import Path

import pytest

from smoothtask_helper.collectors.ebpf import EbpfCollector

BLOCK = 4096
IOS = 400


def disk_name(path: Path) -> str | None:
    """The whole-disk device name under a file (requests are issued on the disk)."""
    st = os.stat(path)
    if os.major(st.st_dev) == 0:
        return None  # tmpfs, overlay, ...: no block device
    sysfs = Path(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}").resolve()
    if (sysfs / "partition").exists():
        sysfs = sysfs.parent
    return sysfs.name


def block_backed_folder(tmp_path: Path) -> Path:
    for folder in (tmp_path, Path("/var/tmp"), Path(__file__).resolve().parent):
        if disk_name(folder):
            return folder
    pytest.fail("no folder on a block device for direct I/O")


def test_completions_match_issues(collector: EbpfCollector, tmp_path: Path) -> None:
    folder = block_backed_folder(tmp_path)
    disk = disk_name(folder)
    path = folder / f"smoothtask-direct-io-{os.getpid()}"
    buffer = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT wants
    buffer.write(os.urandom(BLOCK))
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o600)
    try:
        collector.read()
        for i in range(IOS):
            os.pwritev(fd, [buffer], i * BLOCK)
        os.fsync(fd)
        for i in range(IOS):
            os.preadv(fd, [buffer], i * BLOCK)
        time.sleep(0.2)  # let writeback of the file's metadata complete too
        reading = collector.read()
    finally:
        os.close(fd)
        path.unlink()
        buffer.close()
    assert reading.io_latency_us is not None
    device = reading.io_latency_us["devices"][disk]
    assert device["issued"] >= IOS * 2  # every direct read and write is a request
    assert device["completed"] == pytest.approx(device["issued"], rel=0.01)
    assert device["count"] > 0 and device["p99"] is not None
