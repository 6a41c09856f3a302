"""A second, kinematic event method to compare the state machine with: foot-vs-pelvis extrema.

Zeni, Richards & Higginson (2008) time running events from the feet's horizontal motion relative to
the pelvis: a foot **lands** when it is farthest ahead of the pelvis (heel − pelvis along the
direction of travel at a maximum) and **leaves** when it is farthest behind (toe − pelvis at a
minimum). The pelvis-relative signal ignores the ground's own motion (treadmill belt, panning
camera) and needs no ground line or height threshold; but an extremum is only known once the
signal has turned, and any swap of the feet in the keypoints moves an extremum to the wrong track.

Here it runs offline (``leancam eval --events extrema``) on the same tracks the streaming tracker
builds (feet kept apart by continuity, One-Euro smoothed), so the two methods differ only in the
event rule. It is a measuring tool: the appliance uses ``GaitTracker``'s events
(docs/analysis.md, "Two event methods").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
from scipy.signal import find_peaks

from appliance.analysis.gait.events import FrameSample, GaitEvent
from appliance.analysis.gait.tracker import GaitTracker

log = logging.getLogger(__name__)

# An extremum must stand out by this much (leg lengths) from the signal around it: the feet swing
# about ±0.5 leg lengths about the pelvis in every stride; keypoint jitter is ~0.05.
PROMINENCE_LL = 0.15
# One foot's extrema of one kind are a stride apart: two steps of at least 0.2 s.
MIN_STRIDE_S = 0.4


def _events_of(samples: list[FrameSample], tracker: GaitTracker) -> list[GaitEvent]:
    if len(samples) < 3:
        return []
    d = tracker.direction.sign
    t = np.array([s.t_s for s in samples])
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1 / 30
    distance = max(1, round(MIN_STRIDE_S / max(dt, 1e-6)))
    pelvis = np.array([s.ground.along_px(s.pelvis_px) for s in samples])
    ll = np.array([s.leg_length_px for s in samples])
    events: list[GaitEvent] = []
    for k in (0, 1):
        heel = d * (np.array([s.ground.along_px(s.heel_px[k]) for s in samples]) - pelvis) / ll
        toe = d * (np.array([s.ground.along_px(s.toe_px[k]) for s in samples]) - pelvis) / ll
        name = tracker.feet.tracks[k].name
        for kind, signal in (("contact", heel), ("toe_off", -toe)):
            peaks, _ = find_peaks(signal, prominence=PROMINENCE_LL, distance=distance)
            for p in peaks:
                s = samples[int(p)]
                # Offline: decided where found. Live it could be decided only once the signal has
                # turned, a few frames later (docs/analysis.md).
                events.append(GaitEvent(kind, name, s.index, s.t_s, s.index, s.t_s))
    return sorted(events, key=lambda e: (e.frame_index, e.kind))


def extrema_events(analyzer_frames: Iterable[tuple[GaitTracker, FrameSample]]) -> list[GaitEvent]:
    """Contacts and toe-offs by foot-vs-pelvis extrema, from (tracker, newest sample) pairs as the
    streaming analyzer produced them (a new tracker = a new runner: extrema never span two)."""
    events: list[GaitEvent] = []
    current: GaitTracker | None = None
    run: list[FrameSample] = []
    for tracker, sample in analyzer_frames:
        if tracker is not current:
            if current is not None:
                events += _events_of(run, current)
            current, run = tracker, []
        run.append(sample)
    if current is not None:
        events += _events_of(run, current)
    return events
