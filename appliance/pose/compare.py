"""Compare our pose output with a reference (MediaPipe golden JSON from ``scripts/make_golden.py``).

Used by ``tests/test_pose_golden.py`` and ``scripts/compare_golden.py``, and meant for judging model
variants (quantised, other runtimes) the same way. The golden holds, per frame, 33 rows of
``[x_px, y_px, visibility]`` or ``null`` where MediaPipe found no pose; only numbers, no pixels.

Deviation is the Euclidean distance in source pixels, over landmarks with visibility > 0.5 in both,
on frames where both found a pose. Agreement is the share of frames where both agree on whether
there is a pose at all.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from appliance.pose.types import VISIBILITY, PoseFrame

log = logging.getLogger(__name__)

MIN_VISIBILITY = 0.5


@dataclass(frozen=True)
class Golden:
    clip: str
    sha256: str
    mediapipe_version: str
    width_px: int
    height_px: int
    frames: tuple[np.ndarray | None, ...]  # (33, 3) float64 x_px, y_px, visibility, or None
    # The ROI MediaPipe's landmark model ran on, per frame (x_center_px, y_center_px, width_px,
    # height_px, rotation_rad) or None, and whether it came from the detector on that frame.
    rois: tuple[tuple[float, ...] | None, ...] = ()
    roi_from_detection: tuple[bool, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """How far our landmarks are from the reference, in source pixels."""

    n_frames: int
    n_agree: int
    n_both: int
    n_points: int
    mean_px: float
    median_px: float
    p95_px: float
    max_px: float
    frame_mean_px: tuple[tuple[int, float], ...]  # (frame index, mean deviation) where both found a pose

    @property
    def agreement(self) -> float:
        return self.n_agree / self.n_frames if self.n_frames else 0.0

    def summary(self) -> str:
        return (f"{self.n_frames} frames, pose-found agreement {self.n_agree}/{self.n_frames} "
                f"({100 * self.agreement:.1f} %), both found {self.n_both}; deviation over {self.n_points} "
                f"visible landmarks: mean {self.mean_px:.2f} px, median {self.median_px:.2f} px, "
                f"p95 {self.p95_px:.2f} px, max {self.max_px:.1f} px")


def load_golden(path: Path) -> Golden:
    doc: dict[str, Any] = json.loads(Path(path).read_text())
    frames = tuple(None if f is None else np.asarray(f, dtype=np.float64) for f in doc["frames"])
    rois = tuple(None if r is None else tuple(float(v) for v in r) for r in doc.get("rois", []))
    return Golden(doc["clip"], doc["sha256"], doc["mediapipe_version"], int(doc["width_px"]),
                  int(doc["height_px"]), frames, rois, tuple(bool(b) for b in doc.get("roi_from_detection", [])))


def compare(ours: Iterable[PoseFrame], golden: Golden) -> Comparison:
    """Compare frames (matched by ``PoseFrame.index``) with the golden; extra frames are ignored."""
    devs: list[np.ndarray] = []
    per_frame: list[tuple[int, float]] = []
    n_frames = n_agree = n_both = 0
    for pf in ours:
        if pf.index >= len(golden.frames):
            continue
        ref = golden.frames[pf.index]
        n_frames += 1
        n_agree += (ref is None) == (pf.landmarks is None)
        if ref is None or pf.landmarks is None:
            continue
        n_both += 1
        mask = (ref[:, 2] > MIN_VISIBILITY) & (pf.landmarks[:, VISIBILITY] > MIN_VISIBILITY)
        d = np.hypot(pf.landmarks[:, 0] - ref[:, 0], pf.landmarks[:, 1] - ref[:, 1])[mask]
        if d.size:
            devs.append(d)
            per_frame.append((pf.index, float(d.mean())))
    all_d = np.concatenate(devs) if devs else np.zeros(0)
    stat = (lambda f: float(f(all_d))) if all_d.size else (lambda f: float("nan"))
    return Comparison(
        n_frames=n_frames, n_agree=n_agree, n_both=n_both, n_points=int(all_d.size),
        mean_px=stat(np.mean), median_px=stat(np.median), p95_px=stat(lambda a: np.percentile(a, 95)),
        max_px=stat(np.max), frame_mean_px=tuple(per_frame),
    )
