"""One module per ``leancam`` subcommand; each defines ``add_parser(subparsers)``.

``add_parser`` registers the subcommand and sets ``func`` (``args -> exit code``) as its default.
"""

from __future__ import annotations

import argparse
import importlib

COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "pose",
    "analyze",
    "eval",
    "bench",
    "fetch",
    "doctor",
    "config",
    "web",
    "mounting",
    "fleet",
)


def register(sub: argparse._SubParsersAction, package: str, names: tuple[str, ...]) -> None:
    """Call ``add_parser(sub)`` of ``package.<name>`` for each name whose module exists.

    A name whose module is missing is skipped (a checkout where that command is not built yet);
    any other import error is a real bug and propagates.
    """
    for name in names:
        try:
            module = importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{package}.{name}":
                raise
            continue
        module.add_parser(sub)
