"""Stick-figure pictures of a judged stride, drawn from keypoints only (no video pixels).

For docs/coaching.md and anything else that must show a posture without showing the footage: the
pose of one late-stance frame, turned into the gravity frame (ground horizontal, runner moving to
the right), with the foot→pelvis→head line coloured by the verdict and the numbers beside it.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from appliance.analysis.analyzer import StrideResult
from appliance.pose import overlay
from appliance.pose.types import SKELETON_EDGES, X, Y

log = logging.getLogger(__name__)

COLOURS = {"go": overlay.GREEN, "no_go": overlay.RED, "unsure": overlay.AMBER}


def stride_figure(result: StrideResult, landmarks: np.ndarray, frame_index: int, size_px: int = 420) -> np.ndarray:
    """An RGB picture (white background) of the stride's pose at ``frame_index`` (a stance frame or
    the toe-off frame, the last frame the metrics judge)."""
    step = result.step
    frames = step.samples + ((step.toe_off_sample,) if step.toe_off_sample is not None else ())
    sample = next(s for s in frames if s.index == frame_index)
    g, d, ll = step.ground, step.direction, step.leg_length_px
    origin = sample.raw_bottom_px(step.track)

    def to_fig(p: np.ndarray) -> np.ndarray:
        rel = np.asarray(p, dtype=float) - origin
        f = (rel @ g.along) * d / ll  # forward, leg lengths
        u = rel @ g.up / ll  # up, leg lengths
        scale = size_px / 3.2
        return np.stack([size_px * 0.45 + f * scale, size_px * 0.9 - u * scale], axis=-1)

    img = np.full((size_px, size_px, 3), 255, np.uint8)
    cv2.line(img, (0, int(size_px * 0.9)), (size_px, int(size_px * 0.9)), (150, 150, 150), 2, cv2.LINE_AA)
    pts = np.round(to_fig(landmarks[:, [X, Y]])).astype(np.int32)
    for a, b in SKELETON_EDGES:
        cv2.line(img, tuple(pts[a]), tuple(pts[b]), (60, 60, 60), 3, cv2.LINE_AA)
    colour = COLOURS.get(result.verdict, overlay.WHITE)
    chain = np.stack([sample.raw_bottom_px(step.track), sample.raw_pelvis_px, sample.raw_shoulders_px,
                      sample.raw_head_px])
    line = np.round(to_fig(chain)).astype(np.int32)
    cv2.line(img, tuple(line[0]), tuple(line[2]), colour, 2, cv2.LINE_AA)  # foot→shoulders: the reference
    for a, b in ((0, 1), (1, 2), (2, 3)):
        cv2.line(img, tuple(line[a]), tuple(line[b]), colour, 4, cv2.LINE_AA)
    for p in line:
        cv2.circle(img, tuple(p), 6, colour, -1, cv2.LINE_AA)
    m = result.metrics
    text = [f"{result.verdict} {' '.join(result.reasons)}".strip(),
            f"lean {m.lean_deg:.0f} deg  trunk {m.trunk_deg:.0f} deg",
            f"pelvis offset {m.pelvis_offset:+.2f}  hip/foot {m.hip_over_foot:+.2f}"]
    for row, t in enumerate(text):
        cv2.putText(img, t, (10, 24 + 22 * row), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                    colour if row == 0 else (40, 40, 40), 1, cv2.LINE_AA)
    return img
