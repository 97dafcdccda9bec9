"""Issue 5, item 5: ``make install DESTDIR=...`` installs every file, the XML is
well-formed, the unit passes ``systemd-analyze verify``, the shipped D-Bus policy works
on a real dbus-daemon, and ``make uninstall`` takes it all away again."""

import configparser
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothtask_helper import api
from tests.conftest import require, require_user
from tests.support.bus import ROOT, HelperProcess, name_has_owner
from tests.support.call_as import call, call_as
from tests.support.waiting import wait_for

EXPECTED = [
    "usr/share/polkit-1/actions/org.smoothtask.policy",
    "usr/share/dbus-1/system.d/org.smoothtask.Helper1.conf",
    "usr/share/dbus-1/system-services/org.smoothtask.Helper1.service",
    "usr/lib/systemd/system/smoothtask-helper.service",
    "usr/local/share/applications/smoothtask.desktop",
    "etc/xdg/autostart/smoothtask.desktop",
    "usr/local/share/icons/hicolor/scalable/apps/smoothtask.svg",
    "usr/local/bin/smoothtask-helper",
    "usr/local/bin/smoothtaskctl",
    "usr/local/bin/smoothtask",
]
XML = [
    "usr/share/polkit-1/actions/org.smoothtask.policy",
    "usr/share/dbus-1/system.d/org.smoothtask.Helper1.conf",
    "usr/local/share/icons/hicolor/scalable/apps/smoothtask.svg",
]


def make(target: str, destdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-s", "-C", str(ROOT), target, f"DESTDIR={destdir}", f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def destdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("destdir")
    result = make("install", folder)
    assert result.returncode == 0, result.stdout + result.stderr
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_every_file_is_installed(destdir: Path) -> None:
    for relative in EXPECTED:
        assert (destdir / relative).is_file(), relative
    for program in ("smoothtask-helper", "smoothtaskctl", "smoothtask"):
        assert (destdir / "usr/local/bin" / program).stat().st_mode & 0o111
    packages = list(destdir.glob("usr/local/lib/python3*/*-packages/smoothtask_helper"))
    assert packages and (packages[0] / "org.smoothtask.Helper1.xml").is_file()
    assert (packages[0] / "data" / "default-rules.toml").is_file()
    for path in destdir.rglob("*"):
        if path.is_file() and path.suffix in (".service", ".conf", ".desktop"):
            assert "@BINDIR@" not in path.read_text(), path


def test_xml_files_are_well_formed(destdir: Path) -> None:
    require(shutil.which("xmllint") is not None, "needs xmllint (libxml2-utils)")
    files = [destdir / relative for relative in XML]
    files.append(ROOT / "helper" / f"{api.INTERFACE}.xml")
    result = subprocess.run(
        ["xmllint", "--noout", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_unit_passes_systemd_analyze_verify(destdir: Path) -> None:
    require(shutil.which("systemd-analyze") is not None, "systemd-analyze is not available")
    unit = destdir / "usr/lib/systemd/system/smoothtask-helper.service"
    text = unit.read_text()
    assert "ExecStart=/usr/local/bin/smoothtask-helper --bus system" in text
    for key in (
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "ReadWritePaths=/etc/smoothtask /var/lib/smoothtask",
        "CapabilityBoundingSet=",
    ):
        assert key in text, key  # fmt: skip
    # the program is staged in DESTDIR, not installed: verify the unit pointed at it there
    staged = destdir / "smoothtask-helper.service"
    staged.write_text(text.replace("/usr/local/bin/", f"{destdir}/usr/local/bin/"))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(staged)], capture_output=True, text=True, check=False
    )
    staged.unlink()
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "ignoring" not in result.stderr, result.stderr


def test_activation_and_desktop_files(destdir: Path) -> None:
    activation = configparser.ConfigParser(interpolation=None)
    activation.read(destdir / "usr/share/dbus-1/system-services/org.smoothtask.Helper1.service")
    service = activation["D-BUS Service"]
    assert service["Name"] == api.BUS_NAME and service["User"] == "root"
    assert service["Exec"] == "/usr/local/bin/smoothtask-helper --bus system"
    assert service["SystemdService"] == "smoothtask-helper.service"
    for relative in ("usr/local/share/applications/smoothtask.desktop",
                     "etc/xdg/autostart/smoothtask.desktop"):  # fmt: skip
        entry = configparser.ConfigParser(interpolation=None)
        entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
        entry.read(destdir / relative)
        desktop = entry["Desktop Entry"]
        assert (desktop["Type"], desktop["Exec"], desktop["Icon"]) == (
            "Application",
            "smoothtask",
            "smoothtask",
        )
    if shutil.which("desktop-file-validate"):
        application = destdir / "usr/local/share/applications/smoothtask.desktop"
        result = subprocess.run(
            ["desktop-file-validate", str(application)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>{policy}</include>
</busconfig>
"""


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """Under /tmp, reachable by the test users (pytest's own folders are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="st-sysbus-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_shipped_bus_policy_lets_root_own_and_anyone_call(
    destdir: Path, open_folder: Path
) -> None:
    """A system-like bus (default deny) plus only the installed policy file."""
    require_user("tester")
    folder = open_folder
    policy = destdir / "usr/share/dbus-1/system.d/org.smoothtask.Helper1.conf"
    (folder / "bus.conf").write_text(BUS_CONFIG.format(socket=folder / "bus", policy=policy))
    daemon = subprocess.Popen(
        ["dbus-daemon", f"--config-file={folder}/bus.conf", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert daemon.stdout is not None
        address = daemon.stdout.readline().strip()
        require(bool(address), "dbus-daemon did not start")
        helper = HelperProcess(address, folder / "helper.log").start()
        try:
            (reply,) = call_as("tester", address, [call("GetStatus", interactive=False)])
            assert reply["ok"], reply
            as_tester = [sys.executable, "-m", "tests.support.run_as", "tester"]
            reader = subprocess.run(
                [*as_tester, "--bus", address, "status"],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert reader.returncode == 0, reader.stderr
            assert helper.stop() == 0
            # without the helper, tester may not take its name
            taken = subprocess.run(
                [sys.executable, "-m", "tests.support.run_as_helper", "tester", address],
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            assert taken.returncode != 0
            assert "cannot own" in taken.stderr or "not allowed" in taken.stderr, taken.stderr
            wait_for(lambda: not name_has_owner(address), 5, "the name to stay free")
        finally:
            helper.stop()
    finally:
        daemon.terminate()
        daemon.wait(10)
        if daemon.stdout is not None:
            daemon.stdout.close()


def test_uninstall_takes_every_file_away(destdir: Path) -> None:
    result = make("uninstall", destdir)
    assert result.returncode == 0, result.stdout + result.stderr
    left = [p for p in destdir.rglob("*") if p.is_file() or p.is_symlink()]
    assert left == [], left
    result = make("install", destdir)  # installable again (module fixture order-proof)
    assert result.returncode == 0, result.stdout + result.stderr
