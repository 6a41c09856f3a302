"""Verdicts in plain words for the board: the big word, its colour and why.

Reason codes come from the analysis (``appliance.analysis.lean``); unknown codes fall back to the code with
underscores as spaces, so a new reason still shows something readable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance.live.state import LiveState, Verdict
from appliance.recording.retention import free_space_mb

WORDS: dict[str, str] = {
    "go": "GO",
    "no_go": "NO-GO",
    "ready": "READY",
    "unsure": "UNSURE",
    "fault": "WAIT",
}

REASONS: dict[str, str] = {
    # judged faults (appliance.analysis.lean.verdict)
    "sitting_back": "hips behind your foot",
    "butt_out": "hips behind the line — push them forward",
    "slouch": "rounded back",
    "over_lean": "leaning too far — quicker, shorter steps",
    "overstride": "foot lands too far ahead",
    "upright": "lean forward from the ankles",
    # not judged (unsure): why
    "walking": "walking — not judged",
    "gait_not_established": "finding your stride — not judged yet",
    "low_confidence": "can't see you clearly",
    "feet_out_of_frame": "step fully into view — feet not seen",
    "no_push_off": "push-off not seen clearly",
    "implausible_timing": "step timing unclear — not judged",
    "feet_together": "both feet landed together — not judged",
    "stances_overlap": "steps not told apart — not judged",
    "no_samples": "start not seen clearly",
    # too close to a limit to call (appliance.analysis.lean.verdict: within the measurement noise)
    "near_limit_hip_over_foot": "hips nearly behind your foot — too close to call",
    "near_limit_pelvis_offset": "hips nearly behind the line — too close to call",
    "near_limit_trunk_lean": "back nearly rounded — too close to call",
    "near_limit_overstride": "foot lands nearly too far ahead — too close to call",
    "near_limit_lean": "lean borderline — too close to call",
    "near_limit_cadence": "step rate borderline — too close to call",
    # appliance states (appliance.feedback.controller, the web)
    "no_runner": "no runner in view",
    "camera_fault": "camera not working",
    "drill_armed": "stand still, then go",
}


def reason_text(code: str) -> str:
    return REASONS.get(code, code.replace("_", " "))


def verdict_payload(verdict: Verdict | None, state: LiveState | None, now_mono_s: float | None = None,
                    hold_s: float | None = None, shown_light: str | None = None) -> dict[str, Any]:
    """The JSON the live page shows (sent over SSE and by ``/api/live``).

    The board shows what the LEDs show. With ``shown_light`` (the light on the LEDs now) the
    verdict is shown while the LEDs show its light, then the LEDs' own state (READY, blinking
    FAULT…). Without LEDs in this process, a judged verdict (go / no_go / unsure) is shown for
    ``hold_s`` after its decision, then READY (runner in view) or WAIT (nobody). Either way the last
    metrics stay readable.
    """
    person = bool(state.person_in_view) if state is not None else False
    if shown_light is not None:
        expired = verdict is not None and verdict.light != shown_light
    else:
        expired = (verdict is not None and hold_s is not None and now_mono_s is not None
                   and verdict.light in ("go", "no_go", "unsure")
                   and now_mono_s - verdict.decided_monotonic_s > hold_s)
    if verdict is None or expired:
        light = shown_light if shown_light not in (None, "off") else ("ready" if person else "fault")
        reasons: list[str] = [] if light != "fault" or person else ["no_runner"]
        kind, t_s, decided = "status", 0.0, 0.0
        metrics = dict(verdict.metrics) if verdict is not None else {}
    else:
        light, reasons, kind = verdict.light, list(verdict.reasons), verdict.kind
        t_s, decided, metrics = verdict.t_s, verdict.decided_monotonic_s, dict(verdict.metrics)
    if light == "fault" and not reasons:
        reasons = ["no_runner" if not person else "camera_fault"]
    words = [reason_text(r) for r in reasons]
    if light == "ready" and not words:
        words = ["stand still, then go"]
    if light == "go" and not words:
        words = ["good lean"]

    def num(key: str) -> float | None:
        v = metrics.get(key)
        return round(float(v), 3) if isinstance(v, int | float) else None

    return {
        "light": light,
        "word": WORDS.get(light, light.upper()),
        "kind": kind,
        "reasons": reasons,
        "reason_text": "; ".join(words),
        "t_s": round(float(t_s), 4),
        "decided_monotonic_s": decided,
        "lean_deg": num("lean_deg"),
        "cadence_spm": num("cadence_spm"),
        "hip_over_foot": num("hip_over_foot"),
    }


def status_payload(state: LiveState | None, storage: dict[str, Any] | None = None) -> dict[str, Any]:
    """Pipeline health for the live page; ``storage`` (see ``storage_status``) adds recording/disk."""
    if state is None:
        out = {"source": None, "fps": 0.0, "dropped_frames": 0, "person_in_view": False, "t_s": 0.0}
    else:
        out = {"source": state.source, "fps": round(float(state.fps), 1),
               "dropped_frames": int(state.dropped_frames), "person_in_view": bool(state.person_in_view),
               "t_s": round(float(state.t_s), 3)}
    return {**out, **(storage or {})}


def storage_status(recordings_dir: Path, recorder_status: Callable[[], Any] | None) -> dict[str, Any]:
    """Recording state and free space, cheap enough for every status event (one statvfs).

    ``recorder_status()`` gives the running recorder's RecorderStatus; None: no recorder here.
    """
    probe = recordings_dir if recordings_dir.exists() else recordings_dir.parent
    try:
        free_mb = round(free_space_mb(probe), 1)
    except OSError:
        free_mb = None
    rec = None
    if recorder_status is not None:
        status = recorder_status()
        rec = {"state": status.state, "reason": status.reason}
    return {"recording": rec, "disk_free_mb": free_mb}
