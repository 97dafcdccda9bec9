"""Plain-text rendering of helper documents for smoothtaskctl (``--json`` skips this)."""

import pwd
from collections.abc import Iterable, Sequence
from functools import lru_cache

from smoothtask_helper.model import JsonDict


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


@lru_cache(maxsize=1024)
def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    text_rows = [[str(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in text_rows
    ]
    return "\n".join(lines)


def status(doc: JsonDict) -> str:
    lines = [
        f"SmoothTask helper {doc['version']}: mode {doc['mode']}, "
        f"sampling every {doc['interval_s']:g} s, pid {doc['pid']}, uid {doc['uid']}",
    ]
    lines += [f"limitation: {item}" for item in doc.get("limitations", [])]
    probes: JsonDict = doc.get("probes", {})
    if not probes:
        lines.append("eBPF probes: none in this version")
    for name, probe in sorted(probes.items()):
        state = "available" if probe["available"] else f"unavailable: {probe['reason']}"
        lines.append(f"probe {name}: {state}")
    lines += gpu_status(doc.get("gpu"))
    return "\n".join(lines)


def gpu_status(gpu: JsonDict | None) -> list[str]:
    """One line per GPU source: available, or why not."""
    if not gpu or not gpu.get("enabled"):
        return ["gpu: monitoring is switched off"]
    lines = [f"gpu: {gpu['devices']} GPU(s) found"]
    for source in ("sysfs", "fdinfo", "nvml"):
        state = gpu[source]
        text = "available" if state["available"] else "unavailable"
        if source == "fdinfo" and state["available"]:
            text += f", {state['clients']} DRM client(s)"
        if state["reason"] and not state["reason"].startswith("NVML: "):
            text += f": {state['reason']}"
        elif state["reason"]:
            text = state["reason"]
        lines.append(f"gpu {source}: {text}")
    return lines


def gpus(devices: list[JsonDict] | None) -> list[str]:
    """One line per GPU of a snapshot."""
    if devices is None:
        return ["GPU: monitoring is switched off"]
    if not devices:
        return ["GPU: none found"]
    lines = []
    for d in devices:
        busy = d["utilisation_percent"]
        text = f"GPU {d['card'] or d['id']} {d['name']} ({d['driver']}): "
        text += "busy unknown" if busy is None else f"{busy:.1f}% busy"
        used, total = d["memory_used_bytes"], d["memory_total_bytes"]
        if used is not None:
            text += f", memory {human_bytes(used)} used"
            text += f" of {human_bytes(total)}" if total else ""
        lines.append(f"{text} [{d['source']}]")
    return lines


def processes(procs: list[JsonDict], limit: int | None) -> str:
    ordered = sorted(procs, key=lambda p: (-p["cpu_percent"], p["pid"]))
    if limit is not None:
        ordered = ordered[:limit]
    rows = (
        (
            p["pid"],
            user_name(p["uid"]),
            p["class"],
            p["nice"],
            p["ionice"],
            f"{p['cpu_percent']:.1f}",
            human_bytes(p["rss_bytes"]),
            p["comm"],
        )
        for p in ordered
    )
    return table(("PID", "USER", "CLASS", "NICE", "IONICE", "CPU%", "RSS", "COMMAND"), rows)


def snapshot(doc: JsonDict, limit: int | None) -> str:
    mem = doc["memory"]
    lines = [
        f"CPU {doc['cpu']['percent']:.1f}% of {doc['cpu']['count']} CPUs, "
        f"load {' '.join(f'{x:.2f}' for x in doc['cpu']['load_avg'])}",
        f"memory {human_bytes(mem['used_bytes'])} used of {human_bytes(mem['total_bytes'])} "
        f"({mem['percent']:.1f}%), swap {human_bytes(mem['swap_used_bytes'])} used",
    ]
    psi = doc.get("psi")
    if psi is None:
        lines.append("pressure: not available on this kernel")
    else:
        lines.append(
            "pressure (some, avg10): "
            + ", ".join(f"{res} {psi[res]['some_avg10']:.1f}%" for res in ("cpu", "io", "memory"))
        )
    lines += gpus(doc.get("gpu"))
    lines.append("")
    lines.append(processes(doc["processes"], limit))
    return "\n".join(lines)
