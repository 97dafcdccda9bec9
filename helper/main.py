"""``smoothtask-helper``: the privileged helper process."""

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from dbus_fast import DBusError, NameFlag, RequestNameReply
from dbus_fast.aio import MessageBus

from smoothtask_helper import api, bus
from smoothtask_helper.collectors.ebpf import EbpfCollector, EbpfConfig
from smoothtask_helper.collectors.gpu import GpuCollector, GpuConfig
from smoothtask_helper.control import DEFAULT_CONFIG_DIR, DEFAULT_STATE_DIR, Control, Folders
from smoothtask_helper.daemon import Helper
from smoothtask_helper.ebpf_options import add_ebpf_options, ebpf_config
from smoothtask_helper.errors import SmoothTaskError
from smoothtask_helper.sampler import Sampler

log = logging.getLogger("smoothtask_helper")

MIN_INTERVAL_S, MAX_INTERVAL_S = 0.1, 60.0


class HelperExit(SmoothTaskError):
    """A reason to stop at start-up, with the message a person should read."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="smoothtask-helper", description="SmoothTask's privileged helper."
    )
    parser.add_argument(
        "--bus",
        default=bus.DEFAULT_BUS,
        help="'system' (default), 'session' or a D-Bus address (e.g. unix:path=/tmp/x/bus)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        help="seconds between samples (default: the settings' general.interval_s, 1)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=DEFAULT_CONFIG_DIR,
        help=f"settings.toml and rules.toml (default {DEFAULT_CONFIG_DIR})",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help=f"the journal of changed priorities (default {DEFAULT_STATE_DIR})",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    add_ebpf_options(parser)
    parser.add_argument(
        "--no-gpu",
        action="store_true",
        help="no GPU monitoring (sysfs, DRM fdinfo, NVML); the snapshot's gpu is then null",
    )
    args = parser.parse_args(argv)
    if args.interval is not None and not MIN_INTERVAL_S <= args.interval <= MAX_INTERVAL_S:
        parser.error(f"--interval must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} seconds")
    return args


async def own_name(connection: MessageBus, choice: str) -> None:
    try:
        reply = await connection.request_name(api.BUS_NAME, NameFlag.DO_NOT_QUEUE)
    except DBusError as exc:  # e.g. the bus policy lets only root own the name
        raise HelperExit(f"cannot own {api.BUS_NAME}: {exc.text}") from None
    if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
        raise HelperExit(f"{api.BUS_NAME} is already owned on {bus.describe(choice)}")


async def serve(
    choice: str,
    interval_s: float | None,
    folders: Folders,
    args: argparse.Namespace,
    gpu_settings: GpuConfig,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # from the start: a stop restores too
        loop.add_signal_handler(signum, stop.set)
    bus.make_bus(choice)  # a malformed --bus is refused before anything is read or written
    # Restores what a crashed run left (its lock keeps a second helper off the journal), but
    # changes nothing new until this helper owns its name (it may not be the only one).
    control = Control(folders, interval_s)

    def wanted_ebpf() -> EbpfConfig:  # the settings may change while the helper runs
        return ebpf_config(args, control.settings)

    ebpf = EbpfCollector(wanted_ebpf())
    sampler = Sampler(control.interval_s, ebpf, GpuCollector(gpu_settings))
    try:
        helper = Helper(sampler, control, ebpf, wanted_ebpf)
        connection = await bus.connect(choice)
        try:
            helper.interface.attach(connection)
            # exported before the name is taken: the call that activated us must find it
            connection.export(api.OBJECT_PATH, helper.interface)
            await own_name(connection, choice)
            control.start_acting()
            log.info(
                "serving %s on %s as %s", api.BUS_NAME, bus.describe(choice), connection.unique_name
            )
            await helper.run(connection, stop)
            log.info("stopping")
        finally:
            connection.disconnect()
    finally:
        control.close()  # every changed priority back, also when the bus went away
        sampler.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="smoothtask-helper: %(levelname)s: %(message)s"
    )
    try:
        asyncio.run(
            serve(
                args.bus,
                args.interval,
                Folders(args.config_dir, args.state_dir),
                args,
                GpuConfig(enabled=not args.no_gpu),
            )
        )
    except SmoothTaskError as exc:
        print(f"smoothtask-helper: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
