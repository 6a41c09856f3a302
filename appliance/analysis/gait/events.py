"""What the gait stage emits: events with their decision lag, and one record per stance.

Frozen dataclasses; times are seconds of real (capture) time from the first frame, frame indices
are the source's 0-based indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.analysis.gait.ground import GroundFrame

EVENT_KINDS = ("initiation", "contact", "midstance", "toe_off")


@dataclass(frozen=True)
class GaitEvent:
    """An event at ``frame_index``, decided while processing ``decided_frame_index``."""

    kind: str  # one of EVENT_KINDS
    foot: str  # "left" / "right" (named after tracking, see appliance.analysis.gait.feet), "" if none
    frame_index: int
    t_s: float
    decided_frame_index: int
    decided_t_s: float

    @property
    def lag_frames(self) -> int:
        return self.decided_frame_index - self.frame_index

    @property
    def lag_s(self) -> float:
        return self.decided_t_s - self.t_s


@dataclass(frozen=True, eq=False)
class FrameSample:
    """Filtered body points of one frame (image px) and what the tracker knew then."""

    index: int
    t_s: float
    head_px: np.ndarray
    shoulders_px: np.ndarray
    pelvis_px: np.ndarray
    heel_px: tuple[np.ndarray, np.ndarray]  # per foot track
    toe_px: tuple[np.ndarray, np.ndarray]
    raw_head_px: np.ndarray  # unfiltered: metrics average these over several frames instead (no lag)
    raw_shoulders_px: np.ndarray
    raw_pelvis_px: np.ndarray
    raw_heel_px: tuple[np.ndarray, np.ndarray]  # unfiltered: event timing uses these (no filter lag)
    raw_toe_px: tuple[np.ndarray, np.ndarray]
    ground: GroundFrame
    leg_length_px: float
    confident: bool  # torso and feet keypoints sure and inside the image
    feet_in_frame: bool
    # Per foot track: held this frame (the model put both feet on one spot; appliance.analysis.gait.feet):
    # its points are the track's last ones and the state machine skips the frame for that foot.
    held: tuple[bool, bool] = (False, False)

    def bottom_px(self, track: int) -> np.ndarray:
        """The foot's lowest point (heel or toe) in the gravity frame: its contact point."""
        h, t = self.heel_px[track], self.toe_px[track]
        return h if self.ground.height_px(h) < self.ground.height_px(t) else t

    def raw_bottom_px(self, track: int) -> np.ndarray:
        h, t = self.raw_heel_px[track], self.raw_toe_px[track]
        return h if self.ground.height_px(h) < self.ground.height_px(t) else t

    def midfoot_px(self, track: int) -> np.ndarray:
        return (self.heel_px[track] + self.toe_px[track]) / 2.0

    def raw_midfoot_px(self, track: int) -> np.ndarray:
        return (self.raw_heel_px[track] + self.raw_toe_px[track]) / 2.0


@dataclass(frozen=True, eq=False)
class Step:
    """One stance of one foot, from a detected contact to its toe-off."""

    foot: str
    track: int
    contact: GaitEvent
    midstance: GaitEvent
    toe_off: GaitEvent
    samples: tuple[FrameSample, ...]  # stance frames, contact .. last frame before toe-off
    previous_contact_t_s: float | None  # the runner's previous landing (either foot; cadence)
    running: bool  # a flight phase preceded this contact (no double support)
    direction: int  # +1 image-right, -1 image-left
    leg_length_px: float
    ground: GroundFrame  # the ground line as known at toe-off (more evidence than at contact)
    # The toe-off frame itself: the foot is usually still touching there (detected toe-offs are
    # 0.2-1.2 frames early against the sprint labels), and it is the push-off posture the lean is
    # judged on. None when that frame has no pose.
    toe_off_sample: FrameSample | None = None
    # The runner's step time (s) over the last few steps up to this contact (GaitTracker.step_time_s);
    # None when there is no earlier step.
    step_s: float | None = None
    # The step time from the pelvis's bounce over the last few seconds (GaitTracker.bounce_step_s);
    # None where the bounce is not clear (standing, a start, an accelerating sprint).
    bounce_step_s: float | None = None
    # A landing carried back along the ground's motion (GaitTracker._carried_from) can have been
    # seen on the other track's points (the model swapped or lost the feet there): the track whose
    # points were at the landing (None: ``track``), and the first frame the stance was seen
    # planted on its own track's points (None: the contact's). The stance's foot measures use them.
    landing_track: int | None = None
    seen_from_index: int | None = None
    # Where the landing was placed inside a loss of the points (GaitTracker._across_loss), the frame
    # that last showed the foot before it, hovering where it came down: the landing's position is
    # read there (None: at the contact frame).
    landing_sample: FrameSample | None = None
    # How fast the body moved over the ground up to the toe-off (GaitTracker.body_speed_ll_s: the
    # pelvis's image motion over body_speed_window_s less the ground's), leg lengths/s; None where
    # that was not known.
    body_speed_ll_s: float | None = None


@dataclass(frozen=True, eq=False)
class Initiation:
    """Still → first step: the push foot leaving its start position."""

    event: GaitEvent
    track: int
    samples: tuple[FrameSample, ...]  # the last frames on the push foot, up to the push-off
    direction: int
    leg_length_px: float
    ground: GroundFrame
