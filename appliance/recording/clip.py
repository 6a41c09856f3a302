"""One clip on disk: MP4 + JSON sidecar, written under ``.part`` names and renamed when complete.

Crash safety comes from the order of steps in ``ClipWriter.finish``:

1. close the MP4 (writes its index) and ``fsync`` it — still ``NAME.mp4.part``;
2. write ``NAME.json.part``, ``fsync``, rename to ``NAME.json``;
3. rename ``NAME.mp4.part`` → ``NAME.mp4`` and ``fsync`` the directory;
4. only then the caller registers the clip in the database.

So a ``NAME.mp4`` always has its sidecar and is complete; a kill at any moment leaves at most
``.part`` files (deleted by ``recover``) or a finished clip not yet in the database (registered
by ``recover`` from its sidecar). ``recover`` runs at every start.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import av

from appliance.pose import keypoints_io
from appliance.pose.types import PoseFrame
from appliance.recording.h264 import EncodedPacket, PacketMuxer, StreamFormat
from appliance.store import Clip, Store
from appliance.store.files import PART_SUFFIX, atomic_write, fsync_path

log = logging.getLogger(__name__)

SIDECAR_SCHEMA = 1
SIDECAR_KIND = "leancam-clip"
_CLIP_FIELDS = tuple(f.name for f in fields(Clip) if f.name not in ("id", "size_bytes"))


class ClipWriter:
    """Muxes packets into ``dir/NAME.mp4.part``; ``finish`` makes it ``NAME.mp4`` + ``NAME.json``."""

    def __init__(self, directory: Path, name: str, fmt: StreamFormat) -> None:
        self.name = name
        self.video_path = directory / f"{name}.mp4"
        self.sidecar_path = directory / f"{name}.json"
        self.part_path = directory / f"{name}.mp4.part"
        self.format = fmt
        try:
            self._muxer = PacketMuxer(self.part_path, fmt)  # ENOSPC/EACCES: OSError, handled by the recorder
        except BaseException:
            self.part_path.unlink(missing_ok=True)
            raise

    @property
    def frames(self) -> int:
        return self._muxer.frames

    @property
    def start_t_s(self) -> float | None:
        return self._muxer.start_t_s

    @property
    def end_t_s(self) -> float | None:
        return self._muxer.end_t_s

    def write(self, packet: EncodedPacket) -> None:
        self._muxer.write(packet)

    def write_all(self, packets: Iterable[EncodedPacket]) -> None:
        for p in packets:
            self.write(p)

    def finish(self, sidecar: dict[str, Any]) -> int:
        """Close, fsync and rename (module docstring order); returns the MP4's size in bytes."""
        self._muxer.close()
        fsync_path(self.part_path)
        atomic_write(self.sidecar_path, json.dumps(sidecar, separators=(",", ":"), allow_nan=False).encode())
        os.replace(self.part_path, self.video_path)
        fsync_path(self.video_path.parent)
        return self.video_path.stat().st_size

    def abort(self) -> None:
        """Drop the partial clip (disk full, write error): nothing is left under a final name."""
        self._muxer.close_quietly()
        for p in (self.part_path, self.sidecar_path.with_name(self.sidecar_path.name + PART_SUFFIX)):
            try:
                p.unlink(missing_ok=True)
            except OSError as err:
                log.warning("could not remove %s: %s", p, err)


def sidecar_document(clip: Clip, trigger_reason: str, trigger_t_s: float, events: list[dict[str, Any]],
                     poses: Iterable[PoseFrame], **extra: Any) -> dict[str, Any]:
    """A clip's sidecar: what ``clip_from_sidecar`` reads back, the events and every frame's
    keypoints; ``extra`` keys (an upload's analysis) follow. Recorder and uploads both write it,
    so ``leancam web`` replays both the same way."""
    return {"schema": SIDECAR_SCHEMA, "kind": SIDECAR_KIND, "clip": clip_to_sidecar_dict(clip),
            "trigger": {"reason": trigger_reason, "t_s": trigger_t_s},
            # Times are capture times: the video's first frame is clip.start_t_s.
            "events": events, "keypoints": [keypoints_io.frame_to_dict(p) for p in poses], **extra}


def clip_to_sidecar_dict(clip: Clip) -> dict[str, Any]:
    return {name: getattr(clip, name) for name in _CLIP_FIELDS}


def clip_from_sidecar(path: Path, video_path: Path) -> Clip:
    """The Clip record a sidecar describes (raises ValueError/KeyError/TypeError if it is not one)."""
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or doc.get("kind") != SIDECAR_KIND or not isinstance(doc.get("clip"), dict):
        raise ValueError(f"{path.name} is not a LeanCam clip sidecar")
    meta = doc["clip"]
    values = {name: meta[name] for name in _CLIP_FIELDS}
    for name in ("frames", "width_px", "height_px"):
        values[name] = int(values[name])
    for name in ("created_at_s", "start_t_s", "end_t_s"):
        values[name] = float(values[name])
    return Clip(**values, size_bytes=video_path.stat().st_size)


def video_opens(path: Path) -> bool:
    """Cheap check that an MP4 is complete: it opens and has a video stream with frames."""
    try:
        with av.open(str(path)) as c:
            return bool(c.streams.video) and next(c.decode(video=0), None) is not None
    except (av.error.FFmpegError, OSError, ValueError):
        return False


@dataclass(frozen=True)
class RecoveryReport:
    """What ``recover`` found after an unclean stop."""

    parts_removed: tuple[str, ...] = ()
    registered: tuple[str, ...] = ()
    rows_dropped: tuple[str, ...] = ()
    sidecars_removed: tuple[str, ...] = ()

    @property
    def clean(self) -> bool:
        return not (self.parts_removed or self.registered or self.rows_dropped or self.sidecars_removed)


def recover(clips_dir: Path, store: Store) -> RecoveryReport:
    """Make the clips dir and the database agree again after a crash, kill or power cut.

    - ``*.part`` files are clips (or sidecars) that were being written: removed.
    - a finished ``NAME.mp4`` + ``NAME.json`` missing from the database (killed between rename and
      insert) is registered from its sidecar;
    - a database row whose MP4 is gone is dropped (the file was removed by hand);
    - a sidecar without its MP4 (killed while retention deleted the pair) is removed.
    Files that are not LeanCam clips are left alone.
    """
    parts, registered, dropped, sidecars = [], [], [], []
    for p in sorted(clips_dir.glob("*.part")):
        p.unlink(missing_ok=True)
        parts.append(p.name)
    known = {c.video_file: c for c in store.clips()}
    for video_file, clip in known.items():
        if not (clips_dir / video_file).is_file():
            assert clip.id is not None
            store.delete_clip(clip.id)
            dropped.append(clip.name)
    for video in sorted(clips_dir.glob("*.mp4")):
        if video.name in known:
            continue
        sidecar = video.with_suffix(".json")
        try:
            clip = clip_from_sidecar(sidecar, video)
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("%s: not registered (no valid sidecar: %s); left alone", video.name, err)
            continue
        if clip.video_file != video.name or not video_opens(video):
            log.warning("%s: sidecar does not match or video unreadable; left alone", video.name)
            continue
        store.add_clip(clip)
        registered.append(clip.name)
    for sidecar in sorted(clips_dir.glob("*.json")):
        if not sidecar.with_suffix(".mp4").exists():
            try:
                doc = json.loads(sidecar.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and doc.get("kind") == SIDECAR_KIND:
                sidecar.unlink(missing_ok=True)
                sidecars.append(sidecar.name)
    report = RecoveryReport(tuple(parts), tuple(registered), tuple(dropped), tuple(sidecars))
    if not report.clean:
        log.warning("recovered clips dir %s: removed %d partial file(s), registered %d finished clip(s), "
                    "dropped %d row(s) without a file, removed %d orphan sidecar(s)", clips_dir, len(parts),
                    len(registered), len(dropped), len(sidecars))
    return report
