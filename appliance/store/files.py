"""Durable file writes: every file the appliance replaces (config, password hash, clip sidecars,
extracted models) is written through here, so none of them can be left half-written.

A power cut on a Pi is routine (the supply is pulled, not shut down). The new content goes to a
temporary file beside the target, is fsync'ed, and is renamed over the target: readers and the
next start see the old file or the whole new one, never a torn mix. Without the fsync the rename
can reach the disk before the data, and ext4 then leaves a zero-length file after the crash.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# Clips' recovery removes ``*.part`` files left by a kill (recording/clip.py): keep the suffix.
PART_SUFFIX = ".part"


def fsync_path(path: Path) -> None:
    """Flush a file (or a directory's entries, e.g. after a rename) to stable storage."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_file(path: Path, *, mode: int = 0o666, tmp_suffix: str = PART_SUFFIX) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` when the ``with`` block ends without an exception.

    The data is fsync'ed before the rename; on an exception the temporary file is removed and
    ``path`` is untouched (a checksum failing inside the block keeps the old file). ``mode`` is
    the new file's permission (before the umask): 0o600 for secrets, which must never exist with
    wider rights even for a moment. ``tmp_suffix`` names the temporary file ``path.name`` +
    suffix; give it the process id where two processes may write the same file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + tmp_suffix)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes | str, *, mode: int = 0o666, tmp_suffix: str = PART_SUFFIX) -> None:
    """Replace ``path`` with ``data`` (str is written as UTF-8) as ``atomic_file`` does."""
    with atomic_file(path, mode=mode, tmp_suffix=tmp_suffix) as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
