"""``smoothtask-helper``: the privileged helper process."""

import argparse
import asyncio
import logging
import signal
import sys

from dbus_fast import DBusError, NameFlag, RequestNameReply

from smoothtask_helper import api, bus
from smoothtask_helper.collectors.ebpf import EbpfCollector, EbpfConfig
from smoothtask_helper.collectors.gpu import GpuCollector, GpuConfig
from smoothtask_helper.daemon import Helper
from smoothtask_helper.ebpf_options import add_ebpf_options, ebpf_config
from smoothtask_helper.errors import SmoothTaskError
from smoothtask_helper.sampler import Sampler
from smoothtask_helper.service import signature_guard

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
        "--interval", type=float, default=1.0, help="seconds between samples (default 1)"
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
    if not MIN_INTERVAL_S <= args.interval <= MAX_INTERVAL_S:
        parser.error(f"--interval must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S} seconds")
    return args


async def serve(
    choice: str, interval_s: float, ebpf_config: EbpfConfig, gpu_config: GpuConfig
) -> None:
    ebpf = EbpfCollector(ebpf_config)
    sampler = Sampler(interval_s, ebpf, GpuCollector(gpu_config))
    try:
        helper = Helper(sampler, ebpf)
        connection = await bus.connect(choice)
        try:
            connection.add_message_handler(signature_guard(helper.interface))
            connection.export(api.OBJECT_PATH, helper.interface)
            try:
                reply = await connection.request_name(api.BUS_NAME, NameFlag.DO_NOT_QUEUE)
            except DBusError as exc:  # e.g. the bus policy lets only root own the name
                raise HelperExit(f"cannot own {api.BUS_NAME}: {exc.text}") from None
            if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
                raise HelperExit(f"{api.BUS_NAME} is already owned on {bus.describe(choice)}")
            log.info(
                "serving %s on %s as %s", api.BUS_NAME, bus.describe(choice), connection.unique_name
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            await helper.run(connection, stop)
            log.info("stopping")
        finally:
            connection.disconnect()
    finally:
        sampler.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="smoothtask-helper: %(levelname)s: %(message)s"
    )
    try:
        gpu = GpuConfig(enabled=not args.no_gpu)
        asyncio.run(serve(args.bus, args.interval, ebpf_config(args), gpu))
    except SmoothTaskError as exc:
        print(f"smoothtask-helper: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
