"""``leancam config``: print the commented defaults, or check a config file the way ``run`` loads it."""

from __future__ import annotations

import argparse
from pathlib import Path

from appliance import paths
from appliance.config import load_appliance_config
from appliance.config.template import default_toml


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="print the default config, or check a config file")
    p.add_argument("--defaults", action="store_true", help="print every key with its default and meaning (TOML)")
    p.add_argument("--check", nargs="?", const="", metavar="FILE",
                   help="validate FILE (default: the config `leancam run` would load) with env overrides")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.check is not None:
        path = Path(args.check) if args.check else None
        load_appliance_config(path)  # a ConfigError is printed as one line by the CLI
        shown = path or (paths.config_path() if paths.config_path().is_file() else "built-in defaults")
        print(f"config ok: {shown}")
        return 0
    print(default_toml(), end="")
    return 0
