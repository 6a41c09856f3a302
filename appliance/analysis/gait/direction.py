"""Direction of travel, +1 (image right) or −1 (image left), from how the feet swing (design §1).

The pelvis moves across a fixed camera, but not on a treadmill or in a panned shot; what every
set-up shares is the swing: a foot in the air travels forward relative to the pelvis (from behind
it to ahead of it). So the vote is the swing foot's displacement relative to the pelvis, along the
ground line, summed over frames when that foot is clearly off the ground. A start seeds the vote
with the pelvis's first move, which outweighs any vote from the set-up before it.

A second, independent vote is the foot itself: a foot flat on the ground points where the runner
is going (toe ahead of heel). It needs no motion and no ground speed, so it holds on a treadmill or
a panned, zooming shot as well as on a fixed camera. On the real clips (engine keypoints, mean
toe − heel along the ground per flat foot-frame, bounded at ±0.2 leg lengths) its sign is right on
all of them: sprints +0.17…+0.20 (9–54 foot-frames each), treadmill +0.20, panned track −0.20, the
demo's walker +0.03. Counted for any grounded foot, a sprinter's feet on their toes in the blocks
(hundreds of frames, a few px long) turned the direction of sprint b8 filmed with a camera rolled
3°; flat feet only, every clip and every flipped / rolled copy reads right.

Where the set-up is known (``[unit] direction`` = left_to_right / right_to_left) the direction is
fixed instead: no estimate, no seed, the same sign from the first frame.
"""

from __future__ import annotations

import logging

import numpy as np

from appliance.analysis.gait.events import FrameSample

log = logging.getLogger(__name__)

# A foot higher than this (leg lengths) is swinging, not standing on the ground.
SWING_HEIGHT_LL = 0.15
# Weight and per-foot bound of the "toe ahead of heel" vote (leg lengths per frame).
POSTURE_WEIGHT = 0.5
POSTURE_BOUND_LL = 0.2
# ... counted only for a foot flat on the ground: heel and toe both lower than this (leg lengths).
FLAT_HEIGHT_LL = 0.1


class DirectionEstimator:
    def __init__(self, decay: float = 0.999, fixed: int | None = None) -> None:
        if fixed not in (None, 1, -1):
            raise ValueError(f"fixed direction must be +1, -1 or None, got {fixed!r}")
        self.votes_ll = 0.0
        self.decay = decay
        self.fixed = fixed  # configured direction of travel: never estimated

    @property
    def sign(self) -> int:
        if self.fixed is not None:
            return self.fixed
        return -1 if self.votes_ll < 0 else 1

    @property
    def known(self) -> bool:
        return self.fixed is not None or abs(self.votes_ll) > 0.5

    def seed(self, direction: int) -> None:
        """A start's first move of the pelvis: the direction of travel from here on.

        It replaces whatever the votes said before: the set-up before a block start (walking in,
        kneeling, fidgeting for seconds) swings feet and shifts weight in no particular direction,
        and on the right-to-left sprints those votes had summed to the wrong sign by the start.
        """
        if self.fixed is None:
            self.votes_ll = 0.6 * direction

    def update(self, s: FrameSample, prev: FrameSample | None, heights_ll: list[float]) -> None:
        if self.fixed is not None or prev is None or s.t_s <= prev.t_s:
            return
        g = s.ground
        pelvis_move = float(g.along_px(s.pelvis_px) - g.along_px(prev.pelvis_px))
        vote = 0.0
        posture = 0.0
        for k in (0, 1):
            if heights_ll[k] > SWING_HEIGHT_LL:
                foot_move = float(g.along_px(s.midfoot_px(k)) - g.along_px(prev.midfoot_px(k)))
                vote += foot_move - pelvis_move
            elif max(float(g.height_px(s.raw_heel_px[k])), float(g.height_px(s.raw_toe_px[k]))) \
                    < FLAT_HEIGHT_LL * s.leg_length_px:
                # Flat on the ground only: a foot on its toes (sprint stance, set in the blocks)
                # points down more than forward, and a few px of noise decide its sign.
                pointing = float(g.along_px(s.raw_toe_px[k]) - g.along_px(s.raw_heel_px[k])) / s.leg_length_px
                posture += float(np.clip(pointing, -POSTURE_BOUND_LL, POSTURE_BOUND_LL))
        # Bounded per frame: a foot-tracking glitch (labels swapped) must not flip the direction.
        self.votes_ll = (self.decay * self.votes_ll + float(np.clip(vote / s.leg_length_px, -0.5, 0.5))
                         + POSTURE_WEIGHT * posture)
