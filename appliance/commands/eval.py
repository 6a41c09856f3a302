"""``leancam eval VIDEO LABELS.csv``: detected events against hand labels, per event type."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from appliance.analysis.clips import analyze_clip
from appliance.analysis.evaluation import format_table, read_labels, score, undecidable_labels
from appliance.analysis.gait.tracker import decision_lag_frames
from appliance.commands import add_common
from appliance.config import load_config
from appliance.errors import BadInputError

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="compare detected events with labels (matched, missed, extra, timing error)",
                       description="Match detected initiation / contact / midstance / toe-off events to a "
                                   "frame,event,foot CSV (0-based frames) and print per-event-type scores.")
    p.add_argument("video", type=Path)
    p.add_argument("labels", type=Path, metavar="LABELS.csv")
    p.add_argument("--tolerance-ms", type=float, default=100.0,
                   help="largest |error| (real time) that still counts as a match (default 100 ms)")
    p.add_argument("--first-row-initiation", action="store_true",
                   help="also score the first label row as the initiation (sprint-start files: block clearance)")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="analyse every N-th frame only, as a camera at 1/N of the clip's rate would see it "
                        "(e.g. a 300 fps slow-motion clip with --capture-fps 300 --every 6: the appliance's 50 fps); "
                        "labels stay in the clip's frames")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.tolerance_ms <= 0:
        raise BadInputError("--tolerance-ms must be positive")
    if args.every < 1:
        raise BadInputError(f"--every must be 1 or more, got {args.every}")
    labels = read_labels(args.labels, first_row_initiation=args.first_row_initiation)
    cfg = load_config(args.config)
    result, frames = analyze_clip(args.video, args.keypoints, args.capture_fps, cfg, args.every)
    fps = result.video["fps"]
    if not fps:
        raise BadInputError(f"{args.video}: cannot tell the frame rate (fewer than 2 frames)")
    frame_ms = 1000.0 / fps * result.time_scale
    tol = max(1, round(args.tolerance_ms / frame_ms))
    detections = [(e.kind, e.frame_index) for e in result.events]
    lag = decision_lag_frames(cfg.gait, args.every * frame_ms / 1000.0)
    na = undecidable_labels(labels, {f.index for f in frames if f.landmarks is not None}, lag, args.every)
    scores = score(detections, labels, frame_ms, tol, na)
    print(f"{args.video}: {result.video['frames']} frames at {fps} fps"
          + (f" (captured at {args.capture_fps} fps: 1 frame = {frame_ms:.1f} ms)" if args.capture_fps else
             f" (1 frame = {frame_ms:.1f} ms)") + f", match tolerance ±{tol} frames"
          + (f"; every {args.every}th frame analysed: {1000.0 / (args.every * frame_ms):.1f} fps of real time"
             if args.every > 1 else ""))
    print(format_table(scores))
    if any(sc.undecidable for sc in scores):
        print(f"n/a: labels the causal analysis cannot decide yet: fewer than {lag} analysed frames with a pose follow "
              "them (clip end, or the runner left the picture); not counted as missed")
    return 0
