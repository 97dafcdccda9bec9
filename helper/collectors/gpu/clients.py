"""DRM clients: which processes hold which GPU contexts, and what each used since the
last sample (from /proc/<pid>/fdinfo, see fdinfo.py).

Finding clients means reading the fd links of a process (/proc/<pid>/fd/*, ~5 us each):
far too dear for every process every second (1,000 processes hold ~20,000 fds). So:

- a process is looked at (its fd links read) when first seen, then *visited* on each of
  its next NEWCOMER_VISITS samples: GPU programs open the device while they start. The
  processes alive at the first sample are looked at on their first rolling visit instead
  (all at once would cost the helper's first sample ~0.15 s with 1,000 processes);
- every process is also visited once per ``revisit_every`` samples (rolling: the
  processes with pid % revisit_every == sample % revisit_every);
- a visit costs one stat(): /proc/<pid>/fd's size is its number of open files (Linux
  6.2+); its links are read again only when that number changed since the last look, at
  every RELOOK_EVERY-th visit, or when the kernel gives no number (older kernels);
- the clients found are read every sample: one fdinfo file per client, not per fd, since
  fds and processes sharing a client are one client (same drm-pdev and drm-client-id).

A client is attributed to the lowest pid holding it (a parent that handed its fd on).
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from smoothtask_helper.collectors.gpu.errors import GpuDataError, LogOnce
from smoothtask_helper.collectors.gpu.fdinfo import DrmFdinfo, EngineCounters, parse_fdinfo
from smoothtask_helper.collectors.gpu.usage import baseline, engine_percent

DRI = "/dev/dri/"
REVISIT_EVERY = 10  # samples between two visits of one process
NEWCOMER_VISITS = 5  # samples after its first sight on which a new process is visited
RELOOK_EVERY = 30  # visits: read the links even though the number of files stayed

# (device: drm-pdev, else "driver:<name>"; client: drm-client-id, else "fd:<pid>:<fd>")
ClientKey = tuple[str, str]


@dataclass
class DrmClient:
    key: ClientKey
    driver: str
    pdev: str | None
    holders: dict[int, int]  # pid -> one of its fds on this client
    baseline: dict[str, EngineCounters]  # what the next reading is compared with
    read_ns: int
    busy: dict[str, float] = field(default_factory=dict)  # engine -> percent, last interval
    memory_bytes: int = 0

    @property
    def owner(self) -> int:
        return min(self.holders)


@dataclass
class _Process:
    fd_count: int = -1  # at the last look; -1: look at the next visit
    visits: int = 0


def client_key(info: DrmFdinfo, pid: int, fd: int) -> ClientKey:
    device = info.pdev or f"driver:{info.driver}"
    client = str(info.client_id) if info.client_id is not None else f"fd:{pid}:{fd}"
    return device, client


class DrmClients:
    def __init__(self, proc: Path, problems: LogOnce, revisit_every: int = REVISIT_EVERY) -> None:
        if revisit_every < 1:
            raise ValueError("revisit_every must be at least 1")
        self._proc = str(proc)
        self._problems = problems
        self.revisit_every = revisit_every
        self.clients: dict[ClientKey, DrmClient] = {}
        self._held: dict[int, set[ClientKey]] = {}  # pid -> the clients it holds
        self._processes: dict[int, _Process] = {}
        self._newcomers: dict[int, int] = {}  # pid -> visits left as a newcomer
        self._sample = 0
        self.links_read = 0  # fd links read so far (what finding clients costs)

    def update(self, pids: set[int], now_ns: int) -> None:
        """One sample: follow the processes alive now, find new clients, read every client."""
        self._sample += 1
        for pid in self._processes.keys() - pids:
            self._forget(pid)
        if self._sample == 1:  # spread over the first cycle: see the module's docstring
            self._processes = {pid: _Process() for pid in pids}
        visiting = [pid for pid, left in self._newcomers.items() if left > 0]
        for pid in visiting:
            self._newcomers[pid] -= 1
        turn = self._sample % self.revisit_every
        visiting += [pid for pid in pids if pid % self.revisit_every == turn]
        for pid in pids - self._processes.keys():
            self._processes[pid] = _Process()
            self._newcomers[pid] = NEWCOMER_VISITS
            self._look(pid, now_ns)
        for pid in set(visiting):
            process = self._processes.get(pid)
            if process is not None:
                self._visit(pid, process, now_ns)
        self._newcomers = {pid: left for pid, left in self._newcomers.items() if left > 0}
        self._read_all(now_ns)

    # -- finding clients ---------------------------------------------------------------

    def _visit(self, pid: int, process: _Process, now_ns: int) -> None:
        try:
            count = os.stat(f"{self._proc}/{pid}/fd").st_size
        except OSError:
            return  # gone: forgotten at the next sample
        process.visits += 1
        if count <= 0 or count != process.fd_count or process.visits % RELOOK_EVERY == 0:
            self._look(pid, now_ns)

    def _look(self, pid: int, now_ns: int) -> None:
        """Read the process's fd links; remember the DRM clients among them."""
        fd_dir = f"{self._proc}/{pid}/fd"
        try:
            count = os.stat(fd_dir).st_size
            names = os.listdir(fd_dir)
        except OSError:
            return  # gone, or not ours to read (the helper runs unprivileged)
        self._processes[pid].fd_count = count
        found: dict[ClientKey, int] = {}
        for name in names:
            try:
                target = os.readlink(f"{fd_dir}/{name}")
            except OSError:
                continue
            finally:
                self.links_read += 1
            if not target.startswith(DRI) or not name.isdigit():
                continue
            fd = int(name)
            info = self._read(pid, fd)
            if info is None:
                continue
            key = client_key(info, pid, fd)
            found.setdefault(key, fd)
            if key not in self.clients:
                self.clients[key] = DrmClient(
                    key=key,
                    driver=info.driver,
                    pdev=info.pdev,
                    holders={},
                    baseline=dict(info.engines),
                    read_ns=now_ns,
                    memory_bytes=info.memory_bytes,
                )
        self._hold(pid, found)

    def _hold(self, pid: int, found: dict[ClientKey, int]) -> None:
        for key in self._held.get(pid, set()) - found.keys():
            self._release(pid, key)
        for key, fd in found.items():
            self.clients[key].holders[pid] = fd
        if found:
            self._held[pid] = set(found)
        else:
            self._held.pop(pid, None)

    def _release(self, pid: int, key: ClientKey) -> None:
        client = self.clients.get(key)
        if client is not None:
            client.holders.pop(pid, None)
            if not client.holders:
                del self.clients[key]
        held = self._held.get(pid)
        if held is not None:
            held.discard(key)

    def _forget(self, pid: int) -> None:
        for key in self._held.pop(pid, set()):
            self._release(pid, key)
        del self._processes[pid]
        self._newcomers.pop(pid, None)

    # -- reading clients ---------------------------------------------------------------

    def _read_all(self, now_ns: int) -> None:
        for client in list(self.clients.values()):
            if client.read_ns == now_ns:
                continue  # found this sample: its baseline is this reading
            info = self._read_client(client)
            if info is None:
                continue
            elapsed = now_ns - client.read_ns
            busy = {}
            for engine, counters in info.engines.items():
                before = client.baseline.get(engine)
                percent = engine_percent(before, counters, elapsed) if before else None
                if percent is not None:
                    busy[engine] = percent
                client.baseline[engine] = baseline(before, counters)
            client.busy = busy
            client.memory_bytes = info.memory_bytes
            client.read_ns = now_ns

    def _read_client(self, client: DrmClient) -> DrmFdinfo | None:
        """Through the first of its holders' fds that still is this client."""
        for pid, fd in sorted(client.holders.items()):
            info = self._read(pid, fd)
            if info is not None and client_key(info, pid, fd) == client.key:
                return info
            # closed, or the number now names another file: look at that process again
            self._release(pid, client.key)
            process = self._processes.get(pid)
            if process is not None:
                process.fd_count = -1
        self.clients.pop(client.key, None)
        return None

    def _read(self, pid: int, fd: int) -> DrmFdinfo | None:
        path = f"{self._proc}/{pid}/fdinfo/{fd}"
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return None
        try:
            return parse_fdinfo(text)
        except GpuDataError as exc:
            self._problems.warning(f"fdinfo:{exc}", "skipping the DRM client in %s: %s", path, exc)
            return None
