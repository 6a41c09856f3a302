"""``leancam fetch``: download and verify the pinned models and demo clip."""

from __future__ import annotations

import argparse

from appliance.ops import assets


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch", help="fetch and verify the pinned BlazePose models and the demo clip")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for name, path, changed in assets.fetch():
        print(f"{'fetched' if changed else 'ok     '} {name:20s} {path}")
    return 0
