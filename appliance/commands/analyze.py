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
from pathlib import Path

from appliance.analysis.analyzer import AnalysisResult
from appliance.analysis.clips import analyze_clip
from appliance.commands import add_common
from appliance.config import load_config
from appliance.errors import BadInputError, check_output_file
from appliance.pose.types import PoseFrame

log = logging.getLogger(__name__)

CSV_FIELDS = ("foot", "contact_t_s", "midstance_t_s", "toe_off_t_s", "hip_over_foot", "lean_deg",
              "pelvis_offset", "trunk_deg", "cadence_spm", "overstride", "speed_ll_s", "verdict", "reasons")


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
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="analyse every N-th frame only, as a camera at 1/N of the clip's rate would see it "
                        "(e.g. a 300 fps slow-motion clip with --capture-fps 300 --every 6: the appliance's "
                        "50 fps); times stay the clip's")
    add_common(p)
    p.set_defaults(func=run)


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
    gait = result.gait or ("not told yet (first strides only)" if result.strides else "no steps found")
    lines.append(f"gait: {gait}, direction {direction}, "
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
    if args.annotate is not None:
        check_output_file(args.annotate)
    every = getattr(args, "every", 1)
    if every < 1:
        raise BadInputError(f"--every must be 1 or more, got {every}")
    if every > 1 and args.annotate is not None:
        raise BadInputError("--annotate draws every frame of the video: use it without --every")
    result, frames = analyze_clip(args.video, args.keypoints, args.capture_fps, load_config(args.config), every)
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
