"""User-facing errors: each carries a one-line message and the exit code the CLI returns.

Everything a user can cause (bad file, missing model, wrong config) raises one of these so the CLI
prints one clear line instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path


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


def input_file_error(path: object, what: str = "video file") -> BadInputError | None:
    """Why ``path`` cannot be read as an input file, or None when it can.

    Each command checks its inputs with this before any slow work (loading the model), so a
    directory, a missing path or a device gets one precise line ("is a directory"), never a
    misleading "no such file" or an exit code meant for output errors.
    """
    p = Path(str(path))
    try:
        st = p.stat()
    except FileNotFoundError:
        return BadInputError(f"{p}: no such {what}" + (" (a broken link)" if p.is_symlink() else ""))
    except NotADirectoryError:
        return BadInputError(f"{p}: no such {what} (a part of the path is not a directory)")
    except OSError as err:
        return BadInputError(f"{p}: cannot read ({err.strerror or err})")
    if stat.S_ISDIR(st.st_mode):
        return BadInputError(f"{p}: is a directory, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        return BadInputError(f"{p}: not a regular file (a device, pipe or socket), not a {what}")
    if not os.access(p, os.R_OK):
        return BadInputError(f"{p}: permission denied: this user cannot read the {what}")
    return None


def check_input_file(path: object, what: str = "video file") -> None:
    """Raise the ``BadInputError`` of :func:`input_file_error` if ``path`` is not a readable file."""
    err = input_file_error(path, what)
    if err is not None:
        raise err


def check_output_file(path: object) -> None:
    """Refuse, before any slow work, an output path that can never be written as a file.

    A missing folder or a path naming a directory is a wrong argument (exit 2), not a failed write
    (exit 4): saying so before the analysis runs spares the user a pass that would be thrown away.
    """
    p = Path(str(path))
    if p.is_dir():
        raise BadInputError(f"{p}: is a directory; give a file name to write, e.g. {p / 'out.mp4'}")
    if not p.parent.is_dir():
        raise BadInputError(f"{p.parent}: output folder does not exist")


def warn_user(message: str) -> None:
    """One ``leancam: warning: …`` line on stderr: something the user should know although the
    command went on (stdout stays clean for ``--json`` / ``--csv``)."""
    print(f"leancam: warning: {message}", file=sys.stderr)
