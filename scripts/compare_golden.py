"""Run our TFLite pose engine over a clip and print its deviation from a MediaPipe golden.

    .venv/bin/python scripts/compare_golden.py models/demo/demo.mp4
    .venv/bin/python scripts/compare_golden.py ../shared/data/treadmill_slowmo.mp4
    .venv/bin/python scripts/compare_golden.py models/demo/demo.mp4 --no-refine --worst 10

The golden defaults to ``tests/data/golden/<clip stem>_mediapipe.json`` (made by
``scripts/make_golden.py``); only as many frames as the golden holds are processed. Also prints our
per-frame time for ``PoseEngine.process`` alone (decoding excluded).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np

from appliance.ops.assets import sha256_of
from appliance.paths import test_data_dir
from appliance.pose.compare import compare, load_golden
from appliance.pose.engine import PoseEngine
from appliance.sources.video_file import VideoFileSource


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("--golden", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-refine", action="store_true", help="skip the heatmap refinement step")
    parser.add_argument("--worst", type=int, default=5, help="list the N frames with the largest deviation")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    golden_path = args.golden or test_data_dir() / "golden" / f"{args.clip.stem}_mediapipe.json"
    golden = load_golden(golden_path)
    if sha256_of(args.clip) != golden.sha256:
        print(f"warning: {args.clip} is not the clip {golden_path.name} was made from (sha256 differs)")

    engine = PoseEngine.from_assets(num_threads=args.threads)
    engine.landmarks.refine_with_heatmap = not args.no_refine
    frames, times_ms = [], []
    with VideoFileSource(args.clip) as source:
        for frame in source.frames():
            if frame.index >= len(golden.frames):
                break
            t0 = time.perf_counter()
            frames.append(engine.process(frame))
            times_ms.append((time.perf_counter() - t0) * 1e3)

    result = compare(frames, golden)
    print(f"{args.clip.name} vs MediaPipe {golden.mediapipe_version}: {result.summary()}")
    print(f"engine: {engine.stats}; process() median {np.median(times_ms):.1f} ms/frame, "
          f"p95 {np.percentile(times_ms, 95):.1f} ms ({args.threads} threads)")
    worst = sorted(result.frame_mean_px, key=lambda item: -item[1])[: args.worst]
    if worst:
        print("worst frames (index: mean px): " + ", ".join(f"{i}: {d:.1f}" for i, d in worst))
    disagree = [pf.index for pf in frames
                if pf.index < len(golden.frames) and (golden.frames[pf.index] is None) != (pf.landmarks is None)]
    if disagree:
        print(f"pose-found disagreement at frames {disagree}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
