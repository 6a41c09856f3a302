"""Draw an analysis onto the video: skeleton, the foot→pelvis→head line coloured by verdict, events.

Used by ``leancam analyze --annotate OUT.mp4`` to check events and verdicts by eye. The drawing
works on the analysis result and the pose frames; decoding and encoding are the caller's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from appliance.analysis.analyzer import AnalysisResult
from appliance.pose import overlay
from appliance.pose.types import PoseFrame
from appliance.sources.base import Frame

log = logging.getLogger(__name__)

VERDICT_COLOUR = {"go": overlay.GREEN, "no_go": overlay.RED, "unsure": overlay.AMBER}
EVENT_SHOWN_S = 0.3  # an event's label stays on screen this long (source time)


def _lines(result: AnalysisResult) -> dict[int, tuple[np.ndarray, tuple[int, int, int], str]]:
    """Frame index → (3 points foot, pelvis, head; colour; caption) over each stride's stance."""
    out: dict[int, tuple[np.ndarray, tuple[int, int, int], str]] = {}
    for st in result.strides:
        colour = VERDICT_COLOUR.get(st.verdict, overlay.WHITE)
        caption = f"{st.step.foot} {st.metrics.lean_deg:.0f}deg {st.verdict} {' '.join(st.reasons)}".strip()
        for s in st.step.samples:
            pts = np.stack([s.raw_bottom_px(st.step.track), s.raw_pelvis_px, s.raw_head_px])
            out[s.index] = (pts, colour, caption)
    if result.start is not None:
        init = result.start
        colour = VERDICT_COLOUR.get(init.verdict, overlay.WHITE)
        for s in init.initiation.samples:
            pts = np.stack([s.raw_bottom_px(init.initiation.track), s.raw_pelvis_px, s.raw_head_px])
            out.setdefault(s.index, (pts, colour, f"start {init.verdict} {' '.join(init.reasons)}".strip()))
    return out


def annotate(video_frames: Iterable[Frame], poses: list[PoseFrame], result: AnalysisResult) -> Iterator[np.ndarray]:
    """Yield annotated RGB images, one per video frame."""
    by_index = {p.index: p for p in poses}
    lines = _lines(result)
    events = sorted(result.events, key=lambda e: e.frame_index)
    times = {p.index: p.t_s for p in poses}
    for frame in video_frames:
        img = frame.rgb.copy()
        pose = by_index.get(frame.index)
        if pose is not None and pose.landmarks is not None:
            overlay.draw_skeleton(img, pose.landmarks)
        t = max(1, round(min(img.shape[:2]) / 200))
        if frame.index in lines:
            pts, colour, caption = lines[frame.index]
            p = np.round(pts).astype(np.int32)
            cv2.line(img, tuple(p[0]), tuple(p[1]), colour, t + 1, cv2.LINE_AA)
            cv2.line(img, tuple(p[1]), tuple(p[2]), colour, t + 1, cv2.LINE_AA)
            overlay.draw_label(img, caption, (10, img.shape[0] - 15), colour)
        now = times.get(frame.index, frame.t_s)
        shown = [e for e in events if 0 <= now - times.get(e.frame_index, now) <= EVENT_SHOWN_S
                 and e.frame_index <= frame.index]
        for row, e in enumerate(shown[-4:]):
            overlay.draw_label(img, f"{e.kind} {e.foot} (lag {e.lag_frames} fr)", (10, 30 + 28 * row))
        overlay.draw_label(img, f"frame {frame.index}", (img.shape[1] - 160, 30))
        yield img
