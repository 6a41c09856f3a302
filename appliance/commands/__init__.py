"""One module per ``leancam`` subcommand; each defines ``add_parser(subparsers)``.

``add_parser`` registers the subcommand and sets ``func`` (``args -> exit code``) as its default.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

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


def add_common(p: argparse.ArgumentParser) -> None:
    """The options of every command that analyses a clip (``analyze``, ``eval``)."""
    p.add_argument("--keypoints", type=Path, metavar="KP.jsonl",
                   help="read keypoints from this file instead of running the pose model")
    p.add_argument("--capture-fps", type=float, metavar="F",
                   help="real capture rate of a slow-motion clip (times and cadence are scaled to it)")
    p.add_argument("--config", type=Path, metavar="FILE.toml",
                   help="thresholds and [pose] model variants (default: built-in)")


def register(sub: argparse._SubParsersAction, package: str, names: tuple[str, ...]) -> None:
    """Call ``add_parser(sub)`` of ``package.<name>`` for each name.

    A name without a module is an ImportError naming it: a mistyped entry in COMMAND_MODULES would
    otherwise make a command vanish from ``leancam --help`` without a word.
    """
    for name in names:
        module = importlib.import_module(f"{package}.{name}")
        module.add_parser(sub)
