"""What each alert kind looks for in a sample: findings, each naming its subject and,
where it can, the processes behind it (the culprits) and what the person can do."""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from smoothtask_helper.alerting.rules import AlertRule
from smoothtask_helper.gpu_saturation import memory_percent, saturated
from smoothtask_helper.model import JsonDict, ProcessSample, Snapshot

TOP = 3  # culprits named in an alert


@dataclass(frozen=True)
class Situation:
    """One tick, as the alert engine sees it."""

    snapshot: Snapshot
    user_active: bool  # the person used keyboard or mouse recently
    focused_pid: int | None  # the process of the focused window, if known
    new_processes: tuple[ProcessSample, ...] = ()  # started since the previous tick
    degraded: tuple[str, ...] = ()  # capabilities the helper lost, in words
    # per (pid, start_time): run-queue wait and TCP opens per second since the last tick
    wait_rates: dict[tuple[int, float], float] = field(default_factory=dict)
    open_rates: dict[tuple[int, float], float] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    kind: str
    subject: str  # what the alert is about: "system", or a process "pid:start"
    value: float  # the measured figure, in the kind's unit
    title: str
    body: str
    pid: int | None = None
    start_time: float | None = None
    culprits: tuple[JsonDict, ...] = ()
    actions: tuple[str, ...] = ("show", "mute-kind")


def name(p: ProcessSample) -> str:
    return f"{p.comm} (pid {p.pid})"


def process_subject(p: ProcessSample) -> str:
    return f"pid:{p.pid}:{p.start_time}"


def about_process(
    kind: str, p: ProcessSample, value: float, title: str, body: str, figure: str
) -> Finding:
    """A finding about one process, which is its own culprit and may be lowered."""
    return Finding(
        kind,
        process_subject(p),
        value,
        title,
        body,
        pid=p.pid,
        start_time=p.start_time,
        culprits=(culprit(p, figure, value),),
        actions=("lower-priority", "show", "mute-kind"),
    )


def user_processes(snapshot: Snapshot) -> list[ProcessSample]:
    return [p for p in snapshot.processes if not p.kernel_thread and p.pid != 1]


def top(
    processes: Iterable[ProcessSample], figure: Callable[[ProcessSample], float]
) -> list[ProcessSample]:
    ranked = sorted(processes, key=figure, reverse=True)
    return [p for p in ranked[:TOP] if figure(p) > 0]


def culprit(p: ProcessSample, what: str, value: float) -> JsonDict:
    return {"pid": p.pid, "start_time": p.start_time, "comm": p.comm, what: round(value, 1)}


def runqueue_latency(s: Situation, rule: AlertRule) -> list[Finding]:
    kernel = s.snapshot.kernel
    latency = kernel.runqueue_latency_us if kernel is not None else None
    p99 = latency.get("p99") if latency else None
    if p99 is None:
        return []
    processes = user_processes(s.snapshot)
    waiting = top(processes, lambda p: s.wait_rates.get((p.pid, p.start_time), 0.0))
    busy = top(processes, lambda p: p.cpu_percent)
    lines = [f"Tasks wait up to {p99 / 1000:.0f} ms (p99) for a CPU."]
    if waiting:
        lines.append(
            "Waiting most: "
            + ", ".join(
                f"{name(p)} {s.wait_rates[(p.pid, p.start_time)] / 1e6:.0f} ms/s" for p in waiting
            )
        )
    if busy:
        lines.append("Using the CPU: " + ", ".join(f"{name(p)} {p.cpu_percent:.0f}%" for p in busy))
    hog = busy[0] if busy else None
    return [
        Finding(
            "runqueue-latency",
            "system",
            float(p99),
            "The desktop is waiting for the CPU",
            "\n".join(lines),
            pid=hog.pid if hog else None,
            start_time=hog.start_time if hog else None,
            culprits=tuple(culprit(p, "cpu_percent", p.cpu_percent) for p in busy)
            + tuple(
                culprit(p, "wait_ms_per_s", s.wait_rates[(p.pid, p.start_time)] / 1e6)
                for p in waiting
            ),
            actions=("lower-priority", "show", "mute-kind") if hog else ("show", "mute-kind"),
        )
    ]


Detector = Callable[[Situation, AlertRule], list[Finding]]


def _pressure(kind: str, resource: str, line: str, title: str) -> Detector:
    def detect(s: Situation, rule: AlertRule) -> list[Finding]:
        psi = s.snapshot.psi
        if psi is None or resource not in psi:
            return []
        pressure = psi[resource].some if line == "some" else psi[resource].full
        if pressure is None:
            return []
        value = pressure.avg10
        processes = user_processes(s.snapshot)
        if resource == "memory":
            users = top(processes, lambda p: p.rss_bytes)
            named = [f"{name(p)} {p.rss_bytes / 2**30:.1f} GiB" for p in users]
            culprits = tuple(culprit(p, "rss_gib", p.rss_bytes / 2**30) for p in users)
        else:  # cpu and io: who runs now (per-process I/O rates are not sampled each tick)
            users = top(processes, lambda p: p.cpu_percent)
            named = [f"{name(p)} {p.cpu_percent:.0f}% CPU" for p in users]
            culprits = tuple(culprit(p, "cpu_percent", p.cpu_percent) for p in users)
        body = f"Tasks stalled on {resource} {value:.0f}% of the last 10 s ({line})."
        if named:
            body += "\nLargest: " + ", ".join(named)
        first = users[0] if users else None
        return [
            Finding(
                kind,
                "system",
                value,
                title,
                body,
                pid=first.pid if first else None,
                start_time=first.start_time if first else None,
                culprits=culprits,
                actions=("lower-priority", "show", "mute-kind") if first else ("show", "mute-kind"),
            )
        ]

    return detect


def oom_kills(s: Situation, rule: AlertRule) -> list[Finding]:
    kernel = s.snapshot.kernel
    kills = kernel.oom_kills if kernel is not None and kernel.oom_kills else []
    return [
        Finding(
            "oom-kill",
            f"oom:{kill['pid']}:{kill['time']}",
            1.0,
            f"Out of memory: {kill['comm'] or 'a process'} was killed",
            f"The kernel killed {kill['comm'] or '?'} (pid {kill['pid']}"
            + (f", user {kill['uid']}" if kill.get("uid") is not None else "")
            + ") to free memory"
            + (f"; it used {kill['rss_bytes'] / 2**20:.0f} MiB." if kill.get("rss_bytes") else "."),
            pid=int(kill["pid"]),
            culprits=(
                {
                    "pid": kill["pid"],
                    "comm": kill["comm"],
                    "uid": kill.get("uid"),
                    "time": kill["time"],
                },  # when the kernel chose the victim
            ),
            actions=("show", "mute-kind"),
        )
        for kill in kills
    ]


def cpu_hogs(s: Situation, rule: AlertRule) -> list[Finding]:
    if not s.user_active:
        return []  # a busy machine nobody is using is not a problem
    return [
        about_process(
            "cpu-hog",
            p,
            p.cpu_percent,
            f"{p.comm} keeps a CPU busy",
            f"{name(p)} has used {p.cpu_percent:.0f}% of a CPU while you work.",
            "cpu_percent",
        )
        for p in user_processes(s.snapshot)
        if p.cpu_percent >= rule.threshold * HOLD_FRACTION and p.pid != s.focused_pid
    ]


def fork_storms(s: Situation, rule: AlertRule) -> list[Finding]:
    interval = s.snapshot.interval_s or 1.0
    per_parent = Counter(p.ppid for p in s.new_processes)
    by_pid = {p.pid: p for p in s.snapshot.processes}
    findings = []
    for ppid, count in per_parent.items():
        rate = count / interval
        parent = by_pid.get(ppid)
        if parent is None or rate < rule.threshold * HOLD_FRACTION:
            continue
        findings.append(
            about_process(
                "fork-storm",
                parent,
                rate,
                f"{parent.comm} starts programs very fast",
                f"{name(parent)} started {rate:.0f} programs per second.",
                "starts_per_s",
            )
        )
    return findings


def connection_storms(s: Situation, rule: AlertRule) -> list[Finding]:
    by_key = {(p.pid, p.start_time): p for p in s.snapshot.processes}
    findings = []
    for key, rate in s.open_rates.items():
        p = by_key.get(key)
        if p is None or rate < rule.threshold * HOLD_FRACTION:
            continue
        findings.append(
            about_process(
                "connection-storm",
                p,
                rate,
                f"{p.comm} opens many connections",
                f"{name(p)} opened {rate:.0f} TCP connections per second.",
                "opens_per_s",
            )
        )
    return findings


def gpu_saturation(s: Situation, rule: AlertRule) -> list[Finding]:
    """A GPU busy (or its memory full) at the threshold; names who uses it most."""
    gpu = s.snapshot.gpu
    if gpu is None:
        return []
    findings = []
    for verdict in saturated(gpu, rule.threshold * HOLD_FRACTION, rule.threshold * HOLD_FRACTION):
        device = verdict.device
        value = max(device.utilisation_percent or 0.0, memory_percent(device))
        users = top(user_processes(s.snapshot), lambda p: gpu.stats_for(p).gpu_percent or 0.0)
        body = f"{verdict.why}."
        if users:
            body += "\nUsing it most: " + ", ".join(
                f"{name(p)} {gpu.stats_for(p).gpu_percent or 0:.0f}%" for p in users
            )
        first = users[0] if users else None
        findings.append(
            Finding(
                "gpu-saturation",
                f"gpu:{device.id}",
                value,
                f"The GPU {device.name} is saturated",
                body,
                pid=first.pid if first else None,
                start_time=first.start_time if first else None,
                culprits=tuple(
                    culprit(p, "gpu_percent", gpu.stats_for(p).gpu_percent or 0.0) for p in users
                ),
                actions=("lower-priority", "show", "mute-kind") if first else ("show", "mute-kind"),
            )
        )
    return findings


def degraded(s: Situation, rule: AlertRule) -> list[Finding]:
    return [
        Finding(
            "helper-degraded",
            f"degraded:{reason}",
            1.0,
            "SmoothTask works with less",
            reason,
            actions=("show", "mute-kind"),
        )
        for reason in s.degraded
    ]


# A condition that started stays true down to this share of the threshold: no flapping
# on a value that hovers around it (the engine compares with the full threshold to start).
HOLD_FRACTION = 0.8

DETECTORS: dict[str, Detector] = {
    "runqueue-latency": runqueue_latency,
    "cpu-pressure": _pressure("cpu-pressure", "cpu", "some", "The CPU is overloaded"),
    "memory-pressure": _pressure("memory-pressure", "memory", "some", "Memory is short"),
    "io-pressure": _pressure("io-pressure", "io", "full", "Disk I/O is stalling the desktop"),
    "oom-kill": oom_kills,
    "cpu-hog": cpu_hogs,
    "fork-storm": fork_storms,
    "connection-storm": connection_storms,
    "helper-degraded": degraded,
    "gpu-saturation": gpu_saturation,
}
