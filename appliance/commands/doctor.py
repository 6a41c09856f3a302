"""``leancam doctor``: check camera, GPIO, models, runtime, disk, clock and MQTT; print a fix for each failure."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from appliance.ops.doctor import run_checks


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="check this machine and print how to fix what is wrong")
    p.add_argument("--json", action="store_true", help="print the checks as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checks = run_checks()
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        for c in checks:
            mark = "ok  " if c.ok else ("FAIL" if c.required else "warn")
            print(f"[{mark}] {c.name:8s} {c.detail}")
            if not c.ok and c.fix:
                print(f"         fix: {c.fix}")
    return 0 if all(c.ok or not c.required for c in checks) else 1
