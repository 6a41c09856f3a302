"""User-facing errors: each carries a one-line message and the exit code the CLI returns.

Everything a user can cause (bad file, missing model, wrong config) raises one of these so the CLI
prints one clear line instead of a traceback.
"""

from __future__ import annotations

import errno


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


class OutputError(LeanCamError):
    """An output file could not be written (disk full, quota, permissions, read-only disk)."""

    exit_code = 4


# errno values that mean the disk (or the user's quota on it) has no room left: shared by the
# CLI's messages and the recorder's "disk_full" state.
NO_ROOM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_no_room(err: BaseException) -> bool:
    """True for an OSError saying the disk or quota is full."""
    return isinstance(err, OSError) and err.errno in NO_ROOM_ERRNOS


def describe_os_error(err: OSError) -> str:
    """``strerror`` plus what to do about it, for one-line messages (``"No space left on device: …"``)."""
    text = err.strerror or str(err)
    if is_no_room(err):
        return f"{text}: the disk is full; free space or write to another disk"
    if err.errno == errno.EFBIG:  # a file-size limit (FAT32's 4 GB, ulimit -f), not a full disk
        return f"{text}: the file is larger than this disk or a limit allows; write to another disk"
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{text}: write somewhere this user may write"
    return text


def output_error(path: object, err: OSError, kept: str = "") -> OutputError:
    """OutputError for a failed write of ``path``; ``kept`` says what survived (``"; nothing else was changed"``)."""
    return OutputError(f"{path}: cannot write ({describe_os_error(err)}){kept}")
