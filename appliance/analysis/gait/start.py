"""Running initiation (design §2): a still period, then both feet leaving their start places.

A mixin of ``GaitTracker``: it reads the tracker's frame buffer, its per-frame "planted" decisions
and its feet's ground state machines, and reports through the tracker's event list, so the start
and the strides that follow share one timeline. ``StartState`` is the start's own state: armed in
the set position, the feet's departures, a start found but not yet confirmed.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from appliance.analysis.gait.direction import DirectionEstimator
from appliance.analysis.gait.events import FrameSample, Initiation
from appliance.analysis.gait.frames import TIME_EPS_S, frames_covering
from appliance.analysis.gait.ground import GroundEstimator
from appliance.config import GaitConfig

log = logging.getLogger(__name__)

# A still runner whose trunk (pelvis → shoulders) is further than this from vertical is crouched
# (set in the blocks, a three-point start): measured 51-128° on the 17 labelled block starts while
# set, 0-18° on the mocap standing starts. Halfway: nearer horizontal than vertical.
CROUCHED_TRUNK_DEG = 45.0


@dataclass
class StartState:
    """Initiation: still period → both feet leave their start positions."""

    armed: bool = False
    armed_t_s: float = 0.0
    ref_pelvis_px: np.ndarray | None = None
    ref_toe_px: tuple[np.ndarray, np.ndarray] | None = None
    departed: list[int | None] = field(default_factory=lambda: [None, None])  # frame each foot was clear
    armed_index: int = 0
    crouched: bool = False  # trunk nearer horizontal than vertical while still (CROUCHED_TRUNK_DEG)
    far_run: list[int] = field(default_factory=lambda: [0, 0])  # + frames far from / - near its start place
    pending: tuple[int, int, int] | None = None  # (push foot, frame, direction) of a start not yet confirmed


class StartDetection:
    """Initiation of a ``GaitTracker``: arms on a still period, fires when both feet have left."""

    # Provided by GaitTracker, as are _fs, leg_length_px, _step, _dt_s, _frames_for, _index_span,
    # _sample_before, _samples_between, _stepping, body_speed_ll_s and _event.
    cfg: GaitConfig
    buffer: deque[FrameSample]
    direction: DirectionEstimator
    ground: GroundEstimator
    initiations: list[Initiation]
    _planted: dict[int, tuple[bool, bool]]
    _start: StartState

    @property
    def _in_start(self) -> bool:
        """A start is armed (set position) or waiting for its confirmation."""
        return self._start.armed or self._start.pending is not None

    def _still_window(self, j: FrameSample) -> list[FrameSample]:
        """The frames of the last ``still_min_s`` up to ``j``."""
        span = self._index_span(self.cfg.still_min_s)
        return [s for s in self.buffer if j.index - span < s.index <= j.index]

    def _still_for(self, j: FrameSample) -> bool:
        """Pelvis and both feet within still_range_ll for the last still_min_s, feet planted."""
        cfg = self.cfg
        window = self._still_window(j)
        # The window's time, not its frame count: a frame the camera dropped (or one without a
        # pose) says nothing about motion, and one missing frame made a set sprinter "not still"
        # for a whole window (a11 with 5 % of frames dropped: no re-arm after the "set" rise, no
        # start). Half the frames at least, so the stillness is seen, not assumed.
        if (2 * len(window) < self._frames_for(cfg.still_min_s)
                or window[-1].t_s - window[0].t_s < 0.8 * cfg.still_min_s):
            return False
        # Mostly planted: single frames of jitter must not break a still period.
        if np.mean([self._planted.get(s.index, (False, False)) == (True, True) for s in window]) < 0.8:
            return False
        ll = j.leg_length_px
        # Each foot by its midpoint: the lower of heel and toe flips between the two on a flat foot
        # (they are level within a pixel), a jump of a foot length with no motion at all.
        for pts in ([s.pelvis_px for s in window], [s.midfoot_px(0) for s in window],
                    [s.midfoot_px(1) for s in window]):
            if np.max(np.ptp(np.asarray(pts), axis=0)) / ll > cfg.still_range_ll:
                return False
        return True

    def _trunk_from_vertical_deg(self, j: FrameSample) -> float:
        """Median trunk angle (pelvis → shoulders) from the ground normal over the still window, unsigned."""
        window = self._still_window(j) or [j]
        g = j.ground
        trunks = [s.raw_shoulders_px - s.raw_pelvis_px for s in window]
        return float(np.median([math.degrees(math.atan2(abs(float(v @ g.along)), float(v @ g.up))) for v in trunks]))

    def _plant_ended(self, k: int, index: int, first: int) -> int:
        """The frame after foot ``k`` was last planted for a run of frames covering ``min_stance_s``
        (two frames at least), at or before ``index`` (and after ``first``); ``index`` itself when
        there is none.

        A foot standing on flat ground leaves it as a stride's foot does: its plant state (low and
        moving with the ground) ends, as every toe-off's. A shorter plant in the push is jitter: a
        single frame (mocap 104_06 at 30 fps), or two at 60 fps, where a slowly lifting foot's speed
        dips under the plant speed for 33 ms (104_06, 8 of 40 jitter seeds: starts 4 frames late).
        No foot stands on the ground for less than the shortest stance.
        """
        need = max(2, frames_covering(self.cfg.min_stance_s, self._dt_s))
        seen = self._samples_between(first + 1, index - 1)  # the frames seen: none where one was dropped
        run = 0
        for n in range(len(seen) - 1, -1, -1):
            planted = self._planted.get(seen[n].index)
            run = run + 1 if planted is not None and planted[k] else 0
            if run >= need:
                return seen[n + need].index if n + need < len(seen) else index
        return index

    def _update_start(self, j: FrameSample, now: FrameSample) -> None:
        cfg, st = self.cfg, self._start
        if self._still_for(j):
            # Still now: armed from this posture. A foot that "left" before was no start (a start
            # moves the body at once, so its window is never still): "on your marks" → "set", or
            # a camera drifting over a set sprinter moving the toes off their first places (a10).
            # At once, not after a whole still window past that departure: where the camera drops
            # frames the still stretch is not always that long (a10 with every 10th frame
            # dropped: 178-190, the fidget timeout then disarmed the start and none fired).
            st.pending = None
            st.armed, st.armed_t_s, st.armed_index = True, j.t_s, j.index
            st.crouched = self._trunk_from_vertical_deg(j) > CROUCHED_TRUNK_DEG
            st.ref_pelvis_px = j.pelvis_px.copy()
            st.ref_toe_px = (j.raw_toe_px[0].copy(), j.raw_toe_px[1].copy())
            st.departed = [None, None]
            st.far_run = [0, 0]
            for k in (0, 1):  # both feet down and still: the stance did not start with a contact
                self._fs[k].stance_contact = None
                # Landings before the set position (walking in, kneeling down) are no steps of
                # the run to come: its cadence counts from its own first landings.
                self._fs[k].recent_contacts_t_s.clear()
            return
        if st.pending is not None:
            self._confirm_start(st.pending, j, now)
            return
        if not st.armed or st.ref_toe_px is None or st.ref_pelvis_px is None:
            return
        # A foot has left its start position when its toe is start_clear_ll (about a foot length)
        # from where it rested, two frames in a row (in the blocks the feet are close together and
        # a one-frame left/right mix-up of the model can put a toe on the other foot). The push
        # foot rolls and slides a few frames before that; "clear" is the sprint labellers' block
        # clearance.
        for k in (0, 1):
            if j.held[k]:
                continue  # no observation of this foot (appliance.analysis.gait.feet): its run neither grows nor breaks
            far = np.linalg.norm(j.raw_toe_px[k] - st.ref_toe_px[k]) / j.leg_length_px >= cfg.start_clear_ll
            to_other_ll = np.linalg.norm(j.raw_toe_px[k] - st.ref_toe_px[1 - k]) / j.leg_length_px
            on_other = to_other_ll < 0.5 * cfg.start_clear_ll
            if far and on_other:
                # Off its own rest place but on the other foot's (within half a clearance of it): in
                # the blocks the model moves a foot's points onto the other pedal for frames at a
                # time (b8 on one input: five frames before the clearance, a start 5 frames early),
                # and a rear foot swinging through passes the front one. Neither is news: the run
                # neither grows nor breaks. Half, not a whole clearance: the model's two rest places
                # in the blocks are only 0.1-0.25 leg lengths apart, so a whole one also covered the
                # front foot's first real move off its pedal (a8: a start 3 frames late).
                continue
            st.far_run[k] = max(st.far_run[k], 0) + 1 if far else min(st.far_run[k], 0) - 1
            if st.far_run[k] >= 2 and st.departed[k] is None:
                before = self._sample_before(j.index)  # the first of the two: the frame seen before
                st.departed[k] = j.index - self._step if before is None else before.index
            elif st.far_run[k] <= -2:
                st.departed[k] = None  # back at its start place for 2 frames: it had not left
        first = min((x for x in st.departed if x is not None), default=None)
        if first is not None and j.index - first > self._index_span(cfg.max_step_s):
            # One foot moved and the other did not follow within a step's time: a fidget, not a
            # start (the demo clip's backflipper shuffled one foot 0.9 s before his take-off).
            st.armed = False
            return
        if st.departed[0] is None or st.departed[1] is None:
            return
        shift = float(j.ground.along_px(j.pelvis_px) - j.ground.along_px(st.ref_pelvis_px))
        if abs(shift) / j.leg_length_px < cfg.start_pelvis_move_ll:
            return  # not moving yet (a fidget is cleared by the timeout above)
        # The start is the push foot leaving: the foot that leaves last.
        push = 0 if st.departed[0] >= st.departed[1] else 1
        index = st.departed[push]
        if not st.crouched:
            index = self._plant_ended(push, index, st.armed_index)
        if not self._stepping(index):
            # The start is also a toe-off, and a foot leaves for a step only while the body moves
            # over the ground: a hand-held camera drifting over a kneeling sprinter moves toes and
            # pelvis together across the image (a14: 0.09 leg lengths/s; real starts 0.7-3.7).
            return
        direction = self.direction.fixed or (1 if shift > 0 else -1)
        self.direction.seed(direction)
        st.armed = False
        st.pending = (push, index, direction)
        # Both feet are off their start places: the state machine takes over from here.
        for k in (0, 1):
            self._fs[k].stance_contact = None

    def _confirm_start(self, pending: tuple[int, int, int], j: FrameSample, now: FrameSample,
                       stepped: bool = False) -> None:
        """A start is a run's first toe-off, so the body goes on moving over the ground after it.

        Decided once ``body_speed_window_s`` after the push foot left has been seen, on the body's
        speed over exactly that window: a runner accelerates through it (sprints 1.8-3.7 leg
        lengths/s), while a hand-held camera's drift over a kneeling sprinter (a14) moves toes and
        pelvis for a few frames and stops. Costs that window of decision lag (0.3 s), less where a
        whole step (``stepped``: a contact and its toe-off, the body moving) comes first.
        """
        st = self._start
        push, index, direction = pending
        after = index + self._index_span(self.cfg.body_speed_window_s)
        if j.index < after and not stepped:
            return
        st.pending = None
        if not stepped and not self._stepping(after):
            log.debug("start at frame %d dropped: the body did not go on moving (%.2f leg lengths/s)",
                      index, self.body_speed_ll_s(after) or 0.0)
            return
        ev = self._event("initiation", push, index, now)
        # The push foot's toe-off, unless its stance's own end was reported there already (the start
        # is decided 0.3 s later: b7, the state machine's toe-off a frame after the clearance).
        reported = self._fs[push].reported_toe_off_t_s
        if reported is None or abs(reported - ev.t_s) >= self.cfg.min_step_s - TIME_EPS_S:
            self._event("toe_off", push, index, now)
        # The push-off posture: the last frames on the push foot. A crouched start's index is the
        # toe clear of its block, so they end just before it; a standing start's is a toe-off as a
        # stride's, whose frame the foot still touches (Step.toe_off_sample), so they end with it.
        last = index - self._step if st.crouched else index
        samples = self._samples_between(last - self._index_span(0.25), last)
        self.initiations.append(Initiation(ev, push, samples, direction, self.leg_length_px,
                                           self.ground.frame or now.ground))
