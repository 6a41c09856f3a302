"""``leancam eval``: detected events against hand labels, for one clip or pooled over many.

- ``leancam eval VIDEO LABELS.csv``: one clip, one table per event type (as before).
- ``leancam eval CLIP|FOLDER ...`` / ``leancam eval --set validation``: many clips, one pooled table
  plus one line per clip (``appliance.analysis.clip_eval``); labels found by sha256 or beside the
  clip, sets from tests/data/labels/sets.json (``appliance.analysis.clip_sets``).

``--keypoints-dir DIR`` reads ``DIR/<clip stem>.jsonl`` (``leancam pose CLIP --out``) instead of
running the pose model, so a whole set is re-scored in seconds after a change to the analysis.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from appliance import paths
from appliance.analysis.analyzer import StreamingAnalyzer, analyze_frames, median_fps
from appliance.analysis.clip_eval import ClipReport, ClipSpec, evaluate_clip, format_clips, format_pooled, pool
from appliance.analysis.clip_sets import clips_from_paths, find_labels, load_index, load_set, resolve_conventions
from appliance.analysis.clips import analyze_clip, check_capture_fps, drop_frames, load_frames
from appliance.analysis.evaluation import detections_of, feet_line, format_table, read_labels, score, undecidable_labels
from appliance.analysis.gait.events import FrameSample
from appliance.analysis.gait.extrema import extrema_events
from appliance.analysis.gait.tracker import GaitTracker, contact_lag_frames, decision_lag_frames
from appliance.commands import add_common
from appliance.config import Config, load_config
from appliance.errors import BadInputError
from appliance.pose.types import PoseFrame

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval", help="compare detected events with labels: one clip, a folder, a list, or a named set",
        description="Match detected initiation / contact / midstance / toe-off events to frame,event,foot labels "
                    "(0-based frames). VIDEO LABELS.csv scores one clip per event type; clips, folders or "
                    "--set NAME print one pooled table and one line per clip (recall, extra, median error, "
                    "initiation, cadence, strides judged, verdict agreement). See docs/analysis.md.")
    p.add_argument("inputs", nargs="*", type=Path, metavar="CLIP",
                   help="VIDEO LABELS.csv, or clips and folders of clips (labels: by sha256 in "
                        "tests/data/labels/index.json, else <stem>.csv beside the clip)")
    p.add_argument("--set", dest="set_name", metavar="NAME",
                   help="score the clips of a named set (tuning, validation) from the sets file")
    p.add_argument("--sets", type=Path, metavar="SETS.json",
                   help="sets file (default tests/data/labels/sets.json)")
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help="where the set's clip paths are relative to (default ../shared/data)")
    p.add_argument("--keypoints-dir", type=Path, metavar="DIR",
                   help="read DIR/<clip stem>.jsonl instead of running the pose model")
    p.add_argument("--json", action="store_true", help="print the per-clip and pooled scores as JSON")
    p.add_argument("--tolerance-ms", type=float, default=100.0,
                   help="largest |error| (real time) that still counts as a match (default 100 ms)")
    p.add_argument("--init-tolerance-frames", type=float, default=2.0,
                   help="initiation within this many analysed frames is a hit (default 2)")
    p.add_argument("--first-row-initiation", action="store_true",
                   help="also score the first label row as the initiation (sprint-start files: block clearance)")
    p.add_argument("--one-foot", action="store_true",
                   help="the labels follow one foot only: the other foot's steps are not extra")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="analyse every N-th frame only, as a camera at 1/N of the clip's rate would see it "
                        "(e.g. a 300 fps slow-motion clip with --capture-fps 300 --every 6: the appliance's 50 fps); "
                        "labels stay in the clip's frames")
    p.add_argument("--drop-every", type=int, default=0, metavar="N",
                   help="drop every N-th analysed frame before the analysis, as an appliance whose model falls "
                        "behind the camera does (its frame queue drops the oldest frame); a label next to a "
                        "dropped frame still counts (default 0: none dropped)")
    p.add_argument("--events", choices=("tracker", "extrema"), default="tracker",
                   help="contacts and toe-offs from the appliance's streaming tracker (default), or from "
                        "foot-vs-pelvis extrema (Zeni et al. 2008, offline) on the same foot tracks, to "
                        "compare the two methods; initiation and verdicts stay the tracker's")
    add_common(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.tolerance_ms <= 0:
        raise BadInputError("--tolerance-ms must be positive")
    if args.every < 1:
        raise BadInputError(f"--every must be 1 or more, got {args.every}")
    if args.drop_every != 0 and args.drop_every < 2:
        raise BadInputError(f"--drop-every must be 2 or more (0: off), got {args.drop_every}")
    check_capture_fps(args.capture_fps)
    single = (args.set_name is None and len(args.inputs) == 2 and args.inputs[1].suffix.lower() == ".csv")
    if single and not args.json:
        return run_single(args)
    if args.keypoints is not None and not single:
        raise BadInputError("--keypoints is for one clip (VIDEO LABELS.csv); use --keypoints-dir for many")
    if not args.inputs and args.set_name is None:
        raise BadInputError("name clips, folders, VIDEO LABELS.csv, or --set NAME")
    cfg = load_config(args.config)
    specs, label_paths = collect(args, single)
    reports = [evaluate(spec, label_paths.get(i), args, cfg) for i, spec in enumerate(specs)]
    pooled = pool([r for r in reports if not r.status.startswith("error")])
    if args.json:
        json.dump({"schema": 1, "set": args.set_name, "drop_every": args.drop_every,
                   "clips": [r.to_json() for r in reports],
                   "pooled": pooled.to_json()}, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        title = f"set {args.set_name}" if args.set_name else "clips"
        print(f"{title}: {len(reports)} clips, match tolerance ±{args.tolerance_ms:g} ms, "
              f"initiation ±{args.init_tolerance_frames:g} frames"
              + (f"; every {args.drop_every}th analysed frame dropped" if args.drop_every else ""))
        print(format_clips(reports))
        print()
        print(format_pooled(pooled))
    return 2 if any(r.status.startswith("error") for r in reports) else 0


def collect(args: argparse.Namespace, single: bool) -> tuple[list[ClipSpec], dict[int, tuple[Path, str]]]:
    """The clips to score and, per clip index, an explicit labels file (VIDEO LABELS.csv)."""
    specs: list[ClipSpec] = []
    explicit: dict[int, tuple[Path, str]] = {}
    cli = {"every": args.every, "capture_fps": args.capture_fps,
           "one_foot": True if args.one_foot else None,
           "first_row_initiation": True if args.first_row_initiation else None}
    if args.set_name is not None:
        data_dir = args.data_dir or paths.shared_data_dir()
        sets_file = args.sets or paths.test_data_dir() / "labels" / "sets.json"
        specs += load_set(sets_file, args.set_name, data_dir)
    if single:
        video, labels = args.inputs
        specs.append(ClipSpec(video.stem, str(video), **cli))
        explicit[len(specs) - 1] = (labels, "explicit")
    else:
        for clip in clips_from_paths(list(args.inputs)):
            specs.append(ClipSpec(clip.stem + (f"/every{args.every}" if args.every > 1 else ""), str(clip), **cli))
    return specs, explicit


def evaluate(spec: ClipSpec, explicit: tuple[Path, str] | None, args: argparse.Namespace, cfg: Config) -> ClipReport:
    """Analyse one clip and score it; a problem with this clip is its report's status, not an abort."""
    try:
        return _evaluate(spec, explicit, args, cfg)
    except BadInputError as err:
        log.debug("clip %s: %s", spec.name, err)
        return ClipReport(spec, f"error: {err}", None, None, None)


def _evaluate(spec: ClipSpec, explicit: tuple[Path, str] | None, args: argparse.Namespace,
              cfg: Config) -> ClipReport:
    video = Path(spec.path)
    labels = None
    if explicit is not None:
        spec = replace(spec, one_foot=bool(spec.one_foot), first_row_initiation=bool(spec.first_row_initiation))
        labels = read_labels(explicit[0], first_row_initiation=bool(spec.first_row_initiation))
    else:
        if not video.is_file():
            raise BadInputError(f"{video}: no such clip")
        labels_dir = paths.test_data_dir() / "labels"
        source = find_labels(video, labels_dir, load_index(labels_dir))
        spec = resolve_conventions(spec, source)
        if source is not None:
            labels = read_labels(source.path, first_row_initiation=bool(spec.first_row_initiation))
    keypoints = args.keypoints
    if args.keypoints_dir is not None:
        keypoints = args.keypoints_dir / f"{video.stem}.jsonl"
        if not keypoints.is_file():
            hint = "" if (args.keypoints_dir / "ALLDONE").exists() else " (still being computed?)"
            raise BadInputError(f"{keypoints}: no keypoints for this clip{hint}")
    frames = load_frames(video, keypoints, cfg.pose, spec.every)
    source_fps = median_fps([f.t_s for f in frames]) * spec.every if spec.every > 1 else None
    observed: list[tuple[GaitTracker, FrameSample]] = []

    def observe(analyzer: StreamingAnalyzer, frame: PoseFrame) -> None:
        tr = analyzer.tracker
        if tr.buffer and tr.buffer[-1].index == frame.index:
            observed.append((tr, tr.buffer[-1]))

    extrema = args.events == "extrema"
    result = analyze_frames(drop_frames(frames, args.drop_every), cfg, capture_fps=spec.capture_fps,
                            video_path=str(video), source_fps=source_fps, observe=observe if extrema else None)
    if extrema:
        kept = tuple(e for e in result.events if e.kind == "initiation")
        result = replace(result, events=kept + tuple(extrema_events(observed)))
    fps = result.video["fps"]
    if not fps:
        raise BadInputError(f"{video}: cannot tell the frame rate (fewer than 2 frames)")
    na: set = set()
    if labels is not None:
        frame_s = spec.every * result.time_scale / fps
        na = undecidable_labels(labels, {f.index for f in frames if f.landmarks is not None},
                                decision_lag_frames(cfg.gait, frame_s), spec.every,
                                contact_lag_frames(cfg.gait, frame_s))
    return evaluate_clip(spec, result, labels, na, args.tolerance_ms, args.init_tolerance_frames)


def run_single(args: argparse.Namespace) -> int:
    """``leancam eval VIDEO LABELS.csv``: the per-event-type table of one clip."""
    video, labels_path = args.inputs
    labels = read_labels(labels_path, first_row_initiation=args.first_row_initiation)
    cfg = load_config(args.config)
    args.video = video
    result, frames = analyze_clip(video, args.keypoints, args.capture_fps, cfg, args.every, args.drop_every)
    fps = result.video["fps"]
    if not fps:
        raise BadInputError(f"{video}: cannot tell the frame rate (fewer than 2 frames)")
    frame_ms = 1000.0 / fps * result.time_scale
    tol = max(1, round(args.tolerance_ms / frame_ms))
    detections, feet = detections_of(result.events)
    lag = decision_lag_frames(cfg.gait, args.every * frame_ms / 1000.0)
    contact_lag = contact_lag_frames(cfg.gait, args.every * frame_ms / 1000.0)
    na = undecidable_labels(labels, {f.index for f in frames if f.landmarks is not None}, lag, args.every, contact_lag)
    scores = score(detections, labels, frame_ms, tol, na, one_foot=args.one_foot, feet=feet)
    print(f"{video}: {result.video['frames']} frames at {fps} fps"
          + (f" (captured at {args.capture_fps} fps: 1 frame = {frame_ms:.1f} ms)" if args.capture_fps else
             f" (1 frame = {frame_ms:.1f} ms)") + f", match tolerance ±{tol} frames"
          + (f"; every {args.every}th frame analysed: {1000.0 / (args.every * frame_ms):.1f} fps of real time"
             if args.every > 1 else "")
          + (f"; every {args.drop_every}th frame dropped before the analysis ({result.video['frames']} of "
             f"{len(frames)} analysed)" if args.drop_every else ""))
    print(format_table(scores))
    if any(sc.undecidable for sc in scores):
        print(f"n/a: labels the causal analysis cannot decide yet: fewer than {lag} analysed frames with a pose follow "
              f"them ({contact_lag} after a contact; clip end, or the runner left the picture); not counted as missed")
    if args.one_foot:
        other = sum(sc.other_foot for sc in scores)
        print(f"one-foot labels: {other} unpaired detections taken as the other foot's steps (not extra)")
    named = feet_line(scores)
    if named:
        print(named)
    return 0
