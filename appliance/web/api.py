"""JSON API: the live verdict and status, health, and the recordings (read-only, no login)."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Blueprint, current_app, jsonify

from appliance.web import deps_of
from appliance.web.reasons import status_payload, storage_status, verdict_payload

log = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/health")
def health() -> Any:
    deps = deps_of(current_app)
    return jsonify({"ok": True, "live": deps.slot is not None})


@bp.get("/live")
def live() -> Any:
    deps = deps_of(current_app)
    state = deps.slot.latest() if deps.slot is not None else None
    return jsonify({"available": deps.slot is not None,
                    "verdict": verdict_payload(state.verdict if state else None, state, time.monotonic(),
                                               deps.verdict_hold_s,
                                               deps.shown_light() if deps.shown_light is not None else None),
                    "status": status_payload(state, storage_status(deps.recordings_dir, deps.recorder_status))})
