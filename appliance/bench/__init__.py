"""Benchmarks behind ``leancam bench …``: each prints ratios and figures measured in one run.

One module per benchmark, each with ``add_parser(subparsers)`` like the top-level commands.
"""

BENCH_MODULES: tuple[str, ...] = ("latency", "live", "pose", "soak")
