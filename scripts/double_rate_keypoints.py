#!/usr/bin/env python3
"""Keypoints of a 30 fps clip at twice its rate: every second frame the mean of its neighbours.

Why: no labelled 60 fps clip is at hand, and what the analysis does with more frames per second
(its windows are counted in frames, its decisions in seconds) is worth a check on a clip whose
labels are known. An interpolated frame is no camera frame, the motion between two real ones is
taken as straight, so this shows rate effects of the analysis, not a 60 fps camera's figures
(docs/analysis.md, "The stance foot anchors the feet; …": contacts placed from 0.1 s of stance).

    .venv/bin/leancam pose CLIP.mp4 --out /tmp/kp/clip.jsonl
    .venv/bin/python scripts/double_rate_keypoints.py /tmp/kp/clip.jsonl /tmp/kp60/clip.jsonl \\
        --labels LABELS.csv /tmp/kp60/labels.csv [--jitter-px 3]
    .venv/bin/leancam eval CLIP.mp4 /tmp/kp60/labels.csv --keypoints /tmp/kp60/clip.jsonl
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appliance.pose import keypoints_io
from appliance.pose.types import PoseFrame


def doubled(frames: Iterator[PoseFrame], fps: float, jitter_px: float = 0.0, seed: int = 0) -> Iterator[PoseFrame]:
    """Frame i becomes 2i; between two frames with a pose, 2i+1 is their mean (x, y, z and scores),
    with ``jitter_px`` of white noise on its x and y (a model's per-frame jitter, which a mean of
    two frames halves)."""
    rng = np.random.default_rng(seed)
    for a, b in itertools.pairwise(itertools.chain(frames, [None])):
        yield PoseFrame(2 * a.index, 2 * a.index / (2 * fps), a.width_px, a.height_px, a.landmarks, a.score)
        if b is None or a.landmarks is None or b.landmarks is None or b.index != a.index + 1:
            continue
        mid = (a.landmarks.astype(np.float64) + b.landmarks) / 2.0
        if jitter_px > 0:
            mid[:, :2] += rng.normal(0.0, jitter_px, (mid.shape[0], 2))
        yield PoseFrame(2 * a.index + 1, (2 * a.index + 1) / (2 * fps), a.width_px, a.height_px,
                        mid.astype(np.float32), (a.score + b.score) / 2.0)


def double_labels(src: Path, dst: Path) -> int:
    """The same labels in frames of the doubled rate (frame × 2); returns how many."""
    with src.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        fields = reader.fieldnames or ["frame", "event", "foot"]
    with dst.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "frame": str(2 * int(row["frame"]))})
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keypoints", type=Path, help="a leancam-keypoints file (leancam pose --out)")
    ap.add_argument("out", type=Path, help="where to write the doubled-rate keypoints")
    ap.add_argument("--labels", nargs=2, type=Path, metavar=("IN.csv", "OUT.csv"),
                    help="also write the clip's labels in frames of the doubled rate")
    ap.add_argument("--jitter-px", type=float, default=0.0, help="noise (sd, px) on the interpolated frames")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    header, frames = keypoints_io.read(args.keypoints)
    video = dict(header.get("video") or {})
    fps = float(video.get("fps") or 0)
    if fps <= 0:
        print(f"{args.keypoints}: the header gives no frame rate", file=sys.stderr)
        return 2
    video.update(fps=2 * fps, frames=2 * int(video.get("frames") or 0))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        n = keypoints_io.write(fh, doubled(frames, fps, args.jitter_px, args.seed),
                               {k: v for k, v in header.items() if k not in ("schema", "kind", "video")}
                               | {"video": video})
    print(f"{args.out}: {n} frames at {2 * fps:g} fps")
    if args.labels:
        print(f"{args.labels[1]}: {double_labels(*args.labels)} labels in frames of {2 * fps:g} fps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
