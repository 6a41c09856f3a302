"""``leancam analyze VIDEO``: gait events and lean verdicts per stride (table, ``--json``, ``--csv``).

Keypoints come from our BlazePose engine (VideoFileSource → PoseEngine), or from a keypoints JSONL
(``--keypoints``, as written by ``leancam pose --out``) so analysis can be re-run without the model.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from appliance.analysis.analyzer import AnalysisResult, analyze_frames, median_fps
from appliance.config import Config, PoseConfig, load_config
from appliance.errors import BadInputError
from appliance.pose import keypoints_io
from appliance.pose.types import PoseFrame

log = logging.getLogger(__name__)

CSV_FIELDS = ("foot", "contact_t_s", "midstance_t_s", "toe_off_t_s", "hip_over_foot", "lean_deg",
              "pelvis_offset", "trunk_deg", "cadence_spm", "overstride", "speed_ll_s", "verdict", "reasons")


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--keypoints", type=Path, metavar="KP.jsonl",
                   help="read keypoints from this file instead of running the pose model")
    p.add_argument("--capture-fps", type=float, metavar="F",
                   help="real capture rate of a slow-motion clip (times and cadence are scaled to it)")
    p.add_argument("--config", type=Path, metavar="FILE.toml",
                   help="thresholds and [pose] model variants (default: built-in)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyze", help="find running initiation, contacts, midstance, toe-off; judge the lean",
                       description="Analyse a side-view running clip: per-stride events, lean metrics and "
                                   "verdicts (go / no_go / unsure). See docs/analysis.md for every field.")
    p.add_argument("video", type=Path, help="video file (used for its name when --keypoints is given)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the JSON result (schema 1, docs/analysis.md)")
    out.add_argument("--csv", action="store_true", help="print one CSV row per stride")
    out.add_argument("--events", action="store_true",
                     help="print every event as it was decided: frame, time and decision lag")
    p.add_argument("--annotate", type=Path, metavar="OUT.mp4",
                   help="also write the video with skeleton, the foot→pelvis→head line coloured by verdict "
                        "and event labels")
    add_common(p)
    p.set_defaults(func=run)


def _engine_frames(video: Path, pose: PoseConfig | None = None, every: int = 1) -> Iterator[PoseFrame]:
    from appliance.pose.engine import PoseEngine  # the model is loaded only when needed
    from appliance.sources.video_file import VideoFileSource

    engine = PoseEngine.from_config(pose or PoseConfig())
    with VideoFileSource(video) as source:
        for frame in source.frames():
            # The engine sees only the kept frames: it tracks at the lower rate, as a camera at it would.
            if frame.index % every == 0:
                yield engine.process(frame)


def load_frames(video: Path, keypoints: Path | None, pose: PoseConfig | None = None,
                every: int = 1) -> list[PoseFrame]:
    """Pose frames of ``video``: from ``keypoints`` if given, else by running our engine.

    ``every`` > 1 keeps every N-th frame only (source indices and times kept): a high-speed clip
    seen as a camera at 1/N of its rate would see it.
    """
    if keypoints is not None:
        if not keypoints.is_file():
            raise BadInputError(f"{keypoints}: no such keypoints file")
        try:
            _, frames = keypoints_io.read(keypoints)
            out = list(frames)
        except (json.JSONDecodeError, KeyError, ValueError, TypeError) as err:
            raise BadInputError(f"{keypoints}: corrupt keypoints file ({err.__class__.__name__})") from err
        if not out:
            raise BadInputError(f"{keypoints}: contains no frames")
        return [f for f in out if f.index % every == 0]
    if not video.is_file():
        raise BadInputError(f"{video}: no such file")
    return list(_engine_frames(video, pose, every))


def check_capture_fps(value: float | None) -> float | None:
    if value is not None and not value > 0:
        raise BadInputError(f"--capture-fps must be positive, got {value}")
    return value


def run_analysis(args: argparse.Namespace) -> AnalysisResult:
    return run_analysis_frames(args)[0]


def run_analysis_frames(args: argparse.Namespace, every: int = 1,
                        cfg: Config | None = None) -> tuple[AnalysisResult, list[PoseFrame]]:
    """Analyse ``args.video`` (or ``args.keypoints``) with ``cfg`` (default: ``args.config``)."""
    capture = check_capture_fps(args.capture_fps)
    cfg = cfg if cfg is not None else load_config(args.config)
    frames = load_frames(args.video, args.keypoints, cfg.pose, every)
    # The clip's own frame rate, not the kept frames': frame indices and --capture-fps refer to it.
    source_fps = median_fps([f.t_s for f in frames]) * every if every > 1 else None
    return analyze_frames(frames, cfg, capture_fps=capture, video_path=str(args.video),
                          source_fps=source_fps), frames


def write_annotated(video: Path, out: Path, frames: list[PoseFrame], result: AnalysisResult) -> None:
    from appliance.analysis.annotate import annotate
    from appliance.recording.h264 import Mp4Writer
    from appliance.sources.video_file import VideoFileSource

    with VideoFileSource(video) as source:
        info = source.info
        with Mp4Writer(out, info.fps or 30.0, info.width_px, info.height_px) as writer:
            for img in annotate(source.frames(), frames, result):
                writer.write(img)


def format_table(result: AnalysisResult) -> str:
    lines = []
    v = result.video
    lines.append(f"{v['path']}: {v['frames']} frames, {v['fps']} fps, {v['width']}×{v['height']}"
                 + (f", captured at {v['capture_fps']} fps" if "capture_fps" in v else ""))
    direction = "left→right" if result.direction > 0 else "right→left"
    lines.append(f"gait: {result.gait or 'no steps found'}, direction {direction}, "
                 f"pose found in {result.frames_with_pose}/{v['frames']} frames")
    if result.start is not None:
        s = result.start.to_json()
        lines.append(f"initiation at {s['t_s']:.3f} s: lean {s['lean_deg']}°, pelvis offset "
                     f"{s['pelvis_offset']}, {s['verdict']} {' '.join(s['reasons'])}")
    else:
        lines.append("initiation: none (no still start seen)")
    if result.strides:
        lines.append(f"{'foot':5s} {'contact':>7s} {'mid':>7s} {'toe-off':>7s} {'lean°':>6s} {'pelv':>6s} "
                     f"{'trunk°':>6s} {'hip/ft':>6s} {'spm':>4s} {'overst':>6s} {'LL/s':>5s}  verdict")
        for st in result.strides:
            d = st.to_json()
            cad = "-" if d["cadence_spm"] is None else str(d["cadence_spm"])
            lines.append(f"{d['foot']:5s} {d['contact_t_s']:7.3f} {d['midstance_t_s']:7.3f} {d['toe_off_t_s']:7.3f} "
                         f"{d['lean_deg']:6.1f} {d['pelvis_offset']:6.2f} {d['trunk_deg']:6.1f} "
                         f"{d['hip_over_foot']:6.2f} {cad:>4s} {d['overstride']:6.2f} {d['speed_ll_s']:5.2f}  "
                         f"{d['verdict']} {' '.join(d['reasons'])}")
    summary = result.to_json()["summary"]
    lines.append(f"summary: {summary['strides']} strides: {summary['go']} go, {summary['no_go']} no_go, "
                 f"{summary['unsure']} unsure")
    return "\n".join(lines)


def format_events(result: AnalysisResult) -> str:
    lines = [f"{'event':10s} {'foot':5s} {'frame':>5s} {'t_s':>7s} {'decided':>7s} {'lag fr':>6s} {'lag ms':>6s}"]
    for e in result.events:
        lines.append(f"{e.kind:10s} {e.foot:5s} {e.frame_index:5d} {e.t_s:7.3f} {e.decided_frame_index:7d} "
                     f"{e.lag_frames:6d} {e.lag_s * 1000:6.0f}")
    return "\n".join(lines)


def format_csv(result: AnalysisResult) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for st in result.strides:
        d = st.to_json()
        d["reasons"] = ";".join(d["reasons"])
        w.writerow({k: d[k] for k in CSV_FIELDS})
    return buf.getvalue()


def run(args: argparse.Namespace) -> int:
    if args.annotate is not None and not args.annotate.parent.is_dir():
        raise BadInputError(f"{args.annotate.parent}: output folder does not exist")
    result, frames = run_analysis_frames(args)
    # The result is printed before the video is written: a full disk then costs the video, not the
    # analysis the user waited for.
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    elif args.csv:
        sys.stdout.write(format_csv(result))
    elif args.events:
        print(format_events(result))
    else:
        print(format_table(result))
    if args.annotate is not None:
        sys.stdout.flush()
        write_annotated(args.video, args.annotate, frames, result)
    return 0
