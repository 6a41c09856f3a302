"""``leancam bench latency``: replay clips in real time through the live appliance and time each verdict.

Three intervals per verdict, on the host monotonic clock:
  capture → decision   the frame on which the verdict was decided became available → the analysis
                       returned it (queueing + pose + analysis of that frame);
  event → decision     the frame on which the event happened (toe-off, first step) → decision: adds
                       the analysis' decision lag (frames it waits to be sure);
  decision → LED       decision → the GPIO pins set.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
from gpiozero.pins.mock import MockFactory

from appliance import paths
from appliance.config import load_appliance_config
from appliance.feedback.controller import LatencySample
from appliance.live.app import LiveAppliance, RunOptions
from appliance.ops import assets
from appliance.pose.engine import PoseEngine

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("latency", help="capture → decision → LED latency on clips replayed in real time")
    p.add_argument("clips", nargs="*", type=Path,
                   help="clips to replay (default: the sprint starts in ../shared/data, else the running demo)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.set_defaults(func=run)


def default_clips() -> list[Path]:
    sprint = sorted((paths.shared_data_dir() / "sprint_starts").glob("b*.mp4"))
    return sprint or [assets.require("demo_run_clip", verify=False)]


def _stats_ms(values_s: list[float]) -> dict[str, float | None]:
    if not values_s:
        return {"median": None, "p95": None, "max": None}
    a = np.asarray(values_s) * 1000.0
    return {"median": round(float(np.median(a)), 2), "p95": round(float(np.percentile(a, 95)), 2),
            "max": round(float(a.max()), 2)}


def measure(clips: list[Path]) -> dict[str, object]:
    config = load_appliance_config()
    engine = PoseEngine.from_config(config.pose)
    samples: list[LatencySample] = []
    periods_s: list[float] = []
    dropped = processed = 0
    for clip in clips:
        engine.reset()
        app = LiveAppliance(RunOptions(source=f"file:{clip}", realtime=True, web=False), config=config,
                            pin_factory=MockFactory(), engine=engine)
        try:
            stats = app.run()
        finally:
            app.close()
        fps = app.source.info.fps if app.source else 0.0
        if fps:
            periods_s.append(1.0 / fps)
        samples.extend(app.feedback.latency)
        dropped += stats.frames_dropped
        processed += stats.frames_processed
        log.info("%s: %d verdicts, %d frames, %d dropped", clip.name, len(app.feedback.latency),
                 stats.frames_processed, stats.frames_dropped)
    period_s = float(np.median(periods_s)) if periods_s else 0.0
    c2d = [s.capture_to_decision_s for s in samples if s.capture_to_decision_s is not None]
    e2d = [s.event_to_decision_s for s in samples if s.event_to_decision_s is not None]
    d2l = [s.decision_to_led_s for s in samples]
    lag = [s.decided_frame_index - s.event_frame_index for s in samples]
    out: dict[str, object] = {
        "clips": [c.name for c in clips],
        "verdicts": len(samples),
        "frames_processed": processed,
        "frames_dropped": dropped,
        "frame_period_ms": round(period_s * 1000.0, 2),
        "capture_to_decision_ms": _stats_ms(c2d),
        "event_to_decision_ms": _stats_ms(e2d),
        "decision_to_led_ms": _stats_ms(d2l),
        "decision_lag_frames": {"median": float(np.median(lag)) if lag else None,
                                "max": int(max(lag)) if lag else None},
    }
    for key in ("capture_to_decision", "decision_to_led", "event_to_decision"):
        out[f"{key}_ms_p95"] = out[f"{key}_ms"]["p95"]  # type: ignore[index]
    return out


def run(args: argparse.Namespace) -> int:
    clips = args.clips or default_clips()
    result = measure(clips)
    if args.json:
        print(json.dumps(result))
        return 0
    period = result["frame_period_ms"] or float("nan")
    print(f"latency over {result['verdicts']} verdicts on {len(clips)} clip(s) replayed in real time "
          f"(frame period {period:.1f} ms; {result['frames_dropped']} of {result['frames_processed']} "
          "frames dropped)")
    print(f"{'interval':22s} {'median':>16s} {'p95':>16s} {'max':>16s}")
    for key, label in (("capture_to_decision_ms", "capture → decision"), ("event_to_decision_ms", "event → decision"),
                       ("decision_to_led_ms", "decision → LED")):
        row = result[key]
        cells = [f"{v:7.2f} ms {v / period:4.2f} fr" if v is not None else f"{'-':>16s}"
                 for v in (row["median"], row["p95"], row["max"])]  # type: ignore[index]
        print(f"{label:22s} {cells[0]:>16s} {cells[1]:>16s} {cells[2]:>16s}")
    lag = result["decision_lag_frames"]
    print(f"decision lag (event frame → deciding frame): median {lag['median']} frames, max {lag['max']}")  # type: ignore[index]
    return 0
