"""Replay of recorded runs: sessions → runs → strides, frame-exact scrubbing, plots and exports.

Read-only for anyone on the LAN. The database is opened read-only per request. Clip files are
served only from inside the recordings dir: every name from the database or a sidecar is resolved
(symlinks followed) and must stay inside it, else 404.

Time mapping: a clip's first frame is at capture time ``clip.start_t_s``; an event at ``t_s`` is
at video time ``(t_s - start_t_s) / time_scale`` (``time_scale`` < 1 for slow-motion uploads whose
analysis times were scaled to real time; it is 1 for recordings and kept in the sidecar).
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import av
from flask import Blueprint, Response, abort, current_app, jsonify, render_template, send_file, url_for

from appliance.errors import BadInputError, LeanCamError
from appliance.recording.retention import disk_space
from appliance.web import WebDeps, deps_of
from appliance.web.frames import FrameCache
from appliance.web.reasons import reason_text

log = logging.getLogger(__name__)

bp = Blueprint("replay", __name__, url_prefix="/replay")

STRIDE_FIELDS = ("foot", "contact_t_s", "midstance_t_s", "toe_off_t_s", "hip_over_foot", "lean_deg",
                 "pelvis_offset", "trunk_deg", "cadence_spm", "overstride", "verdict")
EVENT_KINDS = ("initiation", "contact", "midstance", "toe_off")


@contextmanager
def open_store(deps: WebDeps) -> Iterator[Any]:
    """The store opened read-only, or ``None`` when there is no database yet."""
    from appliance.store import Store

    if not deps.db_path.is_file():
        yield None
        return
    try:
        store = Store.open(deps.db_path, readonly=True)
    except LeanCamError as err:
        log.warning("cannot open %s: %s", deps.db_path, err)
        yield None
        return
    with store:
        yield store


def safe_clip_path(deps: WebDeps, name: str) -> Path | None:
    """``recordings_dir/name`` if it is a file inside the recordings dir, else None."""
    if not name or "\x00" in name:
        return None
    root = deps.recordings_dir.resolve()
    try:
        path = (root / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not path.is_relative_to(root) or path == root or not path.is_file():
        log.warning("refused clip path outside the recordings dir: %r", name)
        return None
    return path


def _frame_cache(app: Any) -> FrameCache:
    return app.extensions.setdefault("leancam_frames", FrameCache(width_px=deps_of(app).stream_width_px))


def _sidecar(deps: WebDeps, clip: Any) -> dict[str, Any]:
    path = safe_clip_path(deps, clip.sidecar_file)
    if path is None:
        return {}
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        log.warning("sidecar %s unreadable: %s", path.name, err)
        return {}
    return doc if isinstance(doc, dict) else {}


def _run_clip(store: Any, run: Any) -> Any:
    clips = store.clips()
    for c in clips:
        if c.run_id == run.id:
            return c
    end = run.end_t_s if run.end_t_s is not None else run.start_t_s
    for c in clips:
        if c.session_id == run.session_id and c.start_t_s <= end and c.end_t_s >= run.start_t_s:
            return c
    return None


def _stride_dict(i: int, s: Any) -> dict[str, Any]:
    d = {"index": i, **{f: getattr(s, f) for f in STRIDE_FIELDS}, "reasons": list(s.reasons)}
    d["reason_text"] = "; ".join(reason_text(r) for r in s.reasons)
    return d


def run_data(deps: WebDeps, store: Any, run_id: int) -> dict[str, Any] | None:
    """Everything the replay page and the JSON export show for one run."""
    run = next((r for r in store.runs() if r.id == run_id), None)
    if run is None:
        return None
    strides = [_stride_dict(i + 1, s) for i, s in enumerate(store.strides(run_id))]
    ini = run.initiation
    initiation = None if ini is None else {"t_s": ini.t_s, "lean_deg": ini.lean_deg, "pelvis_offset": ini.pelvis_offset,
                                           "verdict": ini.verdict, "reasons": list(ini.reasons),
                                           "reason_text": "; ".join(reason_text(r) for r in ini.reasons)}
    markers: list[dict[str, Any]] = []
    if initiation is not None:
        markers.append({"kind": "initiation", "foot": "", "t_s": ini.t_s, "stride": None})
    for s in strides:
        for kind in ("contact", "midstance", "toe_off"):
            t = s[f"{kind}_t_s"]
            if t is not None:
                markers.append({"kind": kind, "foot": s["foot"], "t_s": t, "stride": s["index"]})
    if not strides:  # events without judged strides (e.g. walking): still mark them
        for e in store.events(run.session_id, run_id):
            if e.kind in EVENT_KINDS and not (e.kind == "initiation" and initiation is not None):
                markers.append({"kind": e.kind, "foot": str(e.detail.get("foot", "")), "t_s": e.t_s, "stride": None})
    markers.sort(key=lambda m: m["t_s"])

    clip_info = None
    clip = _run_clip(store, run)
    path = safe_clip_path(deps, clip.video_file) if clip is not None else None
    if clip is not None and path is not None:
        sidecar = _sidecar(deps, clip)
        scale = float(sidecar.get("time_scale") or 1.0)
        try:
            frames = _frame_cache(current_app).get(path)
        except BadInputError as err:
            log.warning("clip %s: %s", clip.name, err)
            frames = None
        if frames is not None:
            for m in markers:
                m["frame"] = frames.nearest_index((m["t_s"] - clip.start_t_s) / scale)
            for s in strides:
                for kind in ("contact", "midstance", "toe_off"):
                    t = s[f"{kind}_t_s"]
                    s[f"{kind}_frame"] = None if t is None else frames.nearest_index((t - clip.start_t_s) / scale)
            times = frames.times_s
            fps = (len(times) - 1) / times[-1] if len(times) > 1 and times[-1] > 0 else 0.0
            clip_info = {
                "id": clip.id, "name": clip.name, "frames": frames.frame_count, "fps": round(fps, 3),
                "width_px": clip.width_px, "height_px": clip.height_px, "duration_s": round(times[-1], 3),
                "start_t_s": clip.start_t_s, "time_scale": scale,
                "frames_url": url_for("replay.clip_frames", clip_id=clip.id),
                "frame_url": url_for("replay.clip_frame", clip_id=clip.id, index=0).rsplit("/", 1)[0] + "/",
                "download_url": url_for("replay.clip_download", clip_id=clip.id),
                "has_keypoints": bool(sidecar.get("keypoints")),
            }
    counts = {v: sum(1 for s in strides if s["verdict"] == v) for v in ("go", "no_go", "unsure")}
    return {
        "schema": 1,
        "run": {"id": run.id, "session_id": run.session_id, "started_at_s": run.started_at_s,
                "start_t_s": run.start_t_s, "end_t_s": run.end_t_s, "trigger": run.trigger,
                "direction": run.direction},
        "initiation": initiation,
        "strides": strides,
        "markers": markers,
        "clip": clip_info,
        "summary": {"strides": len(strides), **counts},
    }


# ---------------------------------------------------------------- pages

@bp.get("/")
def sessions() -> str:
    deps = deps_of(current_app)
    rows = []
    with open_store(deps) as store:
        if store is not None:
            runs = store.runs()
            clip_runs = {c.run_id for c in store.clips() if c.run_id is not None}
            for s in reversed(store.sessions()):
                srun = []
                for r in (r for r in runs if r.session_id == s.id):
                    strides = store.strides(r.id)
                    srun.append({"run": r, "strides": len(strides), "has_clip": r.id in clip_runs,
                                 "go": sum(1 for x in strides if x.verdict == "go"),
                                 "no_go": sum(1 for x in strides if x.verdict == "no_go"),
                                 "initiation": r.initiation})
                rows.append({"session": s, "runs": srun})
        space = disk_space(deps.recordings_dir if deps.recordings_dir.exists() else deps.state_dir, store,
                           deps.config.retention if deps.config is not None else None)
    return render_template("sessions.html", sessions=rows, has_db=deps.db_path.is_file(), space=space)


def _run_or_404(run_id: int) -> dict[str, Any]:
    """The run's replay data (strides, events, clip) from a fresh read-only store, or a 404."""
    deps = deps_of(current_app)
    with open_store(deps) as store:
        data = run_data(deps, store, run_id) if store is not None else None
    if data is None:
        abort(404, "no such run")
    return data


@bp.get("/run/<int:run_id>")
def run_page(run_id: int) -> str:
    data = _run_or_404(run_id)
    return render_template("replay.html", data=data)


@bp.get("/run/<int:run_id>.json")
def run_json(run_id: int) -> Response:
    data = _run_or_404(run_id)
    resp = jsonify(data)
    resp.headers["Content-Disposition"] = f'inline; filename="leancam-run-{run_id}.json"'
    return resp


@bp.get("/run/<int:run_id>.csv")
def run_csv(run_id: int) -> Response:
    data = _run_or_404(run_id)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["stride", *STRIDE_FIELDS, "reasons"])
    for s in data["strides"]:
        w.writerow([s["index"], *("" if s[f] is None else s[f] for f in STRIDE_FIELDS), " ".join(s["reasons"])])
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="leancam-run-{run_id}.csv"'})


def _clip_or_404(clip_id: int) -> tuple[Any, Path, dict[str, Any]]:
    deps = deps_of(current_app)
    with open_store(deps) as store:
        clip = store.clip(clip_id) if store is not None else None
    if clip is None:
        abort(404, "no such clip")
    path = safe_clip_path(deps, clip.video_file)
    if path is None:
        abort(404, "clip file missing")
    return clip, path, _sidecar(deps, clip)


@bp.get("/clip/<int:clip_id>/frames.json")
def clip_frames(clip_id: int) -> Response:
    """Frame times and, when recorded, keypoints per frame (x, y in 0..1 of the frame, visibility)."""
    clip, path, sidecar = _clip_or_404(clip_id)
    try:
        frames = _frame_cache(current_app).get(path)
    except BadInputError as err:
        abort(404, str(err))
    keypoints: list[Any] = [None] * frames.frame_count
    for kp in sidecar.get("keypoints") or []:
        lms = kp.get("landmarks")
        if not lms or not kp.get("w") or not kp.get("h"):
            continue
        i = frames.nearest_index(float(kp["t_s"]) - clip.start_t_s)
        w, h = float(kp["w"]), float(kp["h"])
        keypoints[i] = [[round(p[0] / w, 4), round(p[1] / h, 4), round(p[3], 2)] for p in lms]
    return jsonify({"frames": frames.frame_count, "times_s": [round(t, 4) for t in frames.times_s],
                    "keypoints": keypoints})


@bp.get("/clip/<int:clip_id>/frame/<int:index>.jpg")
def clip_frame(clip_id: int, index: int) -> Response:
    _, path, _ = _clip_or_404(clip_id)
    try:
        jpeg = _frame_cache(current_app).get(path).jpeg(index)
    except (IndexError, BadInputError) as err:
        abort(404, str(err))
    except av.error.FFmpegError as err:  # a damaged frame in an otherwise readable clip
        log.warning("clip %d frame %d: %s", clip_id, index, err)
        abort(404, f"frame {index} could not be decoded")
    return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/clip/<int:clip_id>/download")
def clip_download(clip_id: int) -> Response:
    clip, path, _ = _clip_or_404(clip_id)
    return send_file(path, as_attachment=True, download_name=f"leancam-{clip.name}{path.suffix}", conditional=True)
