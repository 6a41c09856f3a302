"""Live streams from the latest-state slot: MJPEG frames and server-sent verdict events.

Both run in a web worker thread per client and only ever *read* the slot, so a slow phone never
slows the pipeline. Frames are JPEG-encoded here (not in the pipeline), at most ``max_fps`` a
second and only while someone watches. Both generators end within ``POLL_S`` once the app's stop
event is set (server shutdown).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np
from flask import Flask

from appliance.live.state import LatestSlot, LightName, LiveState
from appliance.pose.overlay import AMBER, GREEN, RED, WHITE, draw_skeleton
from appliance.pose.types import L_EAR, L_HEEL, L_HIP, L_TOE, NOSE, R_EAR, R_HEEL, R_HIP, R_TOE, VISIBILITY, X, Y
from appliance.web.reasons import status_payload, verdict_payload

log = logging.getLogger(__name__)

POLL_S = 0.5
STATUS_EVERY_S = 1.0
JPEG_QUALITY = 75
BOUNDARY = "leancamframe"
_PART_HEAD = "Content-Type: image/jpeg\r\n\r\n"

LIGHT_COLOURS = {"go": GREEN, "no_go": RED, "ready": AMBER, "unsure": AMBER, "fault": AMBER}

_EARS, _HIPS = (L_EAR, R_EAR), (L_HIP, R_HIP)
_HEELS, _TOES = (L_HEEL, R_HEEL), (L_TOE, R_TOE)


def stop_event(app: Flask) -> threading.Event:
    return app.extensions.setdefault("leancam_stop", threading.Event())


def _mean(lm: np.ndarray, idx: tuple[int, ...], min_vis: float = 0.5) -> np.ndarray | None:
    rows = [i for i in idx if lm[i, VISIBILITY] >= min_vis]
    return lm[rows][:, [X, Y]].mean(axis=0) if rows else None


def body_line_px(lm: np.ndarray) -> list[np.ndarray] | None:
    """Points foot → pelvis → head: the stance foot is the lower one in the image (its midfoot)."""
    pelvis = _mean(lm, _HIPS)
    head = _mean(lm, _EARS)
    if head is None:
        head = _mean(lm, (NOSE,))
    feet = []
    for heel, toe in zip(_HEELS, _TOES, strict=True):
        mid = _mean(lm, (heel, toe))
        if mid is not None:
            feet.append(mid)
    if pelvis is None or head is None or not feet:
        return None
    foot = max(feet, key=lambda p: p[1])  # y grows downwards: the lower foot
    return [foot, pelvis, head]


def render_frame(state: LiveState, width_px: int, light: str | None) -> np.ndarray:
    """A copy of the newest frame, scaled to ``width_px``, with skeleton and body line (RGB)."""
    frame = state.frame_rgb
    assert frame is not None
    h, w = frame.shape[:2]
    scale = min(1.0, width_px / w)
    img = cv2.resize(frame, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA) if scale < 1 \
        else frame.copy()
    if state.landmarks is not None:
        lm = state.landmarks.copy()
        lm[:, [X, Y]] *= scale
        draw_skeleton(img, lm)
        line = body_line_px(lm)
        if line is not None:
            colour = LIGHT_COLOURS.get(light or "", WHITE)
            t = max(2, round(min(img.shape[:2]) / 120))
            pts = np.round(np.array(line)).astype(np.int32)
            cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, (0, 0, 0), t + 3, cv2.LINE_AA)
            cv2.polylines(img, [pts.reshape(-1, 1, 2)], False, colour, t, cv2.LINE_AA)
            for p in pts:
                cv2.circle(img, (int(p[0]), int(p[1])), t + 2, colour, -1, cv2.LINE_AA)
    return img


def encode_jpeg(img_rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def mjpeg_frames(slot: LatestSlot, stop: threading.Event, max_fps: float, width_px: int,
                 max_frames: int | None = None) -> Iterator[bytes]:
    """multipart/x-mixed-replace parts, one per new frame, at most ``max_fps`` a second."""
    period = 1.0 / max_fps
    version = 0
    sent = 0
    next_t = 0.0
    while not stop.is_set():
        wait = next_t - time.monotonic()
        if wait > 0:
            stop.wait(wait)
        state = slot.wait_newer(version, POLL_S)
        if state is None or state.frame_rgb is None:
            continue
        version = state.version
        next_t = time.monotonic() + period
        light = state.verdict.light if state.verdict is not None else None
        jpeg = encode_jpeg(render_frame(state, width_px, light))
        # Each part is followed at once by the next boundary *and* part header: Chromium shows a
        # multipart image part only once the next part has begun, so this saves a frame of latency
        # (and shows a still picture at all when the pipeline is paused).
        head = b"" if sent else f"--{BOUNDARY}\r\n{_PART_HEAD}".encode()
        yield head + jpeg + f"\r\n--{BOUNDARY}\r\n{_PART_HEAD}".encode()
        sent += 1
        if max_frames is not None and sent >= max_frames:
            return


def _sse(event: str, data: dict, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def verdict_events(slot: LatestSlot, stop: threading.Event, heartbeat_s: float, hold_s: float | None = None,
                   max_s: float | None = None, shown_light: Callable[[], LightName] | None = None,
                   storage: Callable[[], dict[str, Any]] | None = None) -> Iterator[str]:
    """SSE: a ``verdict`` event whenever what the board shows changes (a new decision, a verdict
    expiring after ``hold_s``, the runner appearing or leaving), ``status`` once a second, and a
    heartbeat comment every ``heartbeat_s`` so proxies and the browser know the link is alive.
    ``shown_light()`` (the light the LEDs show now), when given, makes the board follow the LEDs exactly;
    ``storage()`` adds recording state and free space to each status event."""
    t0 = time.monotonic()
    yield "retry: 1000\n\n"
    state = slot.latest()
    version = state.version if state is not None else 0
    last_key: tuple | None = None
    last_status = last_beat = 0.0
    while not stop.is_set():
        now = time.monotonic()
        payload = verdict_payload(state.verdict if state is not None else None, state, now, hold_s,
                                  shown_light() if shown_light is not None else None)
        key = (payload["light"], payload["reason_text"], payload["decided_monotonic_s"], payload["kind"])
        if key != last_key:
            last_key = key
            yield _sse("verdict", {**payload, "sent_epoch_s": time.time()}, str(version))
            last_beat = now
        if now - last_status >= STATUS_EVERY_S:
            yield _sse("status", status_payload(state, storage() if storage is not None else None))
            last_status = last_beat = now
        if now - last_beat >= heartbeat_s:
            yield f": heartbeat {int(time.time())}\n\n"
            last_beat = now
        if max_s is not None and now - t0 >= max_s:
            return
        newer = slot.wait_newer(version, min(POLL_S, max(0.0, heartbeat_s - (now - last_beat))))
        if newer is not None:
            state, version = newer, newer.version
