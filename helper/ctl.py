"""``smoothtaskctl``: the command-line client of the helper's API (docs/cli.md)."""

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from smoothtask_helper import bus, cli_format
from smoothtask_helper.api import CLASSES, MODES
from smoothtask_helper.client import HelperClient
from smoothtask_helper.errors import InvalidArgument, SmoothTaskError
from smoothtask_helper.model import JsonDict

PROG = "smoothtaskctl"
EXIT_ERROR, EXIT_USAGE = 1, 2
MAX_RULES_FILE = 256 * 1024


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {PROG} --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


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
    commands.add_parser("status", parents=[common], help="version, mode, probes and levers")
    for name, text in (
        ("snapshot", "the latest sample with every process"),
        ("processes", "the process list with class and priorities"),
    ):
        sub = commands.add_parser(name, parents=[common], help=text)
        sub.add_argument(
            "--limit",
            type=positive_int,
            default=None,
            help="show only the N busiest processes (text output)",
        )
    sub = commands.add_parser("set-class", parents=[common], help="give a process a class")
    sub.add_argument("pid", type=positive_int)
    sub.add_argument("process_class", metavar="CLASS", help=" | ".join(CLASSES))
    sub = commands.add_parser("reset", parents=[common], help="hand a process back to the policy")
    sub.add_argument("pid", type=positive_int)
    sub = commands.add_parser("focus", parents=[common], help="report the focused process")
    sub.add_argument("pid", type=int, help="the focused window's process; 0: none")
    sub.add_argument("--idle", type=float, default=0.0, help="seconds the user has been idle")
    sub = commands.add_parser("rules", parents=[common], help="the rules (or replace yours)")
    which = sub.add_mutually_exclusive_group()
    which.add_argument(
        "--set", dest="rules_file", metavar="FILE", help="replace your rules with FILE (- = stdin)"
    )
    which.add_argument(
        "--test",
        dest="trial_file",
        metavar="FILE",
        help="check FILE and list the running processes each of its rules would match; "
        "nothing is applied",
    )
    sub = commands.add_parser("settings", parents=[common], help="the settings (or change some)")
    sub.add_argument(
        "--set",
        dest="changes",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="e.g. policy.hysteresis_samples=5 (VALUE is JSON, else a string); repeatable",
    )
    sub = commands.add_parser("mode", parents=[common], help="switch mode: " + " | ".join(MODES))
    sub.add_argument("mode", choices=MODES)
    sub = commands.add_parser("alerts", parents=[common], help="the alert log")
    sub.add_argument("--since", type=int, default=0, metavar="ID", help="only alerts after ID")
    sub = commands.add_parser("history", parents=[common], help="recent samples (summaries)")
    sub.add_argument("--seconds", type=positive_int, default=900, help="how far back (900)")
    return parser


def settings_changes(items: list[str]) -> JsonDict:
    """``section.key=VALUE`` items -> a nested settings document."""
    patch: JsonDict = {}
    for item in items:
        key, sep, raw = item.partition("=")
        parts = key.split(".")
        if not sep or len(parts) < 2 or not all(parts):
            raise InvalidArgument(f"--set {item!r}: use SECTION.KEY=VALUE")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw  # a plain word: a string
        node = patch
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return patch


def read_rules(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.read(MAX_RULES_FILE + 1)
        with open(path, encoding="utf-8") as f:
            return f.read(MAX_RULES_FILE + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"cannot read {path}: {exc}") from None


async def run(args: argparse.Namespace) -> Any:
    rules_text = read_rules(args.rules_file) if getattr(args, "rules_file", None) else None
    trial_text = read_rules(args.trial_file) if getattr(args, "trial_file", None) else None
    changes = settings_changes(args.changes) if getattr(args, "changes", None) else None
    client = await HelperClient.connect(args.bus)
    try:
        commands: dict[str, Callable[[], Awaitable[Any]]] = {
            "status": client.get_status,
            "snapshot": client.get_snapshot,
            "processes": client.list_processes,
            "set-class": lambda: client.set_process_class(args.pid, args.process_class),
            "reset": lambda: client.reset_process_class(args.pid),
            "focus": lambda: client.report_focus(args.pid, args.idle),
            "rules": (
                (lambda: client.test_rules(trial_text))
                if trial_text is not None
                else (lambda: client.set_rules(rules_text))
                if rules_text is not None
                else client.get_rules
            ),
            "settings": client.get_settings
            if changes is None
            else lambda: client.set_settings(changes),
            "mode": lambda: client.set_mode(args.mode),
            "alerts": lambda: _alert_list(client, args.since),
            "history": lambda: client.get_history(args.seconds),
        }
        return await commands[args.command]()
    finally:
        client.disconnect()


async def _alert_list(client: HelperClient, since: int) -> list[JsonDict]:
    alerts: list[JsonDict] = (await client.get_alerts(since))["alerts"]
    return alerts  # the CLI prints the log itself: a list (API.md)


def render(args: argparse.Namespace, result: Any) -> str:
    if args.json:
        return json.dumps(result, indent=2)
    renderers: dict[str, Callable[[], str]] = {
        "status": lambda: cli_format.status(result),
        "snapshot": lambda: cli_format.snapshot(result, args.limit),
        "processes": lambda: cli_format.processes(result, args.limit),
        "set-class": lambda: cli_format.class_change(result),
        "reset": lambda: cli_format.class_change(result),
        "focus": lambda: cli_format.focus(result),
        "rules": lambda: cli_format.rules(result),
        "settings": lambda: cli_format.settings(result),
        "mode": lambda: cli_format.mode(result),
        "alerts": lambda: cli_format.alerts(result),
        "history": lambda: cli_format.history(result),
    }
    return renderers[args.command]()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.json = getattr(args, "json", False)
    args.bus = getattr(args, "bus", bus.DEFAULT_BUS)
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
