"""DRM clients found through /proc/<pid>/fd and read through fdinfo: deduplicated, and
found without reading every fd link of every process every sample."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from smoothtask_helper.collectors.gpu.clients import RELOOK_EVERY, DrmClients
from smoothtask_helper.collectors.gpu.errors import LogOnce
from tests.gpu.trees import AMD_SLOT, Tree, amdgpu_fdinfo, i915_fdinfo
from tests.support.waiting import wait_for

SECOND = 1_000_000_000
# opens one more file (and keeps it) for each line it reads
KEEPS_OPENING = (
    "print('ready', flush=True)\n"
    "import sys\nkept = []\nwhile sys.stdin.readline():\n    kept.append(open('/dev/null'))"
)
RENDER = "/dev/dri/renderD128"


def clients_of(tree: Tree, revisit_every: int = 1) -> DrmClients:
    return DrmClients(tree.root / "proc", LogOnce(logging.getLogger("test")), revisit_every)


def test_shared_clients_are_counted_once(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.fd(100, 3, RENDER, amdgpu_fdinfo(42, gfx_ns=0))
    tree.fd(100, 4, RENDER, amdgpu_fdinfo(42, gfx_ns=0))  # dup() of fd 3
    tree.fd(100, 5, "/dev/dri/card1", amdgpu_fdinfo(43, gfx_ns=0))
    tree.fd(101, 7, RENDER, amdgpu_fdinfo(42, gfx_ns=0))  # inherited by its child
    tree.fd(101, 1, "/dev/pts/0")
    clients = clients_of(tree)
    clients.update({100, 101}, 0)
    assert set(clients.clients) == {(AMD_SLOT, "42"), (AMD_SLOT, "43")}
    shared = clients.clients[(AMD_SLOT, "42")]
    assert shared.holders == {100: 3, 101: 7}
    assert shared.owner == 100  # the parent that handed it on


def test_busy_time_and_memory_between_samples(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.fd(100, 3, RENDER, amdgpu_fdinfo(42, gfx_ns=5 * SECOND, vram_kib=1024, gtt_kib=0))
    clients = clients_of(tree)
    clients.update({100}, 10 * SECOND)
    client = clients.clients[(AMD_SLOT, "42")]
    assert client.busy == {}  # one reading: nothing to compare yet
    tree.set_fdinfo(
        100, 3, amdgpu_fdinfo(42, gfx_ns=5 * SECOND + SECOND // 2, vram_kib=2048, gtt_kib=0)
    )
    clients.update({100}, 11 * SECOND)
    assert client.busy == {"gfx": pytest.approx(50.0), "compute": 0.0, "dec": 0.0}
    assert client.memory_bytes == 2048 * 1024


def test_the_child_keeps_a_client_its_parent_handed_on(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.fd(100, 3, RENDER, i915_fdinfo(7, render_ns=0))
    tree.fd(101, 3, RENDER, i915_fdinfo(7, render_ns=0))
    clients = clients_of(tree)
    clients.update({100, 101}, 0)
    clients.update({101}, SECOND)  # the parent exited
    (client,) = clients.clients.values()
    assert client.holders == {101: 3} and client.owner == 101
    clients.update(set(), 2 * SECOND)
    assert clients.clients == {}


def test_a_closed_client_is_dropped_at_the_next_read(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    tree.fd(100, 3, RENDER, i915_fdinfo(7, render_ns=0))
    clients = clients_of(tree)
    clients.update({100}, 0)
    tree.close_fd(100, 3)
    clients.update({100}, SECOND)
    assert clients.clients == {}
    # the number reused for another client: that process is looked at again at its next
    # visit (here: as a newcomer), and the fd is the other client
    tree.fd(100, 3, RENDER, i915_fdinfo(8, render_ns=0))
    clients.update({100}, 2 * SECOND)
    assert list(clients.clients) == [("0000:00:02.0", "8")]


def test_a_gpu_opened_later_is_found_by_a_relook(tmp_path: Path) -> None:
    """On this synthetic tree a folder's size does not follow its entries (ext4), as on
    kernels before 6.2: then links are read again at every RELOOK_EVERY-th visit."""
    tree = Tree(tmp_path)
    tree.fd(100, 1, "/dev/pts/0")
    clients = clients_of(tree, revisit_every=1)
    clients.update({100}, 0)
    tree.fd(100, 3, RENDER, i915_fdinfo(7, render_ns=0))
    for sample in range(1, RELOOK_EVERY + 1):
        clients.update({100}, sample * SECOND)
    assert list(clients.clients) == [("0000:00:02.0", "7")]


def test_malformed_fdinfo_is_skipped_and_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tree = Tree(tmp_path)
    tree.fd(100, 3, RENDER, "drm-driver: i915\ndrm-client-id: 1\ndrm-engine-render: soon ns\n")
    tree.fd(101, 3, RENDER, i915_fdinfo(7, render_ns=0))
    clients = clients_of(tree, revisit_every=1)
    for sample in range(3):
        clients.update({100, 101}, sample * SECOND)
    assert list(clients.clients) == [("0000:00:02.0", "7")]
    assert caplog.text.count("drm-engine-render") == 1


def test_visits_read_fd_links_only_when_the_open_files_change() -> None:
    """On the real /proc (Linux 6.2+ gives /proc/<pid>/fd a size: its open files)."""
    assert os.stat("/proc/self/fd").st_size > 0, "this kernel gives no fd count"
    with subprocess.Popen(
        [sys.executable, "-c", KEEPS_OPENING],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        try:
            assert child.stdout.readline() == "ready\n"  # started: its files stay put
            clients = DrmClients(Path("/proc"), LogOnce(logging.getLogger("test")), 1)
            clients.update({child.pid}, 0)
            first_look = clients.links_read
            assert first_look >= 3  # stdin, stdout, stderr at least
            for sample in range(1, 4):  # visited each sample, nothing changed: a stat() each
                clients.update({child.pid}, sample * SECOND)
            assert clients.links_read == first_look
            before = len(os.listdir(f"/proc/{child.pid}/fd"))
            child.stdin.write("open one more\n")
            child.stdin.flush()
            wait_for(
                lambda: len(os.listdir(f"/proc/{child.pid}/fd")) > before, 10, "the child's open"
            )
            clients.update({child.pid}, 5 * SECOND)
            assert clients.links_read == first_look + before + 1
        finally:
            child.kill()


def test_a_cycle_for_those_running_at_start_at_once_for_newcomers(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    for pid in range(100, 110):
        tree.fd(pid, 3, RENDER, i915_fdinfo(pid, render_ns=0))
    clients = clients_of(tree, revisit_every=10)
    clients.update(set(range(100, 110)), 0)  # the first sample looks at one in ten
    assert [key[1] for key in clients.clients] == ["101"]
    tree.fd(200, 3, RENDER, i915_fdinfo(200, render_ns=0))
    clients.update({*range(100, 110), 200}, SECOND)  # a newcomer: looked at at once
    assert {"102", "200"} <= {key[1] for key in clients.clients}
    for sample in range(2, 10):
        clients.update({*range(100, 110), 200}, sample * SECOND)
    assert len(clients.clients) == 11  # one cycle: everyone running at start was seen
