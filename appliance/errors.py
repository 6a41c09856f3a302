"""User-facing errors: each carries a one-line message and the exit code the CLI returns.

Everything a user can cause (bad file, missing model, wrong config) raises one of these so the CLI
prints one clear line instead of a traceback.
"""

from __future__ import annotations


class LeanCamError(Exception):
    """An error the user can fix; ``str(err)`` is the message shown to them."""

    exit_code = 1


class BadInputError(LeanCamError):
    """Unreadable, corrupt or non-video input, or wrong arguments."""

    exit_code = 2


class ModelError(LeanCamError):
    """Model files missing, corrupt, or no TFLite runtime installed."""

    exit_code = 3


class ConfigError(LeanCamError):
    """Invalid configuration file or environment override."""

    exit_code = 2
