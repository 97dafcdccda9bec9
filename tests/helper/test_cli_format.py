from smoothtask_helper import cli_format


def test_human_bytes() -> None:
    assert cli_format.human_bytes(512) == "512 B"
    assert cli_format.human_bytes(1536) == "1.5 KiB"
    assert cli_format.human_bytes(3 * 1024**3) == "3.0 GiB"


def test_table_aligns_columns() -> None:
    text = cli_format.table(("A", "LONGER"), [(1, "x"), (12345, "yy")])
    assert text.splitlines() == ["A      LONGER", "1      x", "12345  yy"]


def test_processes_sorted_by_cpu_and_limited() -> None:
    procs = [
        {
            "pid": p,
            "uid": 0,
            "class": "NORMAL",
            "type": "unclassified",
            "nice": 0,
            "ionice": "none",
            "cpu_percent": cpu,
            "rss_bytes": 0,
            "comm": f"p{p}",
        }
        for p, cpu in ((1, 5.0), (2, 50.0), (3, 20.0))
    ]
    lines = cli_format.processes(procs, limit=2).splitlines()
    assert lines[0].split()[0] == "PID"
    assert [line.split()[0] for line in lines[1:]] == ["2", "3"]


def test_class_change_and_mode_lines() -> None:
    change = {
        "pid": 7, "comm": "cc1", "requested": "IDLE", "applied": True, "class": "IDLE",
        "nice": 19, "ionice": "idle", "mode": "active", "reason": "set by a person",
    }  # fmt: skip
    assert cli_format.class_change(change) == "pid 7 (cc1): IDLE — nice 19, ionice idle"
    paused = change | {"applied": False, "mode": "paused"}
    assert "not applied while the helper is paused" in cli_format.class_change(paused)
    assert cli_format.mode({"mode": "paused", "previous": "active", "restored": 3}) == (
        "mode: paused (was active); 3 processes and groups restored"
    )
