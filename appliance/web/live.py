"""The live board: the runner's image (MJPEG) and the verdict, pushed as server-sent events.

Each open stream holds one waitress worker thread, so their number is capped
(``WebDeps.max_mjpeg_clients`` / ``max_sse_clients``): one viewer too many gets 503 and the
remaining workers stay free for pages, replay frames and uploads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, stream_with_context

from appliance.web import deps_of
from appliance.web.reasons import storage_status
from appliance.web.streams import BOUNDARY, encode_jpeg, mjpeg_frames, render_frame, stop_event, verdict_events

log = logging.getLogger(__name__)

bp = Blueprint("live", __name__)

_NO_CACHE = {"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"}


def _slot_or_503(kind: str, limit: int) -> threading.BoundedSemaphore:
    sems = current_app.extensions.setdefault("leancam_stream_slots", {})
    sem = sems.setdefault(kind, threading.BoundedSemaphore(limit))
    if not sem.acquire(blocking=False):
        log.warning("too many %s viewers (limit %d)", kind, limit)
        abort(503, f"too many live viewers ({limit}); close another live page")
    return sem


def _limited_stream(kind: str, limit: int, gen: Iterator[Any], mimetype: str) -> Response:
    """An endless streamed response holding one of ``limit`` viewer slots until the client leaves."""
    sem = _slot_or_503(kind, limit)
    resp = Response(stream_with_context(gen), mimetype=mimetype, headers=_NO_CACHE)
    resp.call_on_close(sem.release)
    return resp


@bp.get("/")
def board() -> str:
    return render_template("live.html")


@bp.get("/live/stream.mjpg")
def stream() -> Response:
    deps = deps_of(current_app)
    if deps.slot is None:
        abort(404, "no camera in this process (leancam web browses recordings only)")
    gen = mjpeg_frames(deps.slot, stop_event(current_app), deps.max_stream_fps, deps.stream_width_px)
    return _limited_stream("mjpeg", deps.max_mjpeg_clients, gen, f"multipart/x-mixed-replace; boundary={BOUNDARY}")


@bp.get("/live/frame.jpg")
def snapshot() -> Response:
    deps = deps_of(current_app)
    state = deps.slot.latest() if deps.slot is not None else None
    if state is None or state.frame_rgb is None:
        abort(404, "no frame yet")
    light = state.verdict.light if state.verdict is not None else None
    return Response(encode_jpeg(render_frame(state, deps.stream_width_px, light)), mimetype="image/jpeg",
                    headers=_NO_CACHE)


@bp.get("/live/events")
def events() -> Response:
    deps = deps_of(current_app)
    if deps.slot is None:
        abort(404, "no camera in this process (leancam web browses recordings only)")
    recordings, recorder = deps.recordings_dir, deps.recorder_status
    gen = verdict_events(deps.slot, stop_event(current_app), deps.heartbeat_s, deps.verdict_hold_s,
                         shown_light=deps.shown_light, storage=lambda: storage_status(recordings, recorder))
    return _limited_stream("sse", deps.max_sse_clients, gen, "text/event-stream")
