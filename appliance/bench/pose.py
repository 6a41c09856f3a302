"""``leancam bench pose [CLIP ...]``: our pose engine against MediaPipe on the same decoded frames.

Everything comes from one run, so the ratios hold even on a busy machine:

1. **Pipeline** (configured variants): each clip is decoded (PyAV, timed apart) →
   ``PoseEngine.process`` → ``StreamingAnalyzer.push`` (analysis), as ``leancam analyze`` runs it;
   the decoded frames are written to a temporary raw file as they go (not timed).
2. **Pose stage** (``ours_fps``), alternating clip by clip with step 3: the engine again, on the
   raw decoded frames read back one by one,
   with nothing else running, as a camera delivers them and exactly as MediaPipe gets them. Measured
   apart from step 1 because FFmpeg decodes ahead in its own threads: on a 2-core machine those
   threads slow every invoke() of step 1 by ~30 %. The engine counts the time spent inside the
   models' ``invoke()``, so ``pipeline_over_raw`` = pose stage ÷ the invokes it actually made,
   and the time of each step around them (crop, normalisation, post-processing, detector work,
   tracking: ``stage_ms_per_frame``).
3. **MediaPipe**: ``mp.solutions.pose.Pose`` (model_complexity=1, smooth_landmarks=False, video
   mode) on the same raw frames, in a separate interpreter (mediapipe 0.10.14 needs numpy < 2;
   ``appliance/bench/mediapipe_worker.py``).
4. **Raw invoke**: every selectable variant of each model, invoke() alone on a real input from the
   run (last crop / letterboxed frame), interleaved round by round after warm-up, median.

The first frame of each clip is left out of every time on both sides (one-off initialisation:
XNNPACK weight packing, MediaPipe's graph start). Peak RSS is the process's maximum resident set
after steps 1-2 (one engine loaded), before the other variants are loaded for step 4.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import astuple, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from appliance import paths
from appliance.analysis.analyzer import LIVE_KEEP, StreamingAnalyzer
from appliance.config import Config, PoseConfig, load_config
from appliance.errors import BadInputError, ModelError, OutputError, check_input_file, output_error
from appliance.ops import assets
from appliance.pose import variants
from appliance.pose.detector import PoseDetector
from appliance.pose.engine import PoseEngine, StageTimes, landmark_of
from appliance.pose.landmarks import LandmarkModel
from appliance.sources.base import Frame
from appliance.sources.video_file import VideoFileSource

log = logging.getLogger(__name__)

WARMUP_ROUNDS = 5
GOAL_RATIO_VS_MEDIAPIPE = 2.0  # issue 8
GOAL_PIPELINE_OVER_RAW = 1.10  # issue 8
MEDIAPIPE_INSTALL = "run ./setup.sh bench (creates .venv-bench with mediapipe==0.10.14 \"numpy<2\") " \
                    "or pass --mediapipe-python PATH"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pose", help="pose speed: raw invoke per variant, pipeline fps, ours ÷ MediaPipe, RSS",
                       description="Decode each clip once, run our engine (decode → pose → analysis) and "
                                   "MediaPipe's mp.solutions.pose on the same frames, time invoke() of every "
                                   "model variant, and print the ratios (all from one run).")
    p.add_argument("clips", nargs="*", type=Path, help="clips (default: the walking demo clip, models/demo/demo.mp4)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--frames", type=int, metavar="N", help="at most N frames per clip (default: all)")
    p.add_argument("--rounds", type=int, default=50, help="raw-invoke rounds per variant (default 50)")
    p.add_argument("--config", type=Path, metavar="FILE.toml",
                   help="[pose] variants and threads for the pipeline (default: built-in)")
    p.add_argument("--threads", type=int, help="inference threads (default: the config's pose.num_threads)")
    p.add_argument("--mediapipe-python", type=Path, metavar="PATH",
                   help="interpreter with mediapipe 0.10.14 (default: .venv-bench in the repo, else "
                        "/work/.venv-ref/bin/python); 'none' skips MediaPipe")
    p.set_defaults(func=run)


def default_mediapipe_python() -> Path | None:
    for candidate in (paths.REPO_ROOT / ".venv-bench" / "bin" / "python", Path("/work/.venv-ref/bin/python")):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


@dataclass
class ClipRun:
    """Our pipeline on one clip; times exclude the first frame (initialisation)."""

    name: str
    width_px: int
    height_px: int
    raw_path: Path
    fps: float
    frames: int = 0
    timed_frames: int = 0
    with_pose: int = 0
    detector_runs: int = 0
    decode_s: float = 0.0
    pipeline_pose_s: float = 0.0  # pose inside the decode → pose → analysis pass
    analysis_s: float = 0.0
    pose_s: float = 0.0  # pose stage on the raw frames (step 2)
    invoke_s: float = 0.0  # of which inside invoke()
    steps: StageTimes | None = None  # the pose stage's step times (step 2)
    pose_times_s: list[float] = field(default_factory=list)


RAW_HINT = ("; the bench keeps every clip's decoded frames (width × height × 3 bytes a frame) until it ends: "
            "set TMPDIR to a disk with room, or pass --frames N")
RAW_MARGIN_BYTES = 64 * 1024 * 1024  # room left for everything else on that disk


def raw_bytes_needed(clips: list[Path], max_frames: int | None) -> int:
    """Bytes of decoded RGB frames the bench will keep (clips of unknown length count 0)."""
    need = 0
    for clip in clips:
        with VideoFileSource(clip) as source:  # also refuses a bad clip before anything is decoded
            info = source.info
        frames = info.frame_count if max_frames is None else min(info.frame_count or max_frames, max_frames)
        need += info.width_px * info.height_px * 3 * (frames or 0)
    return need


def raw_dir_candidates() -> list[Path]:
    """$TMPDIR when the user set it; else the system temp dir, /var/tmp and LeanCam's cache dir.

    A Pi's /tmp is often a RAM disk (half the RAM on Raspberry Pi OS Trixie): the demo clip alone
    needs 1.2 GB of raw frames, so the disk-backed places are tried next.
    """
    if os.environ.get("TMPDIR"):
        return [Path(os.environ["TMPDIR"])]
    return [Path(tempfile.gettempdir()), Path("/var/tmp"), paths.cache_dir() / "bench"]


def choose_raw_dir(need_bytes: int, candidates: list[Path]) -> Path:
    """The first candidate with room for ``need_bytes`` (plus a margin), or an OutputError listing them."""
    free: list[str] = []
    for place in candidates:
        try:
            place.mkdir(parents=True, exist_ok=True)
            room = shutil.disk_usage(place).free
        except OSError as err:
            free.append(f"{place} unusable ({err.strerror or err})")
            continue
        if room >= need_bytes + RAW_MARGIN_BYTES:
            return place
        free.append(f"{place} {room / 1e6:.0f} MB free")
    raise OutputError(f"{need_bytes / 1e6:.0f} MB needed for the decoded frames, but {'; '.join(free)}{RAW_HINT}")


def run_pipeline(engine: PoseEngine, cfg: Config, clip: Path, raw_path: Path, max_frames: int | None) -> ClipRun:
    """Decode → pose → analysis over ``clip``, writing each decoded frame to ``raw_path``."""
    engine.reset()
    with VideoFileSource(clip) as source:
        try:
            raw = raw_path.open("wb", buffering=0)  # 1-6 MB writes: no buffer, so close() cannot fail a flush
        except OSError as err:
            raise output_error(raw_path, err, RAW_HINT) from err
        with raw:
            return _run_pipeline(engine, cfg, source, raw, max_frames)


def _run_pipeline(engine: PoseEngine, cfg: Config, source: VideoFileSource, raw: BinaryIO,
                  max_frames: int | None) -> ClipRun:
    info = source.info
    out = ClipRun(info.name, info.width_px, info.height_px, Path(raw.name), info.fps or 30.0)
    analyzer = StreamingAnalyzer(cfg, source_fps=info.fps or None, keep=LIVE_KEEP)
    frames = source.frames()
    while max_frames is None or out.frames < max_frames:
        t0 = time.perf_counter()
        frame = next(frames, None)
        t1 = time.perf_counter()
        if frame is None:
            break
        pf = engine.process(frame)
        t2 = time.perf_counter()
        analyzer.push(pf)
        t3 = time.perf_counter()
        if frame.rgb.shape[:2] != (out.height_px, out.width_px):
            raise BadInputError(f"{source.path}: frame size changes mid-clip; the bench needs one size")
        try:
            raw.write(np.ascontiguousarray(frame.rgb).data)  # for MediaPipe; not timed
        except OSError as err:
            raise output_error(out.raw_path, err, RAW_HINT) from err
        out.frames += 1
        out.with_pose += pf.has_pose
        if out.frames == 1:
            continue  # initialisation: left out of every time
        out.timed_frames += 1
        out.decode_s += t1 - t0
        out.pipeline_pose_s += t2 - t1
        out.analysis_s += t3 - t2
    if out.frames < 2:
        raise BadInputError(f"{source.path}: fewer than 2 frames decoded; nothing to time")
    return out


def run_pose_stage(engine: PoseEngine, run: ClipRun) -> None:
    """The engine alone on the raw decoded frames (read back with a copy each, as MediaPipe's side does)."""
    engine.reset()
    det, lm = engine.detector, engine.landmarks
    size = run.height_px * run.width_px * 3
    with run.raw_path.open("rb") as raw:
        for i in range(run.frames):
            rgb = np.fromfile(raw, dtype=np.uint8, count=size).reshape(run.height_px, run.width_px, 3)
            frame = Frame(i, i / run.fps, rgb)
            inv0, runs0 = det.invoke_s + lm.invoke_s, engine.stats.detector_runs
            t0 = time.perf_counter()
            engine.process(frame)
            dt = time.perf_counter() - t0
            if i == 0:
                start = engine.times()
                continue  # initialisation: left out, as in step 1
            run.pose_s += dt
            run.pose_times_s.append(dt)
            run.invoke_s += det.invoke_s + lm.invoke_s - inv0
            run.detector_runs += engine.stats.detector_runs - runs0
    if run.frames > 1:
        run.steps = engine.times() - start


def stage_breakdown_ms(runs: list[ClipRun], frames: int) -> dict[str, float]:
    """Pose stage per frame, step by step (ms); ``tracking`` is what the named steps leave over.

    The steps are timed inside the engine around each call, so they add up to the stage's total
    (``pose_ms_per_frame``) up to rounding.
    """
    steps = [astuple(r.steps) for r in runs if r.steps is not None]
    if not steps:
        return {}
    total = StageTimes(*(sum(v) for v in zip(*steps, strict=True)))
    pose_s = sum(r.pose_s for r in runs)
    named = total.crop_s + total.normalize_s + total.landmark_invoke_s + total.landmark_post_s + total.detector_s
    parts = {
        "crop": total.crop_s, "normalize": total.normalize_s, "landmark_invoke": total.landmark_invoke_s,
        "landmark_post": total.landmark_post_s, "detector_invoke": total.detector_invoke_s,
        "detector_other": total.detector_s - total.detector_invoke_s, "tracking": pose_s - named,
    }
    return {k: round(v / frames * 1000.0, 3) for k, v in parts.items()}


def run_mediapipe(python: Path | None, runs: list[ClipRun]) -> dict[str, Any]:
    """MediaPipe on the raw frames in a separate interpreter; ``{"available": False, "reason": …}`` if absent."""
    if python is None:
        return {"available": False, "reason": f"no interpreter with mediapipe found: {MEDIAPIPE_INSTALL}"}
    if str(python) == "none":
        return {"available": False, "reason": "skipped (--mediapipe-python none)"}
    worker = Path(__file__).with_name("mediapipe_worker.py")
    specs = [f"{r.raw_path}:{r.frames}:{r.height_px}:{r.width_px}" for r in runs]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ log lines would drown the table
    try:
        proc = subprocess.run([str(python), str(worker), *specs], capture_output=True, text=True, env=env,
                              timeout=3600, check=False)
    except OSError as err:
        return {"available": False, "reason": f"{python}: cannot run ({err.strerror or err}); {MEDIAPIPE_INSTALL}"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"available": False, "reason": f"{python}: {tail[:200]}; {MEDIAPIPE_INSTALL}"}
    out = json.loads(lines[-1])
    out["available"] = True
    out["python"] = str(python)
    return out


def raw_invoke_ms(rounds: int, crop: np.ndarray, canvas: np.ndarray, threads: int) -> dict[str, dict[str, float]]:
    """Median invoke() ms of every selectable variant of every model, interleaved round by round.

    Both landmark models (full and lite profile) are timed in the same rounds on the same crop, so
    lite ÷ full is a ratio from one run (issue 19), fair however loaded the machine is.
    """
    models: list[tuple[str, str, Any, np.ndarray]] = []
    for name in variants.choices("detector"):
        models.append(("detector", name, PoseDetector(variants.resolve("detector", name), threads), canvas))
    for model in ("landmark", "landmark_lite"):
        for name in variants.choices(model):
            try:
                path = variants.resolve(model, name)
            except ModelError as err:  # the lite original is optional (fetched with npm): time the rest
                log.warning("raw invoke: %s %s left out: %s", model, name, err)
                continue
            models.append((model, name, LandmarkModel(path, threads), crop))
    times: dict[tuple[str, str], list[float]] = {(m, n): [] for m, n, _, _ in models}
    for r in range(WARMUP_ROUNDS + rounds):
        for model, name, wrapper, image in models:
            t0 = time.perf_counter()
            wrapper.invoke_on(image)
            dt = time.perf_counter() - t0
            if r >= WARMUP_ROUNDS:
                times[(model, name)].append(dt)
    out: dict[str, dict[str, float]] = {"detector": {}, "landmark": {}, "landmark_lite": {}}
    for (model, name), ts in times.items():
        out[model][name] = round(statistics.median(ts) * 1000.0, 3)
    return out


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None else round(x, nd)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 3)


def measure(clips: list[Path], pose_cfg: PoseConfig, cfg: Config, max_frames: int | None, rounds: int,
            threads: int, mediapipe_python: Path | None) -> dict[str, Any]:
    # Room for the raw frames is checked first: minutes of decoding must not end in a full disk.
    raw_dir = choose_raw_dir(raw_bytes_needed(clips, max_frames), raw_dir_candidates())
    log.info("decoded frames go to %s while the bench runs", raw_dir)
    engine = PoseEngine.from_config(pose_cfg, num_threads=threads)
    with tempfile.TemporaryDirectory(prefix="leancam-bench-", dir=raw_dir) as tmp:
        runs = [run_pipeline(engine, cfg, clip, Path(tmp) / f"{i}.rgb", max_frames) for i, clip in enumerate(clips)]
        # Ours and MediaPipe alternate clip by clip: on a shared machine the load drifts over minutes,
        # and a ratio is only fair when both sides ran under the same conditions.
        mp_parts = []
        for r in runs:
            run_pose_stage(engine, r)
            mp_parts.append(run_mediapipe(mediapipe_python, [r]))
            if not mp_parts[-1].get("available"):
                break  # no MediaPipe: do not retry it for every clip
        for r in runs[len(mp_parts):]:
            run_pose_stage(engine, r)
        peak_rss_mb = _peak_rss_mb()
        # Real inputs for the raw-invoke loop: the last crop and letterboxed frame the engine made.
        crop, canvas = engine.landmarks.crop.copy(), engine.detector.canvas.copy()
        mp = dict(mp_parts[-1])
        if mp.get("available"):
            mp["clips"] = [part["clips"][0] for part in mp_parts]
            mp["peak_rss_mb"] = max(part["peak_rss_mb"] for part in mp_parts)
    raw = raw_invoke_ms(rounds, crop, canvas, threads)

    n = sum(r.timed_frames for r in runs)
    decode_s, pose_s = sum(r.decode_s for r in runs), sum(r.pose_s for r in runs)
    pipeline_pose_s = sum(r.pipeline_pose_s for r in runs)
    analysis_s, invoke_s = sum(r.analysis_s for r in runs), sum(r.invoke_s for r in runs)
    det_runs = sum(r.detector_runs for r in runs)
    ours_fps = n / pose_s
    profile = engine.profile.profile if engine.profile is not None else "full"
    lm_model, lm_name = landmark_of(pose_cfg, profile)
    det_name = pose_cfg.detector
    # What the pose stage would cost if it were nothing but the isolated invokes it made.
    isolated_ms = raw[lm_model][lm_name] + raw["detector"][det_name] * det_runs / n
    result: dict[str, Any] = {
        "clips": [],
        "profile": profile,
        "variants": {"detector": det_name, "landmark": lm_name},
        # Lite ÷ full landmark invoke in the same rounds: the configured variants and the originals.
        "lite_over_full_invoke": {
            "configured": _ratio(raw["landmark_lite"].get(pose_cfg.landmark_lite),
                                 raw["landmark"].get(pose_cfg.landmark)),
            "original": _ratio(raw["landmark_lite"].get(variants.ORIGINAL), raw["landmark"].get(variants.ORIGINAL)),
        },
        "threads": threads,
        "frames": n,
        "detector_runs": det_runs,
        "decode_ms_per_frame": _r(decode_s / n * 1000.0),
        "pose_ms_per_frame": _r(pose_s / n * 1000.0, 3),
        "invoke_ms_per_frame": _r(invoke_s / n * 1000.0, 3),
        "analysis_ms_per_frame": _r(analysis_s / n * 1000.0, 3),
        "ours_fps": _r(ours_fps, 1),
        "pipeline_fps": _r(n / (decode_s + pipeline_pose_s + analysis_s), 1),
        "pipeline_pose_ms_per_frame": _r(pipeline_pose_s / n * 1000.0, 3),
        "pipeline_fps_without_decode": _r(n / (pose_s + analysis_s), 1),
        "pipeline_over_raw": _r(pose_s / invoke_s, 3),
        "pipeline_over_raw_isolated": _r(pose_s / n * 1000.0 / isolated_ms, 3),
        "stage_ms_per_frame": stage_breakdown_ms(runs, n),
        # What the goal leaves for everything outside invoke() at this run's invoke time.
        "overhead_budget_ms_per_frame": _r((GOAL_PIPELINE_OVER_RAW - 1.0) * invoke_s / n * 1000.0, 3),
        "raw_invoke_ms": raw,
        "raw_invoke_rounds": rounds,
        "mediapipe_fps": None,
        "ratio_vs_mediapipe": None,
        "peak_rss_mb": _r(peak_rss_mb, 1),
        "mediapipe": {k: v for k, v in mp.items() if k != "clips"},
        "goals": {"ratio_vs_mediapipe_min": GOAL_RATIO_VS_MEDIAPIPE, "pipeline_over_raw_max": GOAL_PIPELINE_OVER_RAW},
    }
    mp_clips = mp.get("clips") or [None] * len(runs)
    mp_total_s = 0.0
    for r, m in zip(runs, mp_clips, strict=True):
        row: dict[str, Any] = {
            "clip": r.name, "width_px": r.width_px, "height_px": r.height_px, "frames": r.frames,
            "frames_with_pose": r.with_pose, "detector_runs": r.detector_runs,
            "decode_ms_per_frame": _r(r.decode_s / r.timed_frames * 1000.0),
            "pose_ms_per_frame": _r(r.pose_s / r.timed_frames * 1000.0, 3),
            "pose_ms_p95": _r(float(np.percentile(r.pose_times_s, 95)) * 1000.0),
            "analysis_ms_per_frame": _r(r.analysis_s / r.timed_frames * 1000.0, 3),
            "ours_fps": _r(r.timed_frames / r.pose_s, 1),
            "pipeline_fps": _r(r.timed_frames / (r.decode_s + r.pipeline_pose_s + r.analysis_s), 1),
            "pipeline_over_raw": _r(r.pose_s / r.invoke_s, 3),
        }
        if m is not None:
            mp_s = sum(m["times_s"][1:])  # first frame left out, as on our side
            mp_total_s += mp_s
            row["mediapipe_frames_with_pose"] = m["found"]
            row["mediapipe_ms_per_frame"] = _r(mp_s / r.timed_frames * 1000.0, 3)
            row["mediapipe_fps"] = _r(r.timed_frames / mp_s, 1)
            row["ratio_vs_mediapipe"] = _r(row["ours_fps"] / row["mediapipe_fps"], 3)
        result["clips"].append(row)
    if mp.get("available"):
        result["mediapipe_fps"] = _r(n / mp_total_s, 1)
        result["ratio_vs_mediapipe"] = _r(result["ours_fps"] / result["mediapipe_fps"], 3)
        result["mediapipe_ms_per_frame"] = _r(mp_total_s / n * 1000.0, 3)
        result["mediapipe_peak_rss_mb"] = _r(mp.get("peak_rss_mb"), 1)
    return result


def format_table(res: dict[str, Any]) -> str:
    v = res["variants"]
    lines = [f"pose bench: {len(res['clips'])} clip(s), {res['frames']} timed frames (first frame of each left out); "
             f"ours = profile {res['profile']}: detector {v['detector']}, landmark {v['landmark']}, "
             f"{res['threads']} threads"]
    lines.append("")
    lines.append(f"raw invoke() ms, median of {res['raw_invoke_rounds']} interleaved rounds after warm-up "
                 "(× = ÷ original)")
    for model in ("detector", "landmark", "landmark_lite"):
        row = res["raw_invoke_ms"][model]
        base = row.get(variants.ORIGINAL)
        cells = [f"{name} {ms:.2f}" + (f" ({ms / base:.2f}×)" if base else "") for name, ms in row.items()]
        lines.append(f"  {model:9s} " + "   ".join(cells))
    lf = res["lite_over_full_invoke"]
    if lf["configured"] is not None:
        lines.append(f"  lite ÷ full landmark invoke (same rounds): configured variants {lf['configured']:.2f}×"
                     + (f", originals {lf['original']:.2f}×" if lf["original"] is not None else ""))
    lines.append("")
    hdr = (f"{'clip':22s} {'frames':>6s} {'posed':>5s} {'det':>4s} {'decode':>7s} {'pose':>7s} {'analys':>7s} "
           f"{'pipe fps':>8s} {'pose fps':>8s} {'pose/raw':>8s} {'MP ms':>7s} {'MP fps':>7s} {'ours/MP':>7s}")
    lines.append("per clip (ms per frame; pose = pose stage on decoded frames; pipe fps = decode + pose + analysis)")
    lines.append(hdr)
    for c in res["clips"]:
        mp_ms, mp_fps, ratio = (c.get("mediapipe_ms_per_frame"), c.get("mediapipe_fps"), c.get("ratio_vs_mediapipe"))
        lines.append(
            f"{c['clip'][:22]:22s} {c['frames']:6d} {c['frames_with_pose']:5d} {c['detector_runs']:4d} "
            f"{c['decode_ms_per_frame']:7.2f} {c['pose_ms_per_frame']:7.2f} {c['analysis_ms_per_frame']:7.3f} "
            f"{c['pipeline_fps']:8.1f} {c['ours_fps']:8.1f} {c['pipeline_over_raw']:8.3f} "
            + (f"{mp_ms:7.2f} {mp_fps:7.1f} {ratio:7.2f}" if mp_fps else f"{'-':>7s} {'-':>7s} {'-':>7s}"))
    lines.append("")
    lines.append(f"pose stage on decoded frames: {res['pose_ms_per_frame']:.2f} ms/frame, of which invoke() "
                 f"{res['invoke_ms_per_frame']:.2f}; analysis {res['analysis_ms_per_frame']:.3f} ms/frame")
    lines.append(f"full pipeline (decode → pose → analysis): {res['pipeline_fps']:.1f} fps; decode "
                 f"{res['decode_ms_per_frame']:.2f} ms/frame shown apart (pose {res['pipeline_pose_ms_per_frame']:.2f} "
                 f"ms/frame while FFmpeg decodes ahead); without decode {res['pipeline_fps_without_decode']:.1f} fps")
    st = res["stage_ms_per_frame"]
    if st:
        lines.append(f"pose stage step by step (ms/frame): crop {st['crop']:.3f} + normalise {st['normalize']:.3f} + "
                     f"landmark invoke {st['landmark_invoke']:.3f} + landmark post-processing "
                     f"{st['landmark_post']:.3f} + detector invoke {st['detector_invoke']:.3f} + detector other "
                     f"{st['detector_other']:.3f} + tracking {st['tracking']:.3f}")
        outside = res["pose_ms_per_frame"] - res["invoke_ms_per_frame"]
        lines.append(f"outside invoke(): {outside:.3f} ms/frame; the {GOAL_PIPELINE_OVER_RAW:.2f}× goal leaves "
                     f"{res['overhead_budget_ms_per_frame']:.3f} ms at this invoke time, of which the exact "
                     f"crop takes {st['crop'] / res['overhead_budget_ms_per_frame']:.0%}")
    ok = res["pipeline_over_raw"] <= GOAL_PIPELINE_OVER_RAW
    lines.append(f"pose stage ÷ raw invoke: {res['pipeline_over_raw']:.3f}× (invokes inside the stage; "
                 f"{res['pipeline_over_raw_isolated']:.3f}× vs the isolated medians) — goal ≤ "
                 f"{GOAL_PIPELINE_OVER_RAW:.2f}: {'met' if ok else 'NOT met'}")
    mp = res["mediapipe"]
    if res["mediapipe_fps"] is not None:
        ok = res["ratio_vs_mediapipe"] >= GOAL_RATIO_VS_MEDIAPIPE
        lines.append(f"mediapipe {mp.get('mediapipe')} (mp.solutions.pose, model_complexity=1, "
                     f"smooth_landmarks=False) on the same frames: {res['mediapipe_ms_per_frame']:.2f} ms/frame, "
                     f"{res['mediapipe_fps']:.1f} fps")
        lines.append(f"ours ÷ MediaPipe: {res['ours_fps']:.1f} / {res['mediapipe_fps']:.1f} fps = "
                     f"{res['ratio_vs_mediapipe']:.2f}× — goal ≥ {GOAL_RATIO_VS_MEDIAPIPE:.1f}×: "
                     f"{'met' if ok else 'NOT met'}")
    else:
        lines.append(f"mediapipe: not available ({mp.get('reason')})")
    rss = f"peak RSS: ours {res['peak_rss_mb']:.0f} MB"
    if res.get("mediapipe_peak_rss_mb") is not None:
        rss += f", MediaPipe process {res['mediapipe_peak_rss_mb']:.0f} MB"
    lines.append(rss)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if args.frames is not None and args.frames < 2:
        raise BadInputError("--frames must be at least 2 (the first frame is not timed)")
    if args.rounds < 1:
        raise BadInputError("--rounds must be positive")
    clips = args.clips or [assets.require("demo_clip", verify=False)]
    for clip in clips:
        check_input_file(clip)
    cfg = load_config(args.config)
    threads = args.threads or cfg.pose.num_threads
    mp_python = default_mediapipe_python() if args.mediapipe_python is None else args.mediapipe_python
    result = measure(clips, cfg.pose, cfg, args.frames, args.rounds, threads, mp_python)
    result["command"] = "leancam bench pose " + " ".join(sys.argv[3:]) if sys.argv[1:3] == ["bench", "pose"] else None
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(result))
    return 0
