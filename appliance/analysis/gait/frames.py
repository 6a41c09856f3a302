"""Durations in frames: the tracker decides in real time but counts frames, at any frame rate."""

from __future__ import annotations

import math

# A duration within this share of a frame of a whole number (or a half) of frames is that number:
# the frame interval is estimated from timestamps rounded to the microsecond, so a limit that is
# whole frames at a common rate (0.1 s at 30 or 60 fps, 0.05 s = 1.5 frames at 30) read either side
# of it from clip to clip (male_side at 60 fps: 5.99999 frames, or 6.00002 with a capture rate of 60
# given for its 59.999 fps; its contacts moved by up to 5 frames between the two).
FRAME_TOLERANCE = 1e-3
# Durations are compared with this tolerance (s): the limits are round numbers that are whole
# frames at the common rates (0.1 s: 3 frames at 30 fps, 5 at 50, 6 at 60), and frame times are
# timestamps rounded to the microsecond, scaled by a capture rate that is a rounded number too, and
# differenced in floating point. A duration within it of a limit has reached it: b8 at 30.000 fps
# read 3 frames as 0.09999999 s (its first landing after the start was "too soon"), and male_side
# at 60 fps moved contacts by up to 5 frames between a capture rate of 60 and none.
TIME_EPS_S = 1e-4


def frames_for(seconds: float, frame_s: float) -> int:
    """How many frames of ``frame_s`` real seconds make ``seconds`` (at least 1): the nearest whole
    number, a half rounded down (0.05 s at 30 fps is 1 frame, whatever the timestamps' rounding)."""
    return max(1, math.ceil(seconds / max(frame_s, 1e-6) - 0.5 - FRAME_TOLERANCE))


def frames_covering(seconds: float, frame_s: float) -> int:
    """The fewest frames of ``frame_s`` real seconds that span ``seconds`` (0 for 0)."""
    return max(0, math.ceil(seconds / max(frame_s, 1e-6) - FRAME_TOLERANCE))
