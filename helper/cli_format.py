"""Plain-text rendering of helper documents for smoothtaskctl (``--json`` skips this)."""

import time
from collections.abc import Iterable, Sequence

from smoothtask_helper.model import JsonDict
from smoothtask_helper.rules import user_name


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


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
    lines.append(f"policy: {_policy_line(doc)}")
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
            p["type"],
            p["nice"],
            p["ionice"],
            f"{p['cpu_percent']:.1f}",
            human_bytes(p["rss_bytes"]),
            p["comm"],
        )
        for p in ordered
    )
    return table(("PID", "USER", "CLASS", "TYPE", "NICE", "IONICE", "CPU%", "RSS", "COMMAND"), rows)


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


def class_change(doc: JsonDict) -> str:
    who = f"pid {doc['pid']} ({doc['comm']})"
    wanted = doc["requested"] or "the policy's class"
    if doc["applied"]:
        return f"{who}: {doc['class']} — nice {doc['nice']}, ionice {doc['ionice']}"
    if doc["mode"] != "active":
        return f"{who}: {wanted} recorded; not applied while the helper is {doc['mode']}"
    if doc["class"] is None:
        return f"{who}: {wanted} recorded; it applies at the next sample"
    return f"{who}: {doc['class']} ({doc['reason']}); nice {doc['nice']}, ionice {doc['ionice']}"


def focus(doc: JsonDict) -> str:
    current = doc["focus"]
    if current is None:
        return "focus: none"
    state = "boosted" if current["boosting"] else "not boosted (the user is idle)"
    return f"focus: pid {current['pid']} ({current['comm']}), {state}"


def rules(doc: JsonDict) -> str:
    if "valid" in doc:  # the reply to --test
        return rule_trial(doc)
    if "rules_total" not in doc:  # the reply to --set
        return f"{doc['path']}: {doc['rules']} rules saved and in force"
    lines = []
    for source in doc["sources"]:
        line = f"{source['name']}: {source['rules']} rules"
        if source.get("path"):
            line += f" from {source['path']}"
        if source.get("error"):
            line += f" — ERROR (last good version in force): {source['error']}"
        if source.get("error_count"):
            line += f" — {source['error_count']} lines skipped"
        lines.append(line)
        lines += [f"  {e}" for e in source.get("errors", [])[:10]]
    lines.append("")
    rows = ((r["name"], r["type"], r["class"] or "-", r["source"]) for r in doc["rules"])
    lines.append(table(("RULE", "TYPE", "CLASS", "SOURCE"), rows))
    return "\n".join(lines)


def rule_trial(doc: JsonDict) -> str:
    lines = ["valid; nothing applied. Running processes each rule would match (first match wins):"]
    for rule in doc["rules"]:
        lines.append(f"{rule['name']} ({rule['type']}): {rule['count']} processes")
        lines += [f"  {m['pid']:>7}  {m['comm']}" for m in rule["matches"]]
        if rule["count"] > len(rule["matches"]):
            lines.append(f"  ... and {rule['count'] - len(rule['matches'])} more")
    return "\n".join(lines)


def settings(doc: JsonDict) -> str:
    lines = [f"{doc['path']} ({doc['source']})"]
    if doc.get("error"):
        lines.append(f"ERROR (last good settings in force): {doc['error']}")
    for section, values in doc["settings"].items():
        for key, value in values.items():
            lines.append(f"{section}.{key} = {value}")
    return "\n".join(lines)


def mode(doc: JsonDict) -> str:
    text = f"mode: {doc['mode']} (was {doc['previous']})"
    if doc["restored"]:
        text += f"; {doc['restored']} processes and groups restored"
    return text


def alerts(items: list[JsonDict]) -> str:
    if not items:
        return "no alerts"
    rows = (
        (
            a["id"],
            time.strftime("%H:%M:%S", time.localtime(a["time"])),
            a["severity"],
            a["kind"],
            a["title"],
        )
        for a in items
    )
    return table(("ID", "TIME", "SEVERITY", "KIND", "TITLE"), rows)


def history(samples: list[JsonDict]) -> str:
    if not samples:
        return "no samples yet"
    span = samples[-1]["time"] - samples[0]["time"]
    cpu = [s["cpu"]["percent"] for s in samples]
    mem = [s["memory"]["percent"] for s in samples]
    return (
        f"{len(samples)} samples over {span:.0f} s: CPU avg {sum(cpu) / len(cpu):.1f}% "
        f"(max {max(cpu):.1f}%), memory avg {sum(mem) / len(mem):.1f}%"
    )


def _policy_line(doc: JsonDict) -> str:
    policy = doc.get("policy", {})
    levers = [n for n, lever in doc.get("levers", {}).items() if lever.get("available")]
    parts = [
        f"{policy.get('managed_processes', 0)} processes managed",
        f"levers: {', '.join(levers) or 'none'}",
    ]
    for name in ("settings", "rules"):
        error = doc.get(name, {}).get("error")
        if error:
            parts.append(f"{name} file invalid (last good in force): {error}")
    return "; ".join(parts)
