"""``smoothtaskctl``: the command-line client of the helper's API (docs/cli.md)."""

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from smoothtask_helper import bus, cli_format
from smoothtask_helper.client import HelperClient
from smoothtask_helper.errors import SmoothTaskError

PROG = "smoothtaskctl"
EXIT_ERROR, EXIT_USAGE = 1, 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {PROG} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    common = OneLineParser(add_help=False)
    # SUPPRESS: the options may come before or after the command without overwriting.
    common.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print exactly one JSON document on stdout",
    )
    common.add_argument(
        "--bus", default=argparse.SUPPRESS, help="'system' (default), 'session' or a D-Bus address"
    )
    parser = OneLineParser(
        prog=PROG, parents=[common], description="Query and control the SmoothTask helper."
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=OneLineParser
    )
    commands.add_parser("status", parents=[common], help="version, mode and probes")
    for name, text in (
        ("snapshot", "the latest sample with every process"),
        ("processes", "the process list with class and priorities"),
    ):
        sub = commands.add_parser(name, parents=[common], help=text)
        sub.add_argument(
            "--limit",
            type=int,
            default=None,
            help="show only the N busiest processes (text output)",
        )
    return parser


async def run(args: argparse.Namespace) -> Any:
    client = await HelperClient.connect(args.bus)
    try:
        commands: dict[str, Callable[[], Awaitable[Any]]] = {
            "status": client.get_status,
            "snapshot": client.get_snapshot,
            "processes": client.list_processes,
        }
        return await commands[args.command]()
    finally:
        client.disconnect()


def render(args: argparse.Namespace, result: Any) -> str:
    if args.json:
        return json.dumps(result, indent=2)
    if args.command == "status":
        return cli_format.status(result)
    if args.command == "snapshot":
        return cli_format.snapshot(result, args.limit)
    return cli_format.processes(result, args.limit)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.json = getattr(args, "json", False)
    args.bus = getattr(args, "bus", bus.DEFAULT_BUS)
    if getattr(args, "limit", None) is not None and args.limit < 1:
        print(f"{PROG}: --limit must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = asyncio.run(run(args))
        print(render(args, result))
    except SmoothTaskError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # e.g. piped into head: not an error worth a message
    return 0


if __name__ == "__main__":
    sys.exit(main())
