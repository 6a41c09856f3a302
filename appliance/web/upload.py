"""Upload a phone video for offline analysis: progress bar, clear errors, result opens in replay.

``POST /upload/`` takes the video as the raw request body (``X-Filename`` header, what the page's
script sends, so the upload progress is the browser's own) or as a multipart form field ``video``
(curl, no-JS). The body is streamed to ``RECORDINGS/.uploads/`` while it arrives and checked
against the size limit as it grows; too large → 413, not a readable video → 400, analysis failure
→ the job says why. In each case every file of the upload is removed.
"""

from __future__ import annotations

import logging
import math
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from flask import Blueprint, Flask, current_app, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from appliance.errors import BadInputError
from appliance.web import WebDeps, deps_of
from appliance.web.uploads import UploadJob, UploadJobs, analyze_into_store, clean_stale_parts, probe_video

log = logging.getLogger(__name__)

bp = Blueprint("upload", __name__, url_prefix="/upload")

CHUNK = 1024 * 1024
VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".3gp", ".webm", ".mkv", ".avi")


def _limit_mb(app: Flask) -> int:
    return math.floor(app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024))


def jobs(app: Flask) -> UploadJobs:
    found = app.extensions.get("leancam_uploads")
    if found is None:
        deps = deps_of(app)
        analyze = deps.analyze_upload or _default_analyzer(deps)
        found = app.extensions.setdefault("leancam_uploads", UploadJobs(deps.recordings_dir, analyze))
    return found


def _default_analyzer(deps: WebDeps) -> Any:
    def analyze(video_path: Path, **kw: Any) -> int:
        return analyze_into_store(video_path, recordings_dir=deps.recordings_dir, db_path=deps.db_path,
                                  config_path=deps.config_path, store=deps.extra.get("store"),
                                  num_threads=deps.upload_threads, **kw)

    return analyze


def _error(message: str, status: int) -> Any:
    return jsonify({"error": message}), status


def _too_large_message() -> str:
    return (f"The video is larger than this unit's {_limit_mb(current_app)} MB upload limit. "
            "Trim it on the phone (a few seconds of running are enough) and try again.")


@bp.get("/")
def form() -> str:
    return render_template("upload.html", limit_bytes=current_app.config["MAX_CONTENT_LENGTH"],
                           limit_mb=_limit_mb(current_app))


def _receive(part: Path, limit: int) -> int:
    """Stream the body to ``part``; returns bytes written (RequestEntityTooLarge past ``limit``)."""
    written = 0
    with part.open("wb") as fh:
        if request.files:
            f = request.files.get("video")
            if f is None:
                raise BadInputError("the form has no 'video' file field")
            src = f.stream
        else:
            src = request.stream
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > limit:
                raise RequestEntityTooLarge()
            fh.write(chunk)
    return written


def _filename() -> str:
    if request.files and request.files.get("video") is not None:
        name = request.files["video"].filename or ""
    else:
        name = unquote(request.headers.get("X-Filename", ""))
    name = Path(name.replace("\\", "/")).name.strip()
    return name[:120] or "video"


@bp.post("/")
def receive() -> Any:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    deps = deps_of(app)
    limit = int(app.config["MAX_CONTENT_LENGTH"])
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()
    capture_fps = None
    raw_fps = request.args.get("capture_fps") or (request.form.get("capture_fps") if request.files else None)
    if raw_fps:
        try:
            capture_fps = float(raw_fps)
            if not 1 <= capture_fps <= 1000:
                raise ValueError
        except ValueError:
            return _error("Capture fps must be a number from 1 to 1000 (or empty).", 400)
    queue = jobs(app)
    if queue.busy():
        return _error("The unit is still analysing earlier uploads. Try again in a minute.", 503)
    deps.recordings_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(deps.recordings_dir).free
    # The recorder stops below [retention] min_free_mb; an upload must not take the unit there.
    min_free_after = deps.config.retention.min_free_mb * 1_000_000
    if request.content_length is not None and free - request.content_length < min_free_after:
        return _error("Not enough free space on the unit for this video.", 507)
    name = _filename()
    job_id, part = queue.new_part_path()
    try:
        size = _receive(part, limit)
        if size == 0:
            raise BadInputError("the upload was empty (0 bytes)")
        probe_video(part)
    except BadInputError as err:
        part.unlink(missing_ok=True)
        msg = str(err).replace(str(part), name).replace(part.name, name)
        msg = msg.removeprefix(f"{name}: ")  # the sentence below names the file once
        log.info("upload %s rejected: %s", name, msg)
        return _error(f"{name} is not a video this unit can read: {msg}", 400)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    job = queue.submit(UploadJob(job_id, name, part, capture_fps))
    log.info("upload %s received (%d bytes), job %s", name, size, job.id)
    return jsonify({"job": job.to_json(), "status_url": url_for("upload.status", job_id=job.id)}), 202


@bp.get("/jobs/<job_id>")
def status(job_id: str) -> Any:
    job = jobs(current_app).get(job_id)
    if job is None:
        return _error("No such upload (the unit may have restarted).", 404)
    data = job.to_json()
    if job.run_id is not None:
        data["run_url"] = url_for("replay.run_page", run_id=job.run_id)
    return jsonify(data)


def register_error_handlers(app: Flask) -> None:
    clean_stale_parts(deps_of(app).recordings_dir)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(err: HTTPException) -> Any:
        if request.path.startswith("/upload"):
            return _error(_too_large_message(), 413)
        return err
