"""Postures a verdict rule must catch, made from a real runner's keypoints.

A rule tuned on a few clips must still bite on a runner it never saw doing the fault; with no
footage of the fault, the runner's own frames with some landmarks moved are the nearest thing.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from appliance.pose.types import L_HIP, R_HIP, PoseFrame


def moved_along_x(frames: Iterable[PoseFrame], points: Iterable[int], leg_lengths: float) -> list[PoseFrame]:
    """``frames`` with the landmarks ``points`` moved ``leg_lengths`` along image x (+ = image-right),
    in each frame's own leg length (hip → knee → ankle, both legs averaged); the rest in place."""
    idx = list(points)
    out = []
    for f in frames:
        lm = None
        if f.landmarks is not None:
            lm = f.landmarks.copy()
            xy = lm[:, :2].astype(np.float64)
            leg = np.mean([np.linalg.norm(xy[h] - xy[h + 2]) + np.linalg.norm(xy[h + 2] - xy[h + 4])
                           for h in (L_HIP, R_HIP)])
            lm[idx, 0] += leg_lengths * leg
        out.append(PoseFrame(f.index, f.t_s, f.width_px, f.height_px, lm, f.score))
    return out
