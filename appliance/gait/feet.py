"""Keep the two feet apart by continuity, not by the model's left/right labels (design §1).

In a side view BlazePose often swaps left and right for a frame or a few (the far leg is hidden
behind the near one). Each frame the two detected feet are assigned to two tracks by whichever
pairing best continues both tracks' motion (constant-velocity prediction). The tracks are named
only afterwards, by the majority of model labels they have received: the model is right most of
the time, so the vote is, even when single frames are swapped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from appliance.gait.body import FootPoints

log = logging.getLogger(__name__)


@dataclass
class FootTrack:
    """One physical foot followed over time."""

    track_id: int
    midfoot_px: np.ndarray | None = None
    velocity_px_s: np.ndarray | None = None
    t_s: float | None = None
    left_votes: int = 0
    right_votes: int = 0

    @property
    def name(self) -> str:
        if self.left_votes == self.right_votes:
            return "left" if self.track_id == 0 else "right"
        return "left" if self.left_votes > self.right_votes else "right"

    def predict(self, t_s: float) -> np.ndarray | None:
        if self.midfoot_px is None or self.t_s is None:
            return None
        if self.velocity_px_s is None:
            return self.midfoot_px
        # Damped: feet decelerate hard at contact, a full constant-velocity guess overshoots.
        return self.midfoot_px + 0.7 * self.velocity_px_s * (t_s - self.t_s)

    def update(self, t_s: float, foot: FootPoints) -> None:
        p = foot.midfoot_px
        if self.midfoot_px is not None and self.t_s is not None and t_s > self.t_s:
            self.velocity_px_s = (p - self.midfoot_px) / (t_s - self.t_s)
        self.midfoot_px, self.t_s = p.copy(), t_s
        if foot.model_label == "left":
            self.left_votes += 1
        else:
            self.right_votes += 1


class FootTracker:
    """Assigns each frame's two feet to two persistent tracks."""

    def __init__(self, max_gap_s: float = 0.3) -> None:
        self.max_gap_s = max_gap_s
        self.tracks = (FootTrack(0), FootTrack(1))
        self.swaps = 0  # frames where the model's labels disagreed with continuity

    def reset(self) -> None:
        self.tracks = (FootTrack(0), FootTrack(1))

    def assign(self, t_s: float, feet: tuple[FootPoints, FootPoints]) -> tuple[FootPoints, FootPoints]:
        """Return the feet ordered as (track 0, track 1)."""
        a, b = self.tracks
        if a.t_s is not None and t_s - a.t_s > self.max_gap_s:
            self.reset()
            a, b = self.tracks
        pa, pb = a.predict(t_s), b.predict(t_s)
        ordered = feet
        if pa is not None and pb is not None:
            f0, f1 = feet[0].midfoot_px, feet[1].midfoot_px
            straight = np.linalg.norm(pa - f0) + np.linalg.norm(pb - f1)
            swapped = np.linalg.norm(pa - f1) + np.linalg.norm(pb - f0)
            if swapped < straight:
                ordered = (feet[1], feet[0])
        if ordered[0].model_label != ("left" if a.left_votes >= a.right_votes else "right"):
            self.swaps += 1
        a.update(t_s, ordered[0])
        b.update(t_s, ordered[1])
        return ordered
