"""Persistent state: the SQLite store and the state-dir checks made at start-up.

``open_state_dir()`` is what ``leancam run`` calls first: it makes sure the state dir is a
writable directory (a clear ``LeanCamError`` otherwise) and opens the writer ``Store``.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from appliance import paths
from appliance.errors import LeanCamError
from appliance.store.db import Store
from appliance.store.records import Clip, Event, Initiation, Run, Session, Stride
from appliance.store.schema import LATEST_VERSION, MIGRATIONS

__all__ = ["LATEST_VERSION", "MIGRATIONS", "Clip", "Event", "Initiation", "Run", "Session", "Store", "Stride",
           "check_writable_dir", "open_state_dir"]


def check_writable_dir(path: Path, what: str = "state dir") -> Path:
    """Create ``path`` if needed and prove it writable by writing a probe file.

    ``os.access`` is not enough: it says yes to root on a read-only mount and knows nothing of a
    full disk, so a real write is tried.
    """
    hint = "fix its permissions or set LEANCAM_STATE_DIR"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise LeanCamError(f"{what} {path} cannot be created ({err.strerror or err}); {hint}") from err
    probe = path / f".write-probe-{os.getpid()}"
    try:
        with probe.open("wb") as fh:
            fh.write(b"ok")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as err:
        if err.errno == errno.ENOSPC:
            # Full but writable: the recorder copes with that (it stops recording, feedback goes on).
            return path
        raise LeanCamError(f"{what} {path} is not writable ({err.strerror or err}); {hint}") from err
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
    return path


def open_state_dir(state_dir: Path | None = None) -> tuple[Store, Path]:
    """Check the state dir, open the writer store and return it with the clips dir."""
    root = check_writable_dir(state_dir or paths.state_dir())
    clips = check_writable_dir(root / paths.clips_dir().name, "clips dir")
    return Store.open(root / paths.database_path().name), clips
