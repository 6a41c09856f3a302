"""The one module that knows every path LeanCam uses.

Fetched assets (models, demo clip) live inside the repository checkout under ``models/`` so a clone
is self-contained; downloaded wheels are cached per user so a second clone does not download again.
Every location can be overridden by an environment variable (for tests, CI and the systemd unit).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def models_dir() -> Path:
    """Where the manifest lives and fetched model/demo files are extracted to."""
    return Path(os.environ.get("LEANCAM_MODELS_DIR", REPO_ROOT / "models"))


def manifest_path() -> Path:
    return REPO_ROOT / "models" / "manifest.json"


def cache_dir() -> Path:
    """Download cache for registry packages (wheels), shared between clones of the same user."""
    xdg = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(os.environ.get("LEANCAM_CACHE_DIR", Path(xdg) / "leancam"))


def shared_data_dir() -> Path:
    """Real running clips for development and tests (``../shared/data`` beside the repo)."""
    return Path(os.environ.get("LEANCAM_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def test_data_dir() -> Path:
    return REPO_ROOT / "tests" / "data"


def state_dir() -> Path:
    """Recordings and the database: systemd's StateDirectory on the Pi, a user data dir elsewhere."""
    if "LEANCAM_STATE_DIR" in os.environ:
        return Path(os.environ["LEANCAM_STATE_DIR"])
    if "STATE_DIRECTORY" in os.environ:  # set by systemd from StateDirectory=leancam
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    xdg = os.environ.get("XDG_DATA_HOME", str(Path.home() / ".local" / "share"))
    return Path(xdg) / "leancam"


def config_path() -> Path:
    """The config file: $LEANCAM_CONFIG, else leancam.toml in the state dir's sibling config dir."""
    if "LEANCAM_CONFIG" in os.environ:
        return Path(os.environ["LEANCAM_CONFIG"])
    if "CONFIGURATION_DIRECTORY" in os.environ:  # systemd ConfigurationDirectory=
        return Path(os.environ["CONFIGURATION_DIRECTORY"].split(":")[0]) / "leancam.toml"
    xdg = os.environ.get("XDG_CONFIG_HOME", str(Path.home() / ".config"))
    return Path(xdg) / "leancam" / "leancam.toml"


def database_path() -> Path:
    """The SQLite database (sessions, runs, strides, events, clips) inside the state dir."""
    return state_dir() / "leancam.db"


def clips_dir() -> Path:
    """Recorded clips (``.mp4`` + ``.json`` sidecar per clip) inside the state dir."""
    return state_dir() / "clips"
