"""``leancam web``: browse recordings and upload videos without a camera; ``--set-password``.

The same web app runs inside ``leancam run`` with the live board; this command serves it alone
(no pipeline, so the live page says there is no camera).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from pathlib import Path

from appliance import paths
from appliance.errors import BadInputError, OutputError, describe_os_error
from appliance.live.signals import stop_on_signals

log = logging.getLogger(__name__)

DEFAULT_PORT = 8080


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("web", help="serve the web display (recordings, uploads, settings) without a camera",
                       description="Serve the LeanCam web pages on the LAN without running the camera. "
                                   "Live and replay are open to anyone on the network; settings need the "
                                   "password set with --set-password.")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0: the whole LAN)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument("--max-upload-mb", type=int, default=500, metavar="MB",
                   help="largest phone video accepted for analysis (default 500)")
    p.add_argument("--state-dir", type=Path, help="recordings and database (default: the appliance's state dir)")
    p.add_argument("--set-password", action="store_true",
                   help="set the settings password (read from the terminal without echo, or from stdin) and exit")
    p.set_defaults(func=run)


def _read_new_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("New settings password: ")
        again = getpass.getpass("Repeat it: ")
        if first != again:
            raise BadInputError("the two passwords differ; nothing changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")  # piped in (setup scripts): one line


def run(args: argparse.Namespace) -> int:
    from appliance.web.auth import set_password

    state_dir = args.state_dir or paths.state_dir()
    if state_dir.exists() and not state_dir.is_dir():
        # Otherwise the first file written inside it fails with "Not a directory" and exit 4.
        raise BadInputError(f"{state_dir}: is a file, not a directory (the state dir holds recordings and "
                            "the database; give a folder with --state-dir)")
    if args.set_password:
        try:
            path = set_password(state_dir, _read_new_password())
        except ValueError as err:
            raise BadInputError(str(err)) from err
        except OSError as err:
            # An output that cannot be written: exit 4, as README says (not the generic 1).
            raise OutputError(f"cannot store the password in {state_dir} ({describe_os_error(err)}); "
                              "fix its permissions or use --state-dir") from err
        print(f"settings password stored (scrypt hash) in {path}")
        return 0

    from appliance.web import create_app
    from appliance.web.server import start_web

    if args.max_upload_mb < 1:
        raise BadInputError("--max-upload-mb must be at least 1")
    app = create_app(state_dir=state_dir, config_path=paths.config_path(), upload_threads=2,
                     max_upload_bytes=args.max_upload_mb * 1024 * 1024)
    stop = stop_on_signals()
    try:
        server = start_web(app, args.host, args.port)
    except OSError as err:
        raise BadInputError(f"cannot listen on {args.host}:{args.port} ({err.strerror or err})") from err
    print(f"LeanCam web on {server.url} (Ctrl-C to stop)")
    stop.wait()
    server.stop()
    return 0
