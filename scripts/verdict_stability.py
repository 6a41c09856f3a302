"""Verdict stability of the analysis on saved keypoints: the issue-14 "steady runner" figures.

    .venv/bin/python scripts/verdict_stability.py ../shared/data/treadmill_male_side/male_side.mp4 \\
        --keypoints /tmp/kp/male_side.jsonl
    .venv/bin/python scripts/verdict_stability.py ../shared/data/treadmill_slowmo.mp4 \\
        --keypoints /tmp/kp/treadmill_slowmo.jsonl --capture-fps 300 --every 6
    .venv/bin/python scripts/verdict_stability.py ../shared/data/sprint_starts/b*.mp4 --noise

Prints per clip: strides, share judged (go or no_go), share of judged strides with the most common
verdict (agreement), sd of hip_over_foot over the judged strides, and the reason counts.
``--noise`` also prints each metric's event-timing sensitivity: the rms change when its sampling
frame moves by one frame (contact, midstance, push-off window), over the strides that pass the
gates — the timing half of the per-stride noise in ``[lean] noise_*`` (docs/analysis.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from appliance.analysis.analyzer import AnalysisResult, StrideResult, analyze_frames, median_fps
from appliance.analysis.lean.metrics import stride_metrics
from appliance.analysis.lean.verdict import stride_gate
from appliance.commands.analyze import load_frames
from appliance.config import Config, load_config


def stability(result: AnalysisResult) -> dict[str, float | int | str]:
    strides = result.strides
    judged = [s for s in strides if s.verdict in ("go", "no_go")]
    verdicts = Counter(s.verdict for s in judged)
    top = verdicts.most_common(1)[0][1] if judged else 0
    hof = [s.metrics.hip_over_foot for s in judged]
    return {"strides": len(strides), "judged": len(judged),
            "judged_pct": round(100 * len(judged) / len(strides), 1) if strides else 0.0,
            "agree_pct": round(100 * top / len(judged), 1) if judged else 0.0,
            "hof_sd": round(float(np.std(hof, ddof=1)), 3) if len(hof) > 1 else math.nan,
            "verdicts": " ".join(f"{k}={v}" for k, v in sorted(Counter(s.verdict for s in strides).items())),
            "reasons": " ".join(f"{k}={v}" for k, v in sorted(Counter(r for s in strides for r in s.reasons).items()))}


def timing_sensitivity(strides: tuple[StrideResult, ...], cfg: Config) -> dict[str, list[float]]:
    """Change of each metric when the contact is found one frame late (the stance starts a frame
    later, its midstance moves a frame) — what a 1-frame event error does."""
    out: dict[str, list[float]] = {k: [] for k in ("hip_over_foot", "pelvis_offset", "overstride", "lean_deg",
                                                   "trunk_minus_lean")}
    for s in strides:
        step = s.step
        if stride_gate(s.metrics, cfg.lean, True) is not None or len(step.samples) < 3:
            continue
        later = step.samples[1:]
        mid = next((i for i, x in enumerate(step.samples) if x.index == step.midstance.frame_index), None)
        if mid is None or mid + 1 >= len(step.samples):
            continue
        mid_ev = dataclasses.replace(step.midstance, frame_index=step.samples[mid + 1].index)
        contact = dataclasses.replace(step.contact, frame_index=later[0].index, t_s=later[0].t_s)
        shifted = dataclasses.replace(step, samples=later, midstance=mid_ev, contact=contact)
        a, b = s.metrics, stride_metrics(shifted)
        out["hip_over_foot"].append(b.hip_over_foot - a.hip_over_foot)
        out["pelvis_offset"].append(b.pelvis_offset - a.pelvis_offset)
        out["overstride"].append(b.overstride - a.overstride)
        out["lean_deg"].append(b.lean_deg - a.lean_deg)
        out["trunk_minus_lean"].append((b.trunk_deg - b.lean_deg) - (a.trunk_deg - a.lean_deg))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("videos", type=Path, nargs="+")
    p.add_argument("--keypoints", type=Path, nargs="*", default=None,
                   help="one KP.jsonl per video, in order (default: /tmp/kp/<stem>.jsonl)")
    p.add_argument("--capture-fps", type=float)
    p.add_argument("--every", type=int, default=1)
    p.add_argument("--config", type=Path)
    p.add_argument("--noise", action="store_true", help="also print the 1-frame timing sensitivity")
    p.add_argument("--strides", action="store_true", help="also print every stride")
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    kps = args.keypoints or [Path("/tmp/kp") / f"{v.stem}.jsonl" for v in args.videos]
    pooled: dict[str, list[float]] = {}
    for video, kp in zip(args.videos, kps, strict=True):
        frames = load_frames(video, kp, cfg.pose, args.every)
        fps = median_fps([f.t_s for f in frames]) * args.every if args.every > 1 else None
        result = analyze_frames(frames, cfg, capture_fps=args.capture_fps, video_path=str(video), source_fps=fps)
        st = stability(result)
        print(f"{video.stem}: " + ", ".join(f"{k} {v}" for k, v in st.items()))
        if args.strides:
            for s in result.strides:
                j = s.to_json()
                print(f"   {j['foot']:5s} {j['contact_t_s']:6.2f} hof {j['hip_over_foot']:+.2f} pelv "
                      f"{j['pelvis_offset']:+.3f} over {j['overstride']:+.2f} lean {j['lean_deg']:5.1f} "
                      f"trunk {j['trunk_deg']:5.1f} cad {j['cadence_spm']} spd {j['speed_ll_s']:.1f} "
                      f"{j['verdict']} {','.join(j['reasons'])}")
        if args.noise:
            for k, v in timing_sensitivity(result.strides, cfg).items():
                pooled.setdefault(k, []).extend(v)
    if args.noise:
        for k, v in pooled.items():
            arr = np.asarray(v)
            if arr.size:
                print(f"1-frame timing change of {k}: n {arr.size}, rms {math.sqrt(float(np.mean(arr ** 2))):.3f}, "
                      f"median |.| {float(np.median(np.abs(arr))):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
