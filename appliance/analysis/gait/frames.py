"""Durations in frames: the tracker decides in real time but counts frames, at any frame rate."""

from __future__ import annotations

import math


def frames_for(seconds: float, frame_s: float) -> int:
    """How many frames of ``frame_s`` real seconds make ``seconds`` (at least 1)."""
    return max(1, round(seconds / max(frame_s, 1e-6)))


def frames_covering(seconds: float, frame_s: float) -> int:
    """The fewest frames of ``frame_s`` real seconds that span ``seconds`` (0 for 0)."""
    return math.ceil(seconds / max(frame_s, 1e-6) - 1e-6)
