"""The helper's D-Bus face: introspection, named errors, signals, start and stop."""

import asyncio
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

from smoothtask_helper import api
from smoothtask_helper.client import HelperClient
from smoothtask_helper.model import JsonDict
from smoothtask_helper.service import shipped_introspection
from tests.support.bus import HelperProcess, PrivateBus, name_has_owner
from tests.support.call_as import call, call_as


def dbus_send(address: str, member: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "dbus-send",
            f"--bus={address}",
            "--print-reply",
            f"--dest={api.BUS_NAME}",
            api.OBJECT_PATH,
            member,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def our_interface(xml: str) -> str:
    node = ElementTree.fromstring(xml)
    (interface,) = [i for i in node.iter("interface") if i.get("name") == api.INTERFACE]
    return ElementTree.tostring(interface, encoding="unicode")


def normalised(xml: str) -> str:
    tree = ElementTree.fromstring(xml)
    for element in tree.iter():
        element.text = element.tail = None
    return ElementTree.tostring(tree, encoding="unicode")


def test_shipped_introspection_matches_the_live_interface(helper: HelperProcess) -> None:
    reply = dbus_send(helper.address, "org.freedesktop.DBus.Introspectable.Introspect")
    assert reply.returncode == 0, reply.stderr
    live_xml = reply.stdout.split('string "', 1)[1].rsplit('"', 1)[0]
    shipped = shipped_introspection()
    assert normalised(our_interface(live_xml)) == normalised(our_interface(shipped))
    for member in ("GetStatus", "GetSnapshot", "ListProcesses", "Sample"):
        assert f'name="{member}"' in shipped


def test_wrong_arguments_get_a_named_error_without_traceback(helper: HelperProcess) -> None:
    reply = dbus_send(helper.address, f"{api.INTERFACE}.GetStatus", "int32:5", "string:x")
    assert reply.returncode != 0
    assert "org.smoothtask.Error.InvalidArgument" in reply.stderr
    assert "Traceback" not in reply.stderr and 'File "' not in reply.stderr


def test_unknown_method_is_refused(helper: HelperProcess) -> None:
    reply = dbus_send(helper.address, f"{api.INTERFACE}.Frobnicate")
    assert "org.freedesktop.DBus.Error.UnknownMethod" in reply.stderr
    assert "Traceback" not in reply.stderr


def test_sample_signal_each_tick(helper: HelperProcess) -> None:
    async def collect(n: int) -> list[JsonDict]:
        client = await HelperClient.connect(helper.address)
        samples: list[JsonDict] = []
        got_enough = asyncio.Event()

        def on_sample(sample: JsonDict) -> None:
            samples.append(sample)
            if len(samples) >= n:
                got_enough.set()

        try:
            await client.watch({"Sample": on_sample}, lambda _present: None)
            await asyncio.wait_for(got_enough.wait(), 15)
        finally:
            client.disconnect()
        return samples

    samples = asyncio.run(collect(3))
    times = [s["time"] for s in samples]
    assert times == sorted(times) and len(set(times)) == len(times)
    for sample in samples:
        assert "processes" not in sample  # the summary; the list is one GetSnapshot away
        assert sample["process_count"] > 0
        assert 0.0 <= sample["cpu"]["percent"] <= 100.0


def test_second_helper_on_the_same_bus_refuses_to_start(
    helper: HelperProcess, tmp_path: Path
) -> None:
    # with the shipped defaults (active): it changes nothing before it owns the name
    folders = ["--config-dir", str(tmp_path / "config"), "--state-dir", str(tmp_path / "state")]
    result = subprocess.run(
        [sys.executable, "-m", "smoothtask_helper", "--bus", helper.address, *folders],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "already owned" in result.stderr
    assert "Traceback" not in result.stderr
    assert name_has_owner(helper.address)  # the first one is untouched
    assert not (tmp_path / "state" / "journal.json").exists()  # it changed nothing


def test_a_second_helper_on_the_same_state_folder_refuses_to_start(
    own_bus: PrivateBus, tmp_path: Path
) -> None:
    first = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    other_bus = PrivateBus().start()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "smoothtask_helper", "--bus", other_bus.address,
             "--config-dir", str(first.config_dir), "--state-dir", str(first.state_dir)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 1
        assert "another helper uses" in result.stderr and "Traceback" not in result.stderr
    finally:
        other_bus.stop()
        assert first.stop() == 0


def test_sigterm_stops_cleanly_and_releases_the_name(own_bus: PrivateBus, tmp_path: Path) -> None:
    process = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    assert process.stop() == 0
    assert not name_has_owner(own_bus.address)
    assert "Traceback" not in process.log()


def test_bad_helper_arguments_are_one_line(tmp_path: Path) -> None:
    folders = ["--config-dir", str(tmp_path / "config"), "--state-dir", str(tmp_path / "state")]
    for args in (["--bus", "nonsense"], ["--interval", "0"], ["--bus", "unix:path=/nonexistent"]):
        result = subprocess.run(
            [sys.executable, "-m", "smoothtask_helper", *args, *folders],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode != 0, args
        lines = result.stderr.strip().splitlines()
        assert "Traceback" not in result.stderr
        assert lines and lines[-1].startswith("smoothtask-helper"), result.stderr


def test_many_large_replies_at_once_keep_the_helper_connected(
    own_bus: PrivateBus, tmp_path: Path
) -> None:
    """dbus-fast took a full socket for a broken connection (see smoothtask_helper.bus):
    50 concurrent snapshots with a few hundred processes used to disconnect the helper."""
    idle = [subprocess.Popen(["sleep", "600"]) for _ in range(300)]
    process = HelperProcess(own_bus.address, tmp_path / "helper.log").start()
    try:
        calls = [call("GetSnapshot")] * 50
        replies = call_as("root", own_bus.address, calls, concurrency=50)
        assert all(r["ok"] for r in replies), {r["error"] for r in replies}
        assert process.proc is not None and process.proc.poll() is None
        assert name_has_owner(own_bus.address)
    finally:
        for proc in idle:
            proc.kill()
        for proc in idle:
            proc.wait()
        assert process.stop() == 0, process.log()
