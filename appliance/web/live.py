"""The live board: the runner's image (MJPEG) and the verdict, pushed as server-sent events."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, render_template, stream_with_context

from appliance.web import deps_of
from appliance.web.streams import BOUNDARY, encode_jpeg, mjpeg_frames, render_frame, stop_event, verdict_events

log = logging.getLogger(__name__)

bp = Blueprint("live", __name__)

_NO_CACHE = {"Cache-Control": "no-cache, no-store", "X-Accel-Buffering": "no"}


@bp.get("/")
def board() -> str:
    return render_template("live.html")


@bp.get("/live/stream.mjpg")
def stream() -> Response:
    deps = deps_of(current_app)
    if deps.slot is None:
        abort(404, "no camera in this process (leancam web browses recordings only)")
    gen = mjpeg_frames(deps.slot, stop_event(current_app), deps.max_stream_fps, deps.stream_width_px)
    return Response(stream_with_context(gen), mimetype=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                    headers=_NO_CACHE, direct_passthrough=True)


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
    gen = verdict_events(deps.slot, stop_event(current_app), deps.heartbeat_s, deps.verdict_hold_s,
                         lights=deps.lights)
    return Response(stream_with_context(gen), mimetype="text/event-stream", headers=_NO_CACHE)
