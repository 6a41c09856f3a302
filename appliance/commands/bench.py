"""``leancam bench …``: benchmarks (latency, pose speed, soak). Each lives in ``appliance.bench``."""

from __future__ import annotations

import argparse
import importlib

from appliance.bench import BENCH_MODULES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure latency, speed and resource use (figures from one run)")
    bench_sub = p.add_subparsers(dest="bench", metavar="BENCH")
    for name in BENCH_MODULES:
        try:
            module = importlib.import_module(f"appliance.bench.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"appliance.bench.{name}":
                raise
            continue  # benchmark not built yet in this checkout
        module.add_parser(bench_sub)
    p.set_defaults(func=lambda _args: p.print_help() or 2)
