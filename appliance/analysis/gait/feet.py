"""Keep the two feet apart by continuity, not by the model's left/right labels (design §1).

In a side view BlazePose often swaps left and right for a frame or a few (the far leg is hidden
behind the near one). Each frame the two detected feet are assigned to two tracks by whichever
pairing best continues both tracks' motion (constant-velocity prediction). The tracks are named
only afterwards, by the majority of the model labels they received in the last fraction of a
second (``NAME_VOTES_S``): the model is right most of the time, so the vote is, even when single
frames are swapped, and a track the pairing moved onto the other foot takes that foot's name.

**Collapsed feet.** The model also puts *both* feet on one spot for a frame or several: mostly the
stance foot, while the swing foot passes it (on sprint clip ``b4`` frame 97 the two toes are 6 px
apart, on a 110 px leg). Then the pairing is a coin toss, and a wrong toss swaps the tracks in the
middle of a stance, which splits it: the stance is lost. A collapsed pair is one observation: it
goes to the track predicted nearest to it, and the other track is *held* for that frame (it keeps
its last points and the gait state machine treats the frame as "no news" for that foot). Only
when the two tracks were apart: feet that were together already (standing, in the blocks, where
the model puts both on one spot for seconds, or a two-footed landing) are two observations, as
before.

**A foot on the ground anchors the pairing.** Where the swing foot passes the stance foot the
model often draws the swing foot low and slow, right beside the stance foot, for a frame or several
(male_side frames 19-22 and 116-118: the swing foot is high behind the runner in the image, its
points on the belt), so both tracks' own-velocity predictions meet and the joint cost is a coin
toss that swaps them in mid-stance. While one foot is in a stance and the other in the air, the
stance foot is where the ground carries it (its prediction moves with the ground: still for a fixed
camera, with the belt on a treadmill) and the swing foot's points are the unreliable ones: the
stance track takes the observation nearest its prediction, the swing track the other. Both feet
drawn onto the stance foot's place are one observation for the stance track, and the swing track is
held: it was in the air, and a landing on the other foot's spot is no step either
(``GaitTracker._on_other_foot``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from appliance.analysis.gait.body import FootPoints

log = logging.getLogger(__name__)

# A track is named by the model's labels of its last ~this many seconds (votes fade exponentially),
# not of all its history: where the pairing swaps the tracks (the blocks, a crossing) the track
# follows the other foot from then on, and a lifetime's votes kept the old name for the rest of the
# run (six of the nine right-to-left sprints named every stride's foot wrong). The model's
# per-frame labels are wrong for a frame or a few, so a few frames' worth still outvotes them.
# Stride contacts whose foot matches the two-footed labels (a-sprints, male_side, slow-motion
# views; portable / --perturb 1 / --perturb 2), tuning | validation: all history 14/33, 22/31,
# 11/29 | 52/71, 46/69, 42/72; 0.5 s 28, 27, 24 | 68, 63, 61; 0.25 s 30, 30, 27 | 69, 64, 65;
# 0.15 s 32, 31, 29 | 69, 68, 66; 0.1 s 32, 31, 28 | 70, 67, 69.
NAME_VOTES_S = 0.15

# A track is held at most this long in a row (since its last observation): enough for the model's
# brief collapses (one or two frames at 30 fps), and short enough that a held track's prediction
# (last position + velocity) cannot drift off while the model keeps both feet on one spot.
MAX_HOLD_S = 0.07
# ... and only if the two tracks were predicted at least this far apart (leg lengths): the model drew
# two separate feet onto one spot (b4 frame 97: tracks 0.75 apart), rather than feet that were
# already together (standing, in the blocks, a two-footed jump landing: both stay in one place).
APART_LL = 0.3


@dataclass
class FootTrack:
    """One physical foot followed over time."""

    track_id: int
    midfoot_px: np.ndarray | None = None
    velocity_px_s: np.ndarray | None = None
    t_s: float | None = None
    last: FootPoints | None = None  # the points last given to this track (observed or held)
    left_votes: float = 0.0
    right_votes: float = 0.0

    @property
    def name(self) -> str:
        if self.left_votes == self.right_votes:
            return "left" if self.track_id == 0 else "right"
        return "left" if self.left_votes > self.right_votes else "right"

    def predict(self, t_s: float, ground_velocity_px_s: np.ndarray | None = None) -> np.ndarray | None:
        """Where this foot should be at ``t_s``. ``ground_velocity_px_s``: the foot is on the ground,
        which moves so in the image (zero for a fixed camera, the belt on a treadmill)."""
        if self.midfoot_px is None or self.t_s is None:
            return None
        if ground_velocity_px_s is not None:
            return self.midfoot_px + ground_velocity_px_s * (t_s - self.t_s)
        if self.velocity_px_s is None:
            return self.midfoot_px
        # Damped: feet decelerate hard at contact, a full constant-velocity guess overshoots.
        return self.midfoot_px + 0.7 * self.velocity_px_s * (t_s - self.t_s)

    def update(self, t_s: float, foot: FootPoints) -> None:
        p = foot.midfoot_px
        if self.midfoot_px is not None and self.t_s is not None and t_s > self.t_s:
            self.velocity_px_s = (p - self.midfoot_px) / (t_s - self.t_s)
            w = math.exp(-(t_s - self.t_s) / NAME_VOTES_S)  # older votes fade: see NAME_VOTES_S
            self.left_votes *= w
            self.right_votes *= w
        self.midfoot_px, self.t_s, self.last = p.copy(), t_s, foot
        if foot.model_label == "left":
            self.left_votes += 1
        else:
            self.right_votes += 1

    def hold(self) -> FootPoints:
        """No observation of this foot this frame: its last points stand (position, velocity and time kept)."""
        assert self.last is not None
        return self.last


class FootTracker:
    """Assigns each frame's two feet to two persistent tracks."""

    def __init__(self, max_gap_s: float = 0.3, collapse_ll: float = 0.0) -> None:
        """``collapse_ll``: feet closer than this (leg lengths) are one observation (if the tracks
        were apart, see the module doc); 0 turns that off."""
        self.max_gap_s = max_gap_s
        self.collapse_ll = collapse_ll
        self.tracks = (FootTrack(0), FootTrack(1))
        self.swaps = 0  # frames where the model's labels disagreed with continuity
        self.held: tuple[bool, bool] = (False, False)  # which tracks the last assign() held

    def reset(self) -> None:
        self.tracks = (FootTrack(0), FootTrack(1))

    def assign(self, t_s: float, feet: tuple[FootPoints, FootPoints], leg_length_px: float | None = None,
               on_ground: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
               stance: int | None = None) -> tuple[FootPoints, FootPoints]:
        """Return the feet ordered as (track 0, track 1); ``self.held`` says which track was held.

        ``on_ground``: per track, the ground's image velocity (px/s) if that foot is known to be
        in a stance, else None. A foot on the ground moves with the ground, not on its own: where
        the swing foot passes the stance foot in the image both tracks' own-velocity predictions
        meet at one spot and the pairing was a coin toss that swapped them in mid-stance
        (male_side frame 76); the stance foot's prediction from the ground's motion is not.
        ``stance``: the track in a stance while the other is in the air (running), else None; it
        anchors the pairing (module doc).
        """
        a, b = self.tracks
        if a.t_s is not None and t_s - a.t_s > self.max_gap_s:
            self.reset()
            a, b = self.tracks
        self.held = (False, False)
        pa, pb = a.predict(t_s, on_ground[0]), b.predict(t_s, on_ground[1])
        ordered = feet
        if pa is not None and pb is not None:
            f0, f1 = feet[0].midfoot_px, feet[1].midfoot_px
            if (leg_length_px is not None and self.collapse_ll > 0 and a.last is not None and b.last is not None
                    and float(np.linalg.norm(f0 - f1)) < self.collapse_ll * leg_length_px):
                collapsed = self._assign_collapsed(t_s, feet, pa, pb, leg_length_px, stance)
                if collapsed is not None:
                    return collapsed
            if stance is not None:
                anchor = pa if stance == 0 else pb
                nearest = 0 if np.linalg.norm(anchor - f0) <= np.linalg.norm(anchor - f1) else 1
                if nearest != stance:
                    ordered = (feet[1], feet[0])
            elif np.linalg.norm(pa - f1) + np.linalg.norm(pb - f0) < np.linalg.norm(pa - f0) + np.linalg.norm(pb - f1):
                ordered = (feet[1], feet[0])
        if ordered[0].model_label != ("left" if a.left_votes >= a.right_votes else "right"):
            self.swaps += 1
        a.update(t_s, ordered[0])
        b.update(t_s, ordered[1])
        return ordered

    def _assign_collapsed(self, t_s: float, feet: tuple[FootPoints, FootPoints], pa: np.ndarray,
                          pb: np.ndarray, leg_length_px: float,
                          stance: int | None = None) -> tuple[FootPoints, FootPoints] | None:
        """Both feet on one spot: the nearer track takes it, the other one is held; the stance
        track takes it if the spot is at its place (``stance``: see ``assign``).

        None when that is not the situation: then both tracks are updated, as without the rule.
        """
        spot = (feet[0].midfoot_px + feet[1].midfoot_px) / 2.0
        k = 0 if np.linalg.norm(pa - spot) <= np.linalg.norm(pb - spot) else 1
        # The swing foot drawn onto the stance foot: it cannot have landed there, whether or not the
        # tracks were predicted apart (where it passes the stance foot they are not).
        at_stance = (stance is not None and float(np.linalg.norm((pa if stance == 0 else pb) - spot))
                     < APART_LL * leg_length_px)
        if at_stance:
            k = stance  # type: ignore[assignment]
        taker, other = self.tracks[k], self.tracks[1 - k]
        # Otherwise only when the tracks were apart: feet that were already together (side by side
        # when standing, in the blocks, a two-footed jump) really are on one spot.
        if ((not at_stance and float(np.linalg.norm(pa - pb)) < APART_LL * leg_length_px)
                or other.t_s is None or t_s - other.t_s > MAX_HOLD_S):
            return None
        foot = min(feet, key=lambda f: float(np.linalg.norm(f.midfoot_px - (pa if k == 0 else pb))))
        taker.update(t_s, foot)
        held = other.hold()
        self.held = (k == 1, k == 0)
        return (foot, held) if k == 0 else (held, foot)
