"""``leancam bench …``: benchmarks (latency, pose speed, soak). Each lives in ``appliance.bench``."""

from __future__ import annotations

import argparse

from appliance.bench import BENCH_MODULES
from appliance.commands import register


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure latency, speed and resource use (figures from one run)")
    bench_sub = p.add_subparsers(dest="bench", metavar="BENCH")
    register(bench_sub, "appliance.bench", BENCH_MODULES)
    p.set_defaults(func=lambda _args: p.print_help() or 2)
