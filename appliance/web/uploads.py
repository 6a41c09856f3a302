"""Offline analysis of uploaded phone videos, one at a time on a background thread.

An upload is written to ``RECORDINGS/.uploads/ID.part`` while it arrives, checked (a readable
video stream whose first frame decodes), then queued. The job runs the pose model over every
frame, the same analysis as ``leancam analyze``, and only when all of that worked moves the video
into the recordings dir as ``upload-…mp4`` with a recorder-style JSON sidecar (keypoints, events,
the §6 analysis result) and adds session → run → strides → events → clip rows to the store. Any
failure on the way removes every file of the upload: nothing is left behind.

Videos in the MP4/MOV family are kept as they are (renamed ``.mp4``: same container family);
other containers (WebM, MKV, AVI…) are re-encoded to H.264 MP4 during the pose pass, by the
same ``Mp4Writer`` as ``analyze --annotate`` (``appliance.recording.h264``).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

from appliance.errors import BadInputError
from appliance.numbers import json_safe
from appliance.recording.h264 import Mp4Writer

log = logging.getLogger(__name__)

UPLOAD_DIR = ".uploads"
MP4_FAMILY = ("mov", "mp4")
MAX_QUEUED = 3
STALE_PART_S = 24 * 3600

# analyze(video_path, name=…, original_name=…, capture_fps=…, progress=…, note=…) -> run id
Analyzer = Callable[..., int]


@dataclass
class UploadJob:
    id: str
    original_name: str
    part_path: Path
    capture_fps: float | None
    state: str = "queued"  # queued | running | done | failed
    frames_done: int = 0
    frames_total: int | None = None
    message: str = ""
    run_id: int | None = None
    created_s: float = field(default_factory=time.time)

    def to_json(self) -> dict[str, Any]:
        progress = None
        if self.state == "done":
            progress = 1.0
        elif self.frames_total:
            progress = min(1.0, self.frames_done / self.frames_total)
        return {"id": self.id, "file": self.original_name, "state": self.state, "progress": progress,
                "frames_done": self.frames_done, "frames_total": self.frames_total, "message": self.message,
                "run_id": self.run_id}


def upload_dir(recordings_dir: Path) -> Path:
    return recordings_dir / UPLOAD_DIR


def clean_stale_parts(recordings_dir: Path, older_than_s: float = STALE_PART_S) -> int:
    """Remove upload leftovers of a crash (only old ones: another process may be receiving one)."""
    d = upload_dir(recordings_dir)
    removed = 0
    now = time.time()
    for p in d.glob("*") if d.is_dir() else []:
        try:
            if p.is_file() and now - p.stat().st_mtime > older_than_s:
                p.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def probe_video(path: Path) -> dict[str, Any]:
    """Check ``path`` is a video whose first frame decodes; BadInputError with a clear reason if not."""
    from appliance.sources.video_file import VideoFileSource

    with VideoFileSource(path) as src:
        info = src.info
        try:
            first = next(iter(src.frames()), None)
        except BadInputError:
            raise
        except Exception as err:  # PyAV decode errors of a damaged file
            raise BadInputError(f"the video could not be decoded ({err.__class__.__name__})") from err
        if first is None:
            raise BadInputError("the file has a video stream but no frame could be decoded")
    with av.open(str(path)) as container:
        fmt = container.format.name
    return {"format": fmt, "fps": info.fps, "frames": info.frame_count, "width": info.width_px,
            "height": info.height_px}


class UploadJobs:
    """The queue of uploads waiting for analysis and their states (kept in memory)."""

    def __init__(self, recordings_dir: Path, analyze: Analyzer) -> None:
        self.recordings_dir = recordings_dir
        self.analyze = analyze
        self._jobs: dict[str, UploadJob] = {}
        self._queue: queue.Queue[UploadJob] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def new_part_path(self) -> tuple[str, Path]:
        job_id = secrets.token_hex(8)
        d = upload_dir(self.recordings_dir)
        d.mkdir(parents=True, exist_ok=True)
        return job_id, d / f"{job_id}.part"

    def busy(self) -> bool:
        with self._lock:
            return sum(1 for j in self._jobs.values() if j.state in ("queued", "running")) >= MAX_QUEUED

    def submit(self, job: UploadJob) -> UploadJob:
        with self._lock:
            self._jobs[job.id] = job
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="upload-analysis", daemon=True)
                self._thread.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> UploadJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            job.state = "running"

            def progress(done: int, total: int | None, job: UploadJob = job) -> None:
                job.frames_done, job.frames_total = done, total

            notes: list[str] = []
            try:
                job.run_id = self.analyze(job.part_path, original_name=job.original_name,
                                          capture_fps=job.capture_fps, progress=progress, note=notes.append)
                job.state, job.message = "done", "; ".join(["analysed", *notes])
                log.info("upload %s (%s) analysed: run %s", job.id, job.original_name, job.run_id)
            except BadInputError as err:
                job.state, job.message = "failed", str(err)
                log.warning("upload %s (%s) rejected: %s", job.id, job.original_name, err)
            except Exception as err:
                job.state, job.message = "failed", f"analysis failed ({err.__class__.__name__}: {err})"
                log.exception("upload %s (%s) failed", job.id, job.original_name)
            finally:
                job.part_path.unlink(missing_ok=True)
                self._queue.task_done()


def analyze_into_store(video_path: Path, *, recordings_dir: Path, db_path: Path, config_path: Path | None,
                       original_name: str, capture_fps: float | None = None,
                       progress: Callable[[int, int | None], None] | None = None,
                       store: Any = None, num_threads: int = 1,
                       note: Callable[[str], None] | None = None) -> int:
    """Pose + analysis over ``video_path``; keeps the video and sidecar and fills the store.

    ``note`` receives what the user should know although the analysis succeeded (a file that ended
    early: only its first frames are in the result), for the job's message on the upload page.

    Returns the new run's id. ``store`` is the process's writer Store if it has one (``leancam
    run``); otherwise one is opened for this upload. ``num_threads`` for the pose model: 1 beside
    a live pipeline (it keeps the other core), 2 when nothing else runs (``leancam web``).
    """
    from appliance.analysis.analyzer import analyze_frames
    from appliance.config import load_appliance_config
    from appliance.pose.engine import PoseEngine
    from appliance.recording.clip import sidecar_document
    from appliance.recording.runs import store_result
    from appliance.sources.video_file import VideoFileSource
    from appliance.store import Clip, Store
    from appliance.store.files import atomic_write

    info = probe_video(video_path)
    transcode = not any(k in info["format"].split(",") for k in MP4_FAMILY)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"upload-{stamp}-{secrets.token_hex(3)}"
    video_final = recordings_dir / f"{name}.mp4"
    sidecar_final = recordings_dir / f"{name}.json"
    tmp_video = upload_dir(recordings_dir) / f"{name}.mp4"  # the writer adds (and removes) .part
    created: list[Path] = []
    # The same config leancam run uses (file + environment): thresholds and the pose model variants.
    cfg = load_appliance_config(config_path if config_path is not None and config_path.is_file() else None)
    engine = PoseEngine.from_config(cfg.pose, num_threads=num_threads)
    poses = []
    out: Mp4Writer | None = None
    try:
        with VideoFileSource(video_path) as src:
            total = src.info.frame_count
            fps = src.info.fps
            for frame in src.frames():
                if transcode:
                    if out is None:
                        created.append(tmp_video)
                        out = Mp4Writer(tmp_video, fps, frame.width_px, frame.height_px)
                    out.write(frame.rgb)
                poses.append(engine.process(frame))
                if progress is not None:
                    progress(len(poses), total)
            ended_early = src.ended_early_message()
        if ended_early is not None:
            shown = ended_early.replace(str(video_path), original_name)
            log.warning("upload %s", shown)
            if note is not None:
                note(f"{shown}; only those frames are analysed")
        if out is not None:
            writer, out = out, None
            writer.close()
        if not poses:
            raise BadInputError("the video has no frames")
        result = analyze_frames(poses, cfg, capture_fps=capture_fps, video_path=original_name, source_fps=fps)
        doc = result.to_json()
        now = time.time()
        last_t = poses[-1].t_s
        recordings_dir.mkdir(parents=True, exist_ok=True)
        (tmp_video if transcode else video_path).replace(video_final)
        created.append(video_final)
        first = poses[0]
        clip = Clip(name=name, video_file=video_final.name, sidecar_file=sidecar_final.name, created_at_s=now,
                    start_t_s=first.t_s, end_t_s=last_t, frames=len(poses), width_px=first.width_px,
                    height_px=first.height_px, size_bytes=video_final.stat().st_size, trigger="upload")
        events = [{"kind": e.kind, "t_s": round(e.t_s, 6), "foot": e.foot, "frame_index": e.frame_index}
                  for e in result.events]
        sidecar = sidecar_document(clip, "upload", first.t_s, events, poses, time_scale=result.time_scale,
                                   upload={"original_name": original_name}, analysis=doc)
        atomic_write(sidecar_final, _json_bytes(sidecar))
        created.append(sidecar_final)

        own = store is None
        db = Store.open(db_path) if own else store
        try:
            run = store_result(db, doc, result.events, clip, f"upload: {original_name}", now)
        finally:
            if own:
                db.close()
        return int(run.id)
    except BaseException:
        if out is not None:
            with contextlib.suppress(Exception):  # the files are removed below anyway
                out.abort()
        for p in created:
            p.unlink(missing_ok=True)
        raise


def _json_bytes(doc: dict[str, Any]) -> bytes:
    import json

    return json.dumps(json_safe(doc), separators=(",", ":"), allow_nan=False).encode()
