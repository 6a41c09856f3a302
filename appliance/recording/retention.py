"""Retention: how much video the appliance keeps, and the free-space figures the web shows.

Rules, applied after every finished clip and at start-up (docs/storage.md):

1. clips older than ``max_age_days`` are deleted;
2. then, oldest first, clips are deleted while all clips together exceed ``quota_mb``;
3. then, oldest first, while the filesystem has less than ``min_free_mb`` free (other files —
   logs, the database — share the SD card).

Clips of the runs in ``protect_run_ids`` (the current run) are never deleted, whatever the rules
say. The database row goes first and the files after it, so a crash in between leaves files the
next start's recovery re-registers and retention deletes again — never a row without its file.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from appliance.config.sections import RetentionConfig
from appliance.store import Clip, Store

log = logging.getLogger(__name__)

MB = 1024 * 1024


@dataclass(frozen=True)
class DiskSpace:
    """Figures for the web page and ``leancam doctor``."""

    total_mb: float
    free_mb: float
    clips_mb: float
    clips: int
    quota_mb: float
    min_free_mb: float

    @property
    def low(self) -> bool:
        """True when the recorder would refuse to start a clip."""
        return self.free_mb < self.min_free_mb


def free_space_mb(path: Path) -> float:
    """Free space (for unprivileged users) on the filesystem holding ``path``."""
    return shutil.disk_usage(path).free / MB


def disk_space(clips_dir: Path, store: Store | None = None, config: RetentionConfig | None = None) -> DiskSpace:
    """Free space and clip usage; ``store`` may be a read-only one (the web's)."""
    config = config or RetentionConfig()
    usage = shutil.disk_usage(clips_dir)
    clips = store.clips() if store is not None else []
    return DiskSpace(usage.total / MB, usage.free / MB, sum(c.size_bytes for c in clips) / MB, len(clips),
                     config.quota_mb, config.min_free_mb)


@dataclass(frozen=True)
class RetentionReport:
    deleted: tuple[str, ...]
    freed_bytes: int
    kept_protected: int  # clips the rules wanted gone but belong to the current run


def _delete_clip(store: Store, clips_dir: Path, clip: Clip) -> None:
    assert clip.id is not None
    store.delete_clip(clip.id)  # row first (module docstring)
    for name in (clip.video_file, clip.sidecar_file):
        try:
            (clips_dir / name).unlink(missing_ok=True)
        except OSError as err:
            log.warning("retention: could not remove %s: %s", name, err)


def apply_retention(store: Store, clips_dir: Path, config: RetentionConfig, now_s: float | None = None,
                    protect_run_ids: Collection[int] = ()) -> RetentionReport:
    """Delete clips per the rules in the module docstring; returns what was deleted."""
    now_s = time.time() if now_s is None else now_s
    clips = store.clips()  # oldest first
    protected = [c for c in clips if c.run_id is not None and c.run_id in protect_run_ids]
    candidates = [c for c in clips if c not in protected]
    deleted: list[Clip] = []
    max_age_s = config.max_age_days * 86400.0
    for clip in candidates:
        if now_s - clip.created_at_s > max_age_s:
            deleted.append(clip)
    total = sum(c.size_bytes for c in clips) - sum(c.size_bytes for c in deleted)
    free = shutil.disk_usage(clips_dir).free + sum(c.size_bytes for c in deleted)
    wanted_more = False
    for clip in candidates:
        if clip in deleted:
            continue
        if total > config.quota_mb * MB or free < config.min_free_mb * MB:
            deleted.append(clip)
            total -= clip.size_bytes
            free += clip.size_bytes
    if total > config.quota_mb * MB or free < config.min_free_mb * MB:
        wanted_more = bool(protected)
    for clip in deleted:
        _delete_clip(store, clips_dir, clip)
    if deleted:
        log.info("retention: deleted %d clip(s), %.1f MB freed", len(deleted),
                 sum(c.size_bytes for c in deleted) / MB)
    return RetentionReport(tuple(c.name for c in deleted), sum(c.size_bytes for c in deleted),
                           len(protected) if wanted_more else 0)
