"""``leancam`` command line: subcommands live in ``appliance.commands``, errors become one line.

Every failure a user can cause is a ``LeanCamError``: printed as ``leancam: error: …`` with its own
exit code, never a traceback; an ``OSError`` no command caught (disk full, permissions) is printed the
same way with exit code 4. ``--debug`` shows tracebacks for developers.
"""

from __future__ import annotations

import argparse
import logging
import sys

from appliance import __version__
from appliance.commands import COMMAND_MODULES, register
from appliance.errors import LeanCamError, OutputError, describe_os_error

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="leancam",
        description="LeanCam: watch a runner from the side and judge their forward lean.",
    )
    parser.add_argument("--version", action="version", version=f"leancam {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    register(sub, "appliance.commands", COMMAND_MODULES)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except LeanCamError as err:
        if args.debug:
            raise
        print(f"leancam: error: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        # Last line of defence: a file or device failed where no command turned it into a
        # LeanCamError (disk full, quota, permissions, a device gone). One line, never a traceback.
        if args.debug:
            raise
        where = f"{err.filename}: " if err.filename else ""
        print(f"leancam: error: {where}{describe_os_error(err)}", file=sys.stderr)
        return OutputError.exit_code
    except KeyboardInterrupt:
        print("leancam: interrupted", file=sys.stderr)
        return 130
