"""Body points derived from BlazePose's 33 landmarks (design §1), and how far to trust them.

All points are in image pixels (x right, y down) as the model gives them; the gravity frame is
applied later (``appliance.analysis.gait.ground``). Feet are returned as the model labels them: which one is
really on the ground is decided from geometry by ``appliance.analysis.gait.feet``, never from these labels.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from appliance.pose.types import (
    L_ANKLE,
    L_EAR,
    L_HEEL,
    L_HIP,
    L_KNEE,
    L_SHOULDER,
    L_TOE,
    NOSE,
    PRESENCE,
    R_ANKLE,
    R_EAR,
    R_HEEL,
    R_HIP,
    R_KNEE,
    R_SHOULDER,
    R_TOE,
    VISIBILITY,
    PoseFrame,
    X,
    Y,
)

log = logging.getLogger(__name__)

# Below this leg length (px) a pose is not analysed: foot jitter would exceed a whole foot length.
MIN_LEG_LENGTH_PX = 20.0

# Landmarks the analysis needs; their confidence decides "unsure".
TORSO_POINTS = (L_SHOULDER, R_SHOULDER, L_HIP, R_HIP)
FOOT_POINTS = (L_ANKLE, R_ANKLE, L_HEEL, R_HEEL, L_TOE, R_TOE)


@dataclass(frozen=True, eq=False)
class FootPoints:
    """One foot as labelled by the model: heel, toe (foot index), ankle, each (x_px, y_px)."""

    model_label: str  # "left" / "right": the model's guess only
    heel_px: np.ndarray
    toe_px: np.ndarray
    ankle_px: np.ndarray
    confidence: float  # min visibility×presence of heel, toe, ankle

    @property
    def midfoot_px(self) -> np.ndarray:
        return (self.heel_px + self.toe_px) / 2.0


@dataclass(frozen=True, eq=False)
class BodyPoints:
    """Points of one frame the gait and lean analysis use (pixels, y down)."""

    head_px: np.ndarray
    shoulders_px: np.ndarray
    pelvis_px: np.ndarray
    feet: tuple[FootPoints, FootPoints]
    leg_length_px: float  # hip→knee→ankle this frame (mean of both legs); the median is the unit
    torso_confidence: float
    feet_confidence: float  # of the better-seen foot
    feet_in_frame: bool  # every foot point inside the image (with a small margin)
    body_in_frame: bool


def _conf(lm: np.ndarray, idx: tuple[int, ...]) -> float:
    return float(np.min(lm[list(idx), VISIBILITY] * np.clip(lm[list(idx), PRESENCE], 0.0, 1.0)))


def body_points(lm: np.ndarray, width_px: int, height_px: int, margin_px: float = 2.0) -> BodyPoints:
    """Derive the design §1 points from a (33, 5) landmark array."""
    xy = lm[:, [X, Y]].astype(np.float64)
    ears_conf = float(np.mean(lm[[L_EAR, R_EAR], VISIBILITY]))
    # Mid-ears is steadier than the nose (which swings as the head turns); the nose is the fallback
    # when the model is unsure of both ears.
    head = (xy[L_EAR] + xy[R_EAR]) / 2.0 if ears_conf >= 0.3 else xy[NOSE]
    pelvis = (xy[L_HIP] + xy[R_HIP]) / 2.0
    shoulders = (xy[L_SHOULDER] + xy[R_SHOULDER]) / 2.0
    feet = (
        FootPoints("left", xy[L_HEEL], xy[L_TOE], xy[L_ANKLE], _conf(lm, (L_ANKLE, L_HEEL, L_TOE))),
        FootPoints("right", xy[R_HEEL], xy[R_TOE], xy[R_ANKLE], _conf(lm, (R_ANKLE, R_HEEL, R_TOE))),
    )
    # Thigh + shank rather than the straight pelvis→ankle distance: segment lengths do not shrink
    # when the knee bends (crouched sprint start, stance), the straight distance does (by ~half in
    # the blocks). For a straight standing leg the two agree.
    leg = float(np.mean([np.linalg.norm(xy[hip] - xy[knee]) + np.linalg.norm(xy[knee] - xy[ankle])
                         for hip, knee, ankle in ((L_HIP, L_KNEE, L_ANKLE), (R_HIP, R_KNEE, R_ANKLE))]))
    fp = xy[list(FOOT_POINTS)]
    feet_in = bool(np.all((fp[:, 0] >= -margin_px) & (fp[:, 0] <= width_px + margin_px)
                          & (fp[:, 1] >= -margin_px) & (fp[:, 1] <= height_px + margin_px)))
    bp = xy[[NOSE, *TORSO_POINTS]]
    body_in = bool(np.all((bp[:, 0] >= -margin_px) & (bp[:, 0] <= width_px + margin_px)
                          & (bp[:, 1] >= -margin_px) & (bp[:, 1] <= height_px + margin_px)))
    # The far foot is hidden behind the near leg in a side view, so its visibility is low even when
    # the model places it well; we need at least one foot clearly seen.
    return BodyPoints(head, shoulders, pelvis, feet, leg, _conf(lm, TORSO_POINTS),
                      max(feet[0].confidence, feet[1].confidence), feet_in, body_in)


def frame_body(frame: PoseFrame) -> BodyPoints | None:
    """The body points of ``frame`` the gait analysis works on; None without a pose, with points
    that are not finite, or for a person too small to time a foot on (``MIN_LEG_LENGTH_PX``)."""
    if frame.landmarks is None:
        return None
    if not np.all(np.isfinite(frame.landmarks[:, :2])):
        log.debug("frame %d: non-finite landmarks, treated as no pose", frame.index)
        return None
    bp = body_points(frame.landmarks, frame.width_px, frame.height_px)
    return bp if bp.leg_length_px >= MIN_LEG_LENGTH_PX else None


# No body moves farther than this between two pose frames (leg lengths) ... nor faster (leg
# lengths/s; a sprinter at top speed: ~13). A pose that jumps more is another person: the pose
# model's person selection moved to someone else, or to a false detection. Measured on every clip
# of both sets and six keypoint inputs: the pelvis of one body moves at most 1.5 leg lengths
# (46 leg lengths/s, a glitch of the perturbed input) from one frame to the next, mostly under 1
# (30/s); the model jumped from another body to the athlete in the first 5-12 frames of 8 of the 12
# right-to-left starts on some input: 3.7-5.1 leg lengths, 111-153 leg lengths/s.
OTHER_BODY_JUMP_LL = 2.0
OTHER_BODY_SPEED_LL_S = 60.0


def is_other_body(before: BodyPoints, before_t_s: float, after: BodyPoints, after_t_s: float) -> bool:
    """Is ``after`` (a pose at ``after_t_s``, real seconds) another body than ``before``? Its pelvis is
    farther from ``before``'s than ``OTHER_BODY_JUMP_LL`` and than ``OTHER_BODY_SPEED_LL_S`` allows in
    the time between, in the shorter of the two poses' leg lengths (a far person looks smaller)."""
    ll = min(before.leg_length_px, after.leg_length_px)
    if not ll > 0:
        return False
    jump_ll = float(np.linalg.norm(after.pelvis_px - before.pelvis_px)) / ll
    return jump_ll > max(OTHER_BODY_JUMP_LL, OTHER_BODY_SPEED_LL_S * max(after_t_s - before_t_s, 0.0))
