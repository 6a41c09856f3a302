"""The streaming gait tracker: one PoseFrame in, the events decided at that frame out.

Per frame: body points (``body``) → feet kept apart by continuity (``feet``) → causal One-Euro
smoothing in leg-length units (``filters``, for the metrics) → ground line (``ground``) →
direction of travel (``direction``) → per-foot "planted" state → contact / toe-off (confirmed),
midstance (decided at toe-off) → running initiation (``start``).

A foot is **planted** when its heel or toe is near the ground line *and* not moving over the ground.
The second part is what makes the timing sharp: BlazePose's foot points jitter vertically by
~0.05 leg lengths on a small runner (as much as the toe rises at toe-off), but a planted toe stays
within a pixel or two horizontally, and a landing or leaving foot moves by many. Motion is measured
over the next ~1/30 s (a forward difference: that is part of the decision lag) relative to the
ground's own image motion, which is zero for a fixed camera, the belt speed on a treadmill and the
pan speed for a panning camera (measured over the last stances, ``ground.StanceGroundSpeed``).

Nothing looks further ahead than that and the confirmation frames, so each event is decided a few
frames after it happened; every event carries that lag. The same object runs live and offline.
"""

from __future__ import annotations

import logging
import math
from collections import deque

import numpy as np

from appliance.analysis.gait import cadence
from appliance.analysis.gait.body import BodyPoints, frame_body
from appliance.analysis.gait.bounce import step_period_s
from appliance.analysis.gait.cadence import SHORTEST_STEP_S
from appliance.analysis.gait.direction import DirectionEstimator
from appliance.analysis.gait.events import FrameSample, GaitEvent, Initiation, Step
from appliance.analysis.gait.feet import FootTracker
from appliance.analysis.gait.filters import OneEuroFilter
from appliance.analysis.gait.footstate import LEFT, PLANTED, FootState, confirmed_change, left_at
from appliance.analysis.gait.frames import TIME_EPS_S, frames_covering, frames_for
from appliance.analysis.gait.ground import OUTLIER_FRACTION, GroundEstimator, GroundFrame, StanceGroundSpeed
from appliance.analysis.gait.start import StartDetection, StartState
from appliance.config import GaitConfig
from appliance.pose.types import PoseFrame

log = logging.getLogger(__name__)

# Samples kept for metrics: a stance plus margin even for slow-motion clips.
BUFFER_FRAMES = 600
# A running or walking pelvis rises and falls 0.05-0.1 leg lengths a step (sd ~0.02-0.035); less
# than this (sd, leg lengths) once the trend is removed is no bounce.
MIN_BOUNCE_LL = 0.005
# A landing carried back over the ground's motion (GaitTracker._carried_from) may pass frames where
# no point of either foot is on the landed foot's track for at most this long (s): the slow-motion
# treadmill at 30-60 fps loses the stance foot just after its landing for 2-5 frames (0.07-0.1 s).
LOST_FOOT_S = 0.1


def motion_window_frames(cfg: GaitConfig, frame_s: float) -> int:
    """Frames between a frame and the one its motion is measured to (at least 1)."""
    return frames_for(cfg.motion_window_s, frame_s)


def confirm_window_frames(cfg: GaitConfig, frame_s: float) -> int:
    """Frames a planted / not-planted change must hold (``confirm_frames`` and ``confirm_s``)."""
    return max(cfg.confirm_frames, frames_covering(cfg.confirm_s, frame_s))


def decision_lag_frames(cfg: GaitConfig, frame_s: float) -> int:
    """Frames after a toe-off (or a contact's first frame down) before it can be decided
    (``frame_s``: real seconds per frame)."""
    return motion_window_frames(cfg, frame_s) + confirm_window_frames(cfg, frame_s) - 1


def contact_lag_frames(cfg: GaitConfig, frame_s: float) -> int:
    """Frames after a contact before it is decided: confirmed, then placed from the frames of the
    stance's first ``contact_settle_s`` (GaitTracker._settle_contacts)."""
    return max(decision_lag_frames(cfg, frame_s), frames_covering(cfg.contact_settle_s, frame_s))


class GaitTracker(StartDetection):
    """Feed ``push(frame)``; collect ``events``, ``steps`` and ``initiations`` as they are decided."""

    def __init__(self, config: GaitConfig | None = None, time_scale: float = 1.0,
                 direction: int | None = None, time_origin_s: float | None = None) -> None:
        """``direction``: +1 / −1 to fix the direction of travel (``[unit] direction``), None to estimate it.
        ``time_origin_s``: the (scaled) source time that is t = 0, None = this tracker's first frame; a
        tracker started for a new runner mid-stream keeps the stream's origin so its times line up."""
        self.cfg = config or GaitConfig()
        # Real seconds per source second (slow motion: source fps / capture fps).
        self.time_scale = time_scale
        self.feet = FootTracker(self.cfg.max_gap_s, self.cfg.feet_collapse_ll)
        self.ground = GroundEstimator()
        self.direction = DirectionEstimator(fixed=direction)
        self.filter = OneEuroFilter(self.cfg.filter_min_cutoff_hz, self.cfg.filter_beta,
                                    max_gap_s=self.cfg.max_gap_s)
        self.buffer: deque[FrameSample] = deque(maxlen=BUFFER_FRAMES)
        self._legs: deque[float] = deque(maxlen=300)
        self._ground_v: deque[np.ndarray] = deque(maxlen=64)
        self._stance_ground = StanceGroundSpeed(max_stance_s=self.cfg.max_step_s)
        self._planted: dict[int, tuple[bool, bool]] = {}
        self._fs = [FootState(), FootState()]
        self._start = StartState()
        self._last_t: float | None = None
        self._last_index: int | None = None
        self._index_steps: deque[int] = deque(maxlen=32)
        self._last_pose_t: float | None = None
        self._first_t: float | None = time_origin_s
        self._dt_s = 1 / 30
        self.events: list[GaitEvent] = []
        self.steps: list[Step] = []
        self.initiations: list[Initiation] = []
        self.ground_velocity_px_s = 0.0
        self.frames_seen = 0
        self.frames_with_pose = 0
        self.frames_confident = 0

    # ----------------------------------------------------------------- helpers
    @property
    def leg_length_px(self) -> float:
        return float(np.median(self._legs)) if self._legs else 100.0

    def _frames_for(self, seconds: float) -> int:
        return frames_for(seconds, self._dt_s)

    @property
    def _step(self) -> int:
        """Source frame indices from one analysed frame to the next: 1, or N where only every N-th
        frame of a high-speed clip is analysed (``leancam eval --every``). Frame counts are in
        analysed frames; an index that many frames away is that many steps."""
        return min(self._index_steps) if self._index_steps else 1

    def _index_span(self, seconds: float) -> int:
        """Source frame indices spanned by ``seconds`` of analysed frames: that many frames times
        their mean spacing (``_step`` where no frame was dropped; where the camera dropped some, the
        frames are further apart than the smallest step, and the span in frames alone fell short:
        with every third frame dropped a 0.4 s still window held 0.23 s, and no start fired)."""
        return self._index_span_of(self._frames_for(seconds))

    def _index_span_of(self, frames: int) -> int:
        """Source frame indices spanned by ``frames`` analysed frames (``_index_span``)."""
        steps = self._index_steps
        return round(frames * (sum(steps) / len(steps) if steps else 1.0))

    def _sample_at(self, index: int) -> FrameSample | None:
        for s in reversed(self.buffer):
            if s.index == index:
                return s
            if s.index < index:
                return None
        return None

    def _sample_before(self, index: int) -> FrameSample | None:
        """The last frame seen before ``index``: the one before it, or the one before a gap where
        frames were dropped (the live frame queue drops the oldest when the model falls behind)."""
        for s in reversed(self.buffer):
            if s.index < index:
                return s
        return None

    def _samples_between(self, first: int, last: int) -> tuple[FrameSample, ...]:
        return tuple(s for s in self.buffer if first <= s.index <= last)

    def _event(self, kind: str, track: int, index: int, now: FrameSample, foot: str | None = None) -> GaitEvent:
        s = self._sample_at(index) or now
        ev = GaitEvent(kind, foot if foot is not None else self.feet.tracks[track].name, index, s.t_s,
                       now.index, now.t_s)
        self.events.append(ev)
        log.debug("%s %s at frame %d (lag %d frames)", kind, ev.foot, index, ev.lag_frames)
        return ev

    def _reset_tracking(self) -> None:
        self.feet.reset()
        self.filter.reset()
        self.buffer.clear()
        self._ground_v.clear()
        self._stance_ground.clear()
        self._fs = [FootState(), FootState()]
        self._start = StartState()

    def other_foot_landed_near(self, track: int, t_s: float, window_s: float) -> bool:
        """Did the other foot track land within ``window_s`` of ``t_s`` (one of its recent contacts,
        or a landing confirmed but not placed yet: it is down, and its frame only moves later)?"""
        other = self._fs[1 - track]
        times = list(other.recent_contacts_t_s)
        pending = self._sample_at(other.pending_contact) if other.pending_contact is not None else None
        if pending is not None:
            times.append(pending.t_s)
        return any(abs(t - t_s) <= window_s for t in times)

    def body_speed_ll_s(self, index: int) -> float | None:
        """How fast the body moves over the ground around frame ``index`` (leg lengths/s, unsigned).

        The pelvis's image motion along the ground over the last ``body_speed_window_s`` minus the
        ground's own image motion (zero for a fixed camera, the belt on a treadmill, the pan). None
        until that much has been seen.
        """
        s = self._sample_before(index + 1)  # the frame itself, or the last seen before it where it was dropped
        if s is None:
            return None
        first = s.t_s - self.cfg.body_speed_window_s
        window = [x for x in self.buffer if first - TIME_EPS_S <= x.t_s <= s.t_s]
        if len(window) < 2 or window[-1].t_s - window[0].t_s < 0.5 * self.cfg.body_speed_window_s:
            return None
        a, b = window[0], window[-1]
        # Both points in one ground frame: the estimator refits its line, and its origin moves with
        # the feet it has seen, so positions along two frames' lines differ by the origin's move too
        # (a4: a sprinter's 3.7 leg lengths/s read as 0.11 and the start was dropped).
        v = float(b.ground.along_px(b.raw_pelvis_px) - b.ground.along_px(a.raw_pelvis_px)) / (b.t_s - a.t_s)
        return abs(v - self.ground_velocity_px_s) / s.leg_length_px

    def _stepping(self, index: int) -> bool:
        """Is the body moving over the ground fast enough at ``index`` for a foot event to be a step?"""
        speed = self.body_speed_ll_s(index)
        return speed is None or speed >= self.cfg.min_step_speed_ll_s

    def height_ll(self, s: FrameSample, track: int, raw: bool = True) -> float:
        p = s.raw_bottom_px(track) if raw else s.bottom_px(track)
        return float(s.ground.height_px(p)) / s.leg_length_px

    # ----------------------------------------------------------------- main entry
    @property
    def time_origin_s(self) -> float | None:
        """The scaled frame time that event times count from (None until the first frame)."""
        return self._first_t

    def push(self, frame: PoseFrame) -> list[GaitEvent]:
        """Process one frame; returns the events decided at this frame (possibly about earlier ones)."""
        return self.push_body(frame, frame_body(frame))

    def push_body(self, frame: PoseFrame, bp: BodyPoints | None) -> list[GaitEvent]:
        """``push`` with the frame's body points already derived (``body.frame_body``)."""
        n_before = len(self.events)
        self.frames_seen += 1
        t = frame.t_s * self.time_scale
        if self._first_t is None:
            self._first_t = t
        t -= self._first_t
        if self._last_t is not None and t > self._last_t:
            # Typical frame interval (robust to the odd dropped frame).
            self._dt_s = 0.9 * self._dt_s + 0.1 * min(t - self._last_t, 2 * self._dt_s)
        self._last_t = t
        if self._last_index is not None and frame.index > self._last_index:
            self._index_steps.append(frame.index - self._last_index)
        self._last_index = frame.index
        if bp is None:
            # No pose; or one not analysable (points not finite, a person too small): no news.
            if frame.landmarks is None and self._last_pose_t is not None and t - self._last_pose_t > self.cfg.max_gap_s:
                self._reset_tracking()
            return []
        self.frames_with_pose += 1
        if self._last_pose_t is not None and t - self._last_pose_t > self.cfg.max_gap_s:
            self._reset_tracking()
        self._last_pose_t = t
        sample = self._smooth(frame.index, t, bp)
        self.buffer.append(sample)
        if sample.confident:
            self.frames_confident += 1
        self._update_feet(sample)
        return self.events[n_before:]

    def _on_ground(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per foot track: the ground's image velocity (px/s) if the foot is in a stance (its
        state machine says grounded: confirmed, so one jittery frame does not end it), else None."""
        frame = self.ground.frame
        if frame is None:
            return (None, None)
        v = self.ground_velocity_px_s * frame.along
        return tuple(v if st.grounded else None for st in self._fs)  # type: ignore[return-value]

    def _stance_track(self) -> int | None:
        """The foot track in a stance while the other is in the air (running), else None.

        None while a start is armed or waiting for confirmation: in the set position both feet are
        down and the start logic follows each foot from its own rest place (a push foot that lifts
        a few pixels from the other is no running stance to anchor the pairing on).
        """
        if self._in_start:
            return None
        down = [st.grounded is True for st in self._fs]
        up = [st.grounded is False for st in self._fs]
        if down[0] and up[1]:
            return 0
        if down[1] and up[0]:
            return 1
        return None

    def _smooth(self, index: int, t: float, bp: BodyPoints) -> FrameSample:
        self._legs.append(bp.leg_length_px)
        ll = self.leg_length_px
        feet = self.feet.assign(t, bp.feet, ll, self._on_ground(), self._stance_track())
        raw = np.stack([bp.head_px, bp.shoulders_px, bp.pelvis_px, feet[0].heel_px, feet[0].toe_px,
                        feet[1].heel_px, feet[1].toe_px])
        # The speed that opens the filter is in leg lengths, so one beta fits every zoom level.
        sm = self.filter(t, raw, 1.0 / ll)
        lowest = raw[3:7][np.argmax(raw[3:7, 1])]
        ground = self.ground.add(lowest, ll, t)
        confident = (bp.torso_confidence >= self.cfg.min_confidence and bp.feet_confidence >= self.cfg.min_confidence
                     and bp.feet_in_frame and bp.body_in_frame)
        return FrameSample(index, t, sm[0], sm[1], sm[2], (sm[3], sm[5]), (sm[4], sm[6]), raw[0], raw[1], raw[2],
                           (raw[3], raw[5]), (raw[4], raw[6]), ground, ll, confident, bp.feet_in_frame,
                           self.feet.held)

    # ----------------------------------------------------------------- feet
    def _ground_velocity(self, j: FrameSample, nxt: FrameSample, heights: list[float]) -> float:
        """Image velocity of the ground along the ground line (px/s).

        Zero for a fixed camera, minus the belt speed on a treadmill, minus the pan speed for a
        panning camera. Whether the ground moves is read from single frames: candidates are the
        along-ground velocities of the lower foot while it is low, the estimate is the densest
        cluster of recent candidates (stance frames agree with each other, flight frames scatter),
        not their median, because sprinters spend less than half of each stride on the ground. How
        fast it moves, once two recent stances were measured whole, from them (``StanceGroundSpeed``:
        the cluster's mean wanders with the points' jitter).
        """
        g = j.ground
        dt = nxt.t_s - j.t_s
        vs = [float(g.along_px(nxt.raw_bottom_px(k)) - g.along_px(j.raw_bottom_px(k))) / dt for k in (0, 1)]
        # The lower foot, not the stiller one: on a treadmill the swing foot hovers still in the
        # image just above the belt before touching down, while the foot on the belt moves with it.
        low = int(np.argmin(heights))
        # A held foot did not move by definition: it must not vote for a still ground.
        if heights[low] < self.cfg.plant_height_ll and not (j.held[low] or nxt.held[low]):
            self._ground_v.append(vs[low])
        tol = self._ground_jitter_px_s(j.leg_length_px)
        n = self._frames_for(1.0)
        recent = np.asarray(list(self._ground_v)[-n:])
        if len(recent) < 3:
            return 0.0
        support = (np.abs(recent[:, None] - recent[None, :]) < tol).sum(axis=1)
        best = recent[np.abs(recent - recent[int(np.argmax(support))]) < tol]
        centre = float(np.mean(best))
        measured = self._stance_ground.speed_px_s(j.t_s, tol)
        # A fixed camera is what the appliance is: the ground is taken as still unless a moving
        # ground clearly explains more of the low-foot motion than a still one does. Once moving, it
        # stays so while the last stances were carried along (a belt does not stop for two frames
        # where the points jitter: male_side 246-247 split a stance so).
        still = int(np.sum(np.abs(recent) < tol))
        frames_say_still = abs(centre) < tol or len(best) < 1.5 * still
        stances_say_moving = self.ground_velocity_px_s != 0.0 and measured is not None and abs(measured) >= tol
        if frames_say_still and not stances_say_moving:
            return 0.0
        # How fast, whole stances measure best; but not more than twice what the moving frames
        # say: a stance mis-measured (its ends wrong) set a speed at which no foot read as planted,
        # so no stance came to correct it (treadmill_slowmo's 60 fps view, --perturb 2: 1300 px/s
        # against the frames' 250-390 for 1.2 s, no event in it). A slower measure stands: on a
        # fixed camera the stances' ~0 overrules a cluster of landing and leaving feet. Nor does
        # the limit hold a measure that agrees with the ground's speed so far: the frames' cluster
        # dips for a few frames (male_side with every 7th frame dropped: 1.2-1.35 leg lengths/s for
        # 8 frames against the belt's 2.9), and read as the ground's it made the body slow.
        if measured is not None and (frames_say_still or abs(measured) <= 2.0 * abs(centre)
                                     or abs(measured - self.ground_velocity_px_s)
                                     <= OUTLIER_FRACTION * abs(self.ground_velocity_px_s)):
            centre = measured
        # Nor does the ground move forward: a treadmill's belt carries the feet backward, and a
        # camera panning after the runner sweeps the ground backward through the image. A cluster
        # of low-foot motion the way the runner goes is the feet landing and leaving, not the
        # ground (sprint a15 `--perturb 1`: 2.6 leg lengths/s the sprinter's way, 12 such frames
        # against 8 still ones; read as ground motion it made the next stance "move" and lost it).
        if self.direction.known and centre * self.direction.sign > 0:
            return 0.0
        return centre

    def _ground_jitter_px_s(self, leg_length_px: float) -> float:
        """Ground speeds closer than this (px/s) are one speed: half the planted-foot speed limit."""
        return 0.5 * self.cfg.plant_speed_ll_s * leg_length_px

    def _update_feet(self, now: FrameSample) -> None:
        d = motion_window_frames(self.cfg, self._dt_s)
        if len(self.buffer) <= d:
            return
        j = self.buffer[-1 - d]  # the frame being decided: we now know its next ~motion_window_s
        if now.t_s <= j.t_s:
            return
        ll = j.leg_length_px
        heights = [self.height_ll(j, k) for k in (0, 1)]
        gv = self._ground_velocity(j, now, heights)
        self.ground_velocity_px_s = gv
        g = j.ground
        prev_d = self.buffer[-1 - 2 * d] if len(self.buffer) > 2 * d else None

        def speed_ll_s(k: int, a: FrameSample, b: FrameSample) -> float:
            # Along the ground only: vertical jitter of the foot points is the main noise, and
            # the height test covers the vertical. Heel or toe, whichever is stiller: the heel
            # is planted while the forefoot comes down, the toe while the heel rises.
            return min(abs(float(g.along_px(pb[k]) - g.along_px(pa[k])) / (b.t_s - a.t_s) - gv) / ll
                       for pa, pb in ((a.raw_heel_px, b.raw_heel_px), (a.raw_toe_px, b.raw_toe_px)))

        # Below ~30 fps one frame interval spans more of the touchdown / push-off motion, so the
        # average speed over it is higher for the same foot: the threshold scales with the window.
        plant_speed = self.cfg.plant_speed_ll_s * max(1.0, (now.t_s - j.t_s) / self.cfg.motion_window_s)
        planted, left = [], []
        for k in (0, 1):
            low = heights[k] < self.cfg.plant_height_ll
            # Contact: the first frame from which the foot stays put (forward difference).
            planted.append(low and speed_ll_s(k, j, now) < plant_speed)
            # Toe-off: the first frame at which the foot has moved off its place (backward
            # difference), i.e. the first frame off the ground, as labellers mark it.
            moved = prev_d is not None and prev_d.t_s < j.t_s and speed_ll_s(k, prev_d, j) >= plant_speed
            left.append(not low or moved)
        # A held foot (appliance.analysis.gait.feet: no observation of its own) brings no news about
        # the motion it is held over. Each test has its own two frames: "planted" j → now, "left"
        # the frame before → j. A foot seen at both of the latter has left its place or not whatever
        # happens at ``now`` (male_side: the swing foot's points drawn onto the landing foot at the
        # frame after a toe-off held that foot, and the toe-off was confirmed 2-3 frames late).
        known = [not (j.held[k] or now.held[k]) for k in (0, 1)]
        left_known = [not (j.held[k] or (prev_d is not None and prev_d.held[k])) for k in (0, 1)]
        for k in (0, 1):
            if not known[k] and self._fs[k].history:
                planted[k] = self._fs[k].history[-1][1]
        self._planted[j.index] = (planted[0], planted[1])
        # Forget what left the buffer: every older key, not the one index BUFFER_FRAMES back, which
        # is missing where that frame was dropped (its key would then stay for good).
        while self._planted and next(iter(self._planted)) <= j.index - BUFFER_FRAMES * self._step:
            del self._planted[next(iter(self._planted))]
        prev = self._sample_before(j.index)
        self.direction.update(j, prev, heights)
        # Confirmation window: at least confirm_frames frames and confirm_s of real time. A change
        # at frame a is an event once the window starting at a holds the new state in at least
        # confirm_fraction of its frames (at 30 fps: both of 2 frames). Slow-motion clips have many
        # frames per stance and their jitter must not split a stance, nor delay its contact.
        w = confirm_window_frames(self.cfg, self._dt_s)
        need = max(1, math.ceil(self.cfg.confirm_fraction * w - 1e-9))
        for k in (0, 1):
            st = self._fs[k]
            # Held at ``now`` only: news of a toe-off alone (its "planted" is the last decided, above).
            if known[k] or (left_known[k] and left[k] and st.grounded):
                if st.settling:
                    # Stays put again, or is up off the ground two frames running (a real
                    # departure: the landing was the model's points, the foot still in its swing).
                    st.up_frames = st.up_frames + 1 if heights[k] >= self.cfg.plant_height_ll else 0
                    st.settling = left[k] and st.up_frames < 2
                st.history.append((j.index, planted[k], left[k] and not st.settling))
            if st.grounded is None and len(st.history) > w:
                # The state the foot was in when tracking began (no event for it): the majority of
                # the first frames, so one jittery first frame does not make a "contact" at once.
                st.grounded = 2 * sum(x[1] for x in st.history) > len(st.history)
        self._settle_contacts(now)
        # Toe-offs first, so a contact decided at the same frame sees the other foot already gone.
        for k in (0, 1):
            st = self._fs[k]
            if st.grounded is True:
                index = confirmed_change(st, LEFT, w, need)
                if index is None:
                    continue
                self._settle_contacts(now, k, at_once=True)  # a stance's landing before its end
                not_yet = self._cannot_have_left(k, index, now)
                if not_yet is None:
                    if self._handed_over(k, index, now):
                        continue
                    left, lifted = self._reported_toe_off(k, index)
                    if self._body_not_past(k, index, lifted):
                        not_yet = "the body has not passed over the foot"
                if not_yet is not None:
                    # The landing's own sweep or a jump of the points. The stance goes on; its
                    # toe-off is the next departure after the foot has been seen staying put again
                    # (not this motion's continuation).
                    st.settling, st.up_frames = st.history[-1][LEFT], 0
                    for n, x in enumerate(st.history):
                        if x[0] >= index:
                            st.history[n] = (x[0], x[PLANTED], False)
                    log.debug("track %d: toe-off at frame %d ignored (%s)", k, index, not_yet)
                    continue
                if left != index:
                    log.debug("track %d: toe-off at frame %d placed at %d, the other foot's landing", k, index, left)
                self._toe_off(k, left, lifted, now)
        for k in (0, 1):
            st = self._fs[k]
            if st.grounded is False:
                index = confirmed_change(st, PLANTED, w, need)
                if index is None:
                    continue
                landed_t = (self._sample_at(index) or now).t_s
                swing_s = None if st.last_toe_off_t_s is None else landed_t - st.last_toe_off_t_s
                if swing_s is not None and swing_s < self.cfg.min_swing_s - TIME_EPS_S:
                    # Back down sooner than any swing: the "lift" was the pose model's foot
                    # points jumping inside one stance. No new stance (and so no second
                    # toe-off) is opened; the foot counts as in the air until it lands again.
                    log.debug("track %d: contact at frame %d ignored (swing too short)", k, index)
                    continue
                st.grounded = True
                st.pending_contact = index
                self._settle_contacts(now, k)
        self._update_start(j, now)

    def _handed_over(self, k: int, index: int, now: FrameSample) -> bool:
        """Is foot ``k``'s departure at ``index`` its points leaving a foot that stays down, whose
        stance then goes on on the other track? If so the stance is handed over to that track.

        The model swaps the feet in mid-stance (male_side at 60 fps): the swing foot's points land
        on the stance foot (a landing on the other foot's spot, ``phantom``), then the stance
        foot's own points move to the swing foot and read as a toe-off. A stance does not split:
        while the other track stays planted on the spot this foot's points left, carried by the
        ground, the foot there is still down, and its toe-off is the one that track makes.
        """
        st, other = self._fs[k], self._fs[1 - k]
        if st.stance_contact is None or not other.grounded or not other.phantom or now.held[1 - k]:
            return False
        if any(x[LEFT] for x in other.history if x[0] >= index):
            return False
        there = self._spot_left_px(k, index, now)
        here = float(now.ground.along_px(now.raw_midfoot_px(1 - k)))
        if there is None or abs(here - there) >= self.cfg.same_spot_ll * now.leg_length_px:
            return False
        other.phantom = False
        other.stance_contact, st.stance_contact = st.stance_contact, None
        other.last_contact = other.stance_contact
        other.running_contact = st.running_contact
        other.landed_t_s = st.landed_t_s
        # The landing's points were this track's (the overstride is read on them); the stance's own
        # frames on the other track start where it was seen planted (its planted_from).
        other.landing_track = k if st.landing_track is None else st.landing_track
        other.landing_seen_index = st.landing_seen_index
        st.grounded = False
        log.debug("track %d: departure at frame %d is its points leaving the foot; the stance goes on "
                  "on track %d", k, index, 1 - k)
        return True

    def _cannot_have_left(self, k: int, index: int, now: FrameSample) -> str | None:
        """Why foot ``k``, in a counted stance, cannot have left the ground at ``index`` (None: it
        can): too soon after its landing as placed, with its toe still ahead of the body, or with
        only its points stopped on a moving ground."""
        st = self._fs[k]
        if st.stance_contact is None:
            return None
        t_s = (self._sample_at(index) or now).t_s
        if self._just_landed(st, t_s):
            return "stance too short"
        if st.landed_t_s is not None and t_s - st.landed_t_s > self.cfg.max_step_s + TIME_EPS_S:
            # No running stance outlasts the longest step: one that has is overdue, its toe-off was
            # missed (the slow-motion treadmill at 25 fps, --perturb 1: the belt read as still for
            # 4 frames), and the foot is in a later phase, ahead of the body or low in its swing.
            # The guards below would refuse every departure from then on (one "stance" of 1 s
            # swallowed four steps).
            return None
        if self._ahead_of_pelvis(k, index):
            return "foot ahead of the pelvis"
        if self._stuck_on_moving_ground(k, index, now):
            return "points stuck, the foot still at its stance level"
        return None

    def _stuck_on_moving_ground(self, k: int, index: int, now: FrameSample) -> bool:
        """Did foot ``k``'s points stop with the foot still down, rather than the foot leave?

        On a moving ground a foot that leaves rises off the belt first (``_lifted_by``), while
        points stuck for a few frames in mid-stance (male_side at 60 fps: 3-4 frames still while
        the belt moves on) read as "moved off its place" at ground level. A departure with no frame
        since above the stance's median height plus ``contact_settle_ll`` is no toe-off yet. Not
        once the other foot has landed (a running stance ends before the next landing: the
        stance would otherwise swallow the next step where the points never rise).
        """
        other = self._fs[1 - k]
        if self.ground_velocity_px_s == 0.0 or (other.grounded and not other.phantom):
            return False
        up = self._stance_top_ll(k, index)
        since = [s for s in self._samples_between(index, now.index) if not s.held[k]]
        if up is None or not since:
            return False
        return all(self.height_ll(s, k) <= up for s in since)

    def _body_not_past(self, k: int, index: int, lifted: int) -> bool:
        """Has the body moved over the ground, from foot ``k``'s landing to its departure at
        ``index`` (reported at ``lifted``: ``_reported_toe_off``), less than any running stance
        lets it (``min_stance_travel_ll``)?

        In a stance the body passes over the planted foot: from landing ahead of it to pushing off
        behind it, about a leg length (docs/analysis.md). A departure sooner is the points leaving
        the foot, whatever the frames since the landing. Only where the body's speed over the
        ground is known: a fixed camera, or a moving ground whose speed stances have measured (at
        a treadmill's start the belt reads slow, the body with it); not in a start.
        """
        limit = self.cfg.min_stance_travel_ll
        st = self._fs[k]
        if limit <= 0 or st.stance_contact is None or st.landed_t_s is None or self._in_start:
            return False
        s = self._sample_at(lifted)
        if s is None:
            return False
        if (self.ground_velocity_px_s != 0.0
                and self._stance_ground.speed_px_s(s.t_s, self._ground_jitter_px_s(s.leg_length_px)) is None):
            return False
        speed = self.body_speed_ll_s(index)
        if speed is None or speed < self.cfg.min_step_speed_ll_s:
            return False
        return speed * (s.t_s - st.landed_t_s) < limit

    def _ahead_px(self, s: FrameSample, p: np.ndarray, g: GroundFrame | None = None) -> float:
        """How far point ``p`` of frame ``s`` is ahead of its pelvis along the ground, the way the
        runner goes (px; negative: behind), on ground frame ``g`` (default: the frame's own)."""
        g = s.ground if g is None else g
        return (float(g.along_px(p)) - float(g.along_px(s.raw_pelvis_px))) * self.direction.sign

    def _ahead_of_pelvis(self, k: int, index: int) -> bool:
        """Was foot ``k``'s toe, at its last frame on the ground before ``index``, ahead of the
        pelvis by more than ``toe_off_ahead_ll``? A runner pushes off behind the body."""
        limit = self.cfg.toe_off_ahead_ll
        if limit <= 0 or self._in_start or not self.direction.known:
            return False
        s = self._sample_before(index)
        if s is None or s.held[k]:
            return False
        return self._ahead_px(s, s.raw_toe_px[k]) > limit * s.leg_length_px

    def _just_landed(self, st: FootState, t_s: float) -> bool:
        """Is ``t_s`` within ``min_stance_s`` of foot ``st``'s landing (so it cannot have left yet)?"""
        landed = st.landed_t_s
        return bool(st.grounded) and landed is not None and 0 <= t_s - landed < self.cfg.min_stance_s - TIME_EPS_S

    def _settle_contacts(self, now: FrameSample, track: int | None = None, at_once: bool = False) -> None:
        """Decide the confirmed landings that have ``contact_settle_s`` of their stance seen (or
        ``at_once``): ``_settled`` places each at the first frame the foot is down, judged on the
        frames seen by then.

        On a treadmill the landing foot hovers at the belt's speed just above it for a frame or two
        ("ground speed matching"), within the loose planted height; with only the confirmation's
        frames seen, how far it still had to go down is unknown. The same real time at every frame
        rate: at 60 fps the confirmation spans 50 ms and the contacts came 3-5 frames early (male_side
        interpolated to 60 fps: median error 4 frames, 67 ms), at 30 fps 67 ms and 0.6 frame early.
        Not while a start is armed or pending: a foot put down again in the set position is its new
        rest place at once, and the start logic measures departures from it.
        """
        settle_s, in_start = self.cfg.contact_settle_s, self._in_start
        for k in (0, 1) if track is None else (track,):
            st = self._fs[k]
            if st.pending_contact is None:
                continue
            first = self._sample_at(st.pending_contact)
            if at_once or in_start or first is None or now.t_s - first.t_s >= settle_s - TIME_EPS_S:
                index, st.pending_contact = st.pending_contact, None
                self._contact(k, index, now)

    def _settled(self, k: int, index: int, now: FrameSample) -> int:
        """The first frame from ``index`` on where foot ``k`` is down, judged on every frame seen by now.

        The planted test's height limit is loose (``plant_height_ll``: the model's foot points
        jitter), so a foot hovering just above the ground while it moves at the ground's speed counts
        as planted: on a treadmill the swing foot is carried back at belt speed for a frame or two
        before it touches. By the time the contact is confirmed the following frames are known: the
        contact is the first of them within ``contact_settle_ll`` of the lowest the foot got.
        """
        if self.cfg.contact_settle_ll <= 0:
            return index
        window = [s for s in self._samples_between(index, now.index) if not s.held[k]]
        if len(window) < 2:
            return index
        hs = [self.height_ll(s, k) for s in window]
        low = min(hs)
        return next(s.index for s, h in zip(window, hs, strict=True) if h <= low + self.cfg.contact_settle_ll)

    def _carried_from(self, k: int, index: int, now: FrameSample) -> tuple[int, int, int | None]:
        """Where foot ``k``, found landed at ``index`` on a moving ground, really landed, the track
        whose points were there (the model may have drawn the foot on the other track's), and the
        frame those points show the foot at its landing if that is not the landing's own frame
        (None: it is; see ``_across_loss``).

        On a treadmill the pose model can lose a stance foot for a few frames just after its
        landing (the slow-motion clip at 480x360: the leg drawn on the console, or both feet on
        the swing leg), and the state machine then finds the landing only where the points come
        back, 0.1-0.2 s into the stance, with the foot already under the body. A foot on the belt
        moves with it: back in time from ``index``, the landed foot was where the ground's motion
        carried it from, and every earlier frame with a point of either track on that track
        (``carried_landing_ll``), as low as the stance (``contact_settle_ll`` above its lowest),
        belongs to the stance, across gaps of up to ``LOST_FOOT_S`` where the points were
        elsewhere. The first such frame is the landing; where the points were lost for longer,
        ``_across_loss`` places it. Not on a fixed camera (a still foot's place is also where the
        other foot or a standing runner stood), not in a start, not before either foot's last
        toe-off as reported (its first frame up), and not across the other foot's stance: running
        has a flight phase, so a landing comes after the other foot's toe-off.
        """
        gv, tol = self.ground_velocity_px_s, self.cfg.carried_landing_ll
        st, other = self._fs[k], self._fs[1 - k]
        if gv == 0.0 or tol <= 0 or self._in_start or other.grounded:
            return index, k, None
        first = self._sample_at(index)
        if first is None or first.held[k]:
            return index, k, None
        g, ll = first.ground, first.leg_length_px  # one ground frame: see body_speed_ll_s
        seen = [s for s in self._samples_between(index, now.index) if not s.held[k]]
        low = min(min(self.height_ll(s, k) for s in seen) + self.cfg.contact_settle_ll, self.cfg.plant_height_ll)
        refs = (float(g.along_px(first.raw_heel_px[k])), float(g.along_px(first.raw_toe_px[k])))
        bound = max((t for t in (st.lifted_t_s, other.lifted_t_s) if t is not None), default=-math.inf)
        if other.last_contact is not None and other.last_contact.t_s < first.t_s:
            bound = max(bound, other.last_contact.t_s + self.cfg.min_step_s)
        # Nor further back than the longest running step: no stance is longer.
        bound = max(bound, first.t_s - self.cfg.max_step_s)
        landed, landed_track, last_on_track = index, k, first.t_s
        for s in reversed(self.buffer):
            if s.index >= index:
                continue
            if s.t_s < bound - TIME_EPS_S or last_on_track - s.t_s > LOST_FOOT_S + TIME_EPS_S:
                break
            carried = gv * (first.t_s - s.t_s)
            on_track = [m for m in (k, 1 - k) if not s.held[m] and self.height_ll(s, m) <= low
                        and any(abs(float(g.along_px(p)) - (ref - carried)) < tol * ll
                                for ref, p in zip(refs, (s.raw_heel_px[m], s.raw_toe_px[m]), strict=True))]
            if on_track:
                landed, landed_track, last_on_track = s.index, on_track[0], s.t_s
        landed, landed_track, seen = self._across_loss(landed, landed_track, first, refs, bound)
        if landed != index:
            log.debug("track %d: landing at frame %d carried back to %d (track %d's points)", k, index,
                      landed, landed_track)
        return landed, landed_track, seen

    def _across_loss(self, landed: int, track: int, first: FrameSample, refs: tuple[float, float],
                     bound: float) -> tuple[int, int, int | None]:
        """Where a foot found on the belt at ``landed`` (on ``track``'s points) touched down, when
        the pose lost it for a frame or more before that.

        Before it lands a running foot hovers low ahead of the body, nearly still in the image,
        and from its touchdown it moves back with the belt. ``_carried_from`` follows it back
        along the belt only while the points stay on the foot; where they left it (drawn on the
        console, a knee, the other leg), the landing lies between the foot's last low sighting and
        the frame it was found again: at the moment the belt's path back from where it was found
        passes where it was last seen. A sighting within ``carried_landing_ll`` ahead of the path
        is on it (the landing was then). Either track's points, the landing track's first (the
        model swaps the feet there as often as it loses them), but only ahead of the pelvis. The
        landing comes after either foot's last toe-off (``bound``); the sighting may come up to
        ``LOST_FOOT_S`` before it: the swing foot hovers low ahead while the other foot is still
        pushing off (the slow-motion view at 50 fps: sighted a frame before the other toe-off, the
        points then on the console until 0.1 s into the stance).
        Returns the landing, the sighting's track and the sighting's frame (the overstride is
        read there: in the lost frames no point shows the foot).
        """
        gv, tol = self.ground_velocity_px_s, self.cfg.carried_landing_ll
        g, ll = first.ground, first.leg_length_px
        at = self._sample_at(landed)
        if at is None or not self.direction.known:
            return landed, track, None
        for s in reversed(self.buffer):
            if s.index >= landed:
                continue
            if s.t_s < bound - LOST_FOOT_S - TIME_EPS_S:
                break
            crossings: list[float] = []
            for m in (track, 1 - track):
                if s.held[m] or self.height_ll(s, m) > self.cfg.plant_height_ll:
                    continue
                # A landing foot comes down ahead of the body; a low foot behind the pelvis is the
                # other foot pushing off, or the swing foot passing under the body.
                if self._ahead_px(s, s.raw_heel_px[m], g) < 0:
                    continue
                # When the path back from ``first`` passes each of the sighting's points: between
                # the sighting and ``landed`` (or up to ``tol`` of belt travel before the sighting:
                # on the path). A point behind the found foot has no such time.
                crossings = [t for ref, p in zip(refs, (s.raw_heel_px[m], s.raw_toe_px[m]), strict=True)
                             if s.t_s - tol * ll / abs(gv) - TIME_EPS_S
                             <= (t := first.t_s - (ref - float(g.along_px(p))) / gv) <= at.t_s + TIME_EPS_S]
                if crossings:
                    break
            if not crossings:
                continue
            if self._sample_before(landed) is s:
                return landed, track, None  # seen in the frame before: no loss to bridge
            t_x = max(min(crossings), s.t_s)
            frames = [f for f in self._samples_between(s.index, landed) if f.t_s >= bound - TIME_EPS_S]
            out = min(frames, key=lambda f: abs(f.t_s - t_x), default=None)  # the frame nearest to it
            if out is None or out.index == landed:
                return landed, track, None
            log.debug("track %d: landing at frame %d placed at %d across a loss (last seen low at %d, track %d)",
                      track, landed, out.index, s.index, m)
            return out.index, m, s.index
        return landed, track, None

    def _contact(self, k: int, index: int, now: FrameSample) -> None:
        st, other = self._fs[k], self._fs[1 - k]
        index = self._settled(k, index, now)
        st.planted_from = index
        index, landed_track, st.landing_seen_index = self._carried_from(k, index, now)
        st.landing_track = None if landed_track == k else landed_track
        st.grounded = True
        st.landed_t_s = (self._sample_at(index) or now).t_s
        if len(self.buffer) < (self.buffer.maxlen or 0) and index <= self.buffer[0].index:
            # Down from the first frame tracked (carried back to it along the belt): the landing
            # was before the view began, as for a foot found standing. Its toe-off is one, but no
            # stride is measured from a contact that was not seen.
            st.stance_contact, st.phantom = None, False
            log.debug("track %d: contact at frame %d not counted (down from the first frame tracked)", k, index)
            return
        start = self._start
        if start.armed and start.ref_toe_px is not None and start.ref_pelvis_px is not None:
            s = self._sample_at(index) or now
            shift = abs(float(s.ground.along_px(s.pelvis_px) - s.ground.along_px(start.ref_pelvis_px)))
            if shift / s.leg_length_px < self.cfg.start_pelvis_move_ll:
                # The foot came down again while the body stayed put: repositioning in the start
                # posture (e.g. "on your marks" → "set"), not a step. Its new place is the start.
                start.departed[k] = None
                start.far_run[k] = 0
                toes = list(start.ref_toe_px)
                toes[k] = s.raw_toe_px[k].copy()
                start.ref_toe_px = (toes[0], toes[1])
                return
        s_at = self._sample_at(index) or now
        # Not a step, so no stance and no stride: a landing sooner after the last one than any
        # running step (feet alternate and a step takes 0.2-0.6 s: the pose model's feet points
        # jumping inside a stance, or the other leg's drawn onto it), or a foot put down while the
        # body goes nowhere (kneeling into the blocks, shuffling, standing). The other foot's
        # landing counts on either side: a landing is placed once contact_settle_s of it is seen,
        # so the one decided second can be placed first. Sooner also means early in the other
        # foot's running stance (_inside_other_stance) or a fraction of the runner's step time
        # (_split_step, which reads the pelvis's bounce: last, as the costliest).
        step_s = self.cfg.min_step_s - TIME_EPS_S
        too_soon = ((st.last_contact is not None and 0 < s_at.t_s - st.last_contact.t_s < step_s)
                    or (other.last_contact is not None and abs(s_at.t_s - other.last_contact.t_s) < step_s)
                    or self._inside_other_stance(k, index, s_at.t_s)
                    or self._split_step(s_at.t_s))
        on_other = self._on_other_foot(k, index, s_at)
        if too_soon or on_other or not self._stepping(index):
            st.grounded = True
            st.stance_contact = None
            # On the other foot's spot it is the model's feet points: whatever ends this "stance" is
            # no toe-off. A landing too soon may be a stance going on after a false toe-off, and a
            # foot put down while the body is still does push off when the run starts: their ends
            # stay toe-offs (suppressing them lost male_side's first toe-off and one on the tuning set),
            # but not a swing foot's, drawn low behind the body during the other foot's stance.
            st.phantom = on_other or (too_soon and self._swinging(k, s_at))
            log.debug("track %d: contact at frame %d not counted (%s)", k, index,
                      "too soon after the last" if too_soon else
                      "on the other foot's spot" if on_other else "body still")
            return
        st.phantom = False
        ev = self._event("contact", k, index, now)
        # Running has a flight phase: the other foot left the ground before this one landed. If it
        # had not, whether this was double support (walking) is decided when this stance ends,
        # from how long the other foot stayed down (see _toe_off).
        other_left = left_at(other, index, unknown=False)
        other_down = bool(other.grounded) and not other_left
        st.running_contact = not other_down
        st.stance_contact = ev
        st.last_contact = ev
        st.recent_contacts_t_s.append(ev.t_s)

    def _swinging(self, k: int, s: FrameSample) -> bool:
        """Is foot ``k``, found low at ``s`` behind the pelvis, in its swing: it left the ground,
        and the other foot has landed since (a counted landing, still down)? Feet alternate: this
        foot lands next only after that stance, and ahead of the body; low behind the pelvis before
        then it is the swing foot's points passing under the body, and what ends that "stance" is
        no toe-off (male_side at 60 fps: the swing foot "landed" 0.15 s after its toe-off, just
        after the other foot's landing, and "left" again 4 frames later).
        """
        st, other = self._fs[k], self._fs[1 - k]
        left = st.last_toe_off_t_s
        if (left is None or (st.last_contact is not None and st.last_contact.t_s > left)  # in a stance
                or s.t_s - left > 2 * self.cfg.max_step_s  # longer ago than a stride: not one swing
                or not (other.grounded and other.stance_contact is not None)
                or other.stance_contact.t_s < left - TIME_EPS_S or self._in_start or not self.direction.known):
            return False
        return self._ahead_px(s, s.raw_heel_px[k]) < 0

    def _on_other_foot(self, k: int, index: int, s: FrameSample) -> bool:
        """Does foot ``k`` land at frame ``index`` on the spot where the other foot stands, or stood
        until just now (it left less than ``min_step_s`` ago; the spot moves with the ground)?

        The second case is the model's feet swapping in the middle of a stance: the stance foot's
        points pass to this track, the other track's jump away and read as a toe-off. What follows
        is the rest of that stance, not a step (male_side: 4-frame "strides" judged go from the
        late half of the other foot's stance, the foot already 0.3 leg lengths behind the pelvis).
        """
        other = self._fs[1 - k]
        here = float(s.ground.along_px(s.raw_midfoot_px(k)))
        other_left = left_at(other, index, unknown=True)
        if other.grounded and not other_left and not s.held[1 - k]:
            there = float(s.ground.along_px(s.raw_midfoot_px(1 - k)))
        elif (other.last_toe_off_index is not None and other.last_toe_off_t_s is not None
              and 0.0 <= s.t_s - other.last_toe_off_t_s < self.cfg.min_step_s - TIME_EPS_S):
            left_spot = self._spot_left_px(1 - k, other.last_toe_off_index, s)
            if left_spot is None:
                return False
            there = left_spot
        else:
            return False
        return abs(here - there) < self.cfg.same_spot_ll * s.leg_length_px

    def _spot_left_px(self, k: int, left_index: int, s: FrameSample) -> float | None:
        """Where foot ``k`` stood on its last frame on the ground before ``left_index``, carried by
        the ground to frame ``s``: along ``s``'s ground line (px). None if that frame did not show it."""
        last = self._sample_before(left_index)
        if last is None or last.held[k]:
            return None
        return (float(s.ground.along_px(last.raw_midfoot_px(k)))  # one frame: see body_speed_ll_s
                + self.ground_velocity_px_s * (s.t_s - last.t_s))

    def _reported_toe_off(self, k: int, index: int) -> tuple[int, int]:
        """Where foot ``k``'s departure confirmed at ``index`` ended its stance (``_left_by``: at
        the latest the other foot's landing) and the frame its toe-off is reported at (its first
        frame up, ``_lifted_by``): the stance's frames (its measures, the spot the foot left) end
        at the first, where the foot moved off the ground's motion."""
        left = self._left_by(k, index)
        return left, self._lifted_by(k, left)

    def _toe_off(self, k: int, index: int, lifted: int, now: FrameSample) -> None:
        """Foot ``k`` left: its stance ended at ``index``, its toe-off reported at ``lifted``
        (``_reported_toe_off``)."""
        st = self._fs[k]
        st.grounded = False
        st.last_toe_off_t_s = (self._sample_at(index) or now).t_s
        st.lifted_t_s = (self._sample_at(lifted) or now).t_s
        st.last_toe_off_index = index
        if st.phantom:
            st.phantom = False
            st.stance_contact = None
            log.debug("track %d: toe-off at frame %d not counted (its landing was no step)", k, index)
            return
        if self._start.armed:
            return  # leaving the start position is judged by _update_start
        if not self._stepping(index):
            st.stance_contact = None
            log.debug("track %d: toe-off at frame %d not counted (body still)", k, index)
            return
        ev = self._event("toe_off", k, lifted, now)
        st.reported_toe_off_t_s = ev.t_s
        contact, st.stance_contact = st.stance_contact, None
        if contact is None:
            return  # stance began before tracking: a toe-off, but no stride to measure
        samples = self._samples_between(contact.frame_index, index - 1)
        if not samples:
            return
        # The ground's speed from the frames the foot was seen planted on, not those carried back
        # to its landing along the speed itself.
        seen_from = max(contact.frame_index, st.planted_from)
        self._measure_ground(k, tuple(s for s in samples if s.index >= seen_from))
        mid = self._midstance(samples)
        mid_ev = self._event("midstance", k, mid.index, now)
        prev_t = self._previous_step_t_s(contact.t_s)
        step_s = self.step_time_s(contact.t_s)
        bounce_s = self.bounce_step_s(now.t_s)
        running = st.running_contact
        if not running:
            # Both feet were down at this contact: walking, unless the other foot left within
            # max_double_support_s (detection timing, not a walk's double support).
            other_off = self._fs[1 - k].last_toe_off_t_s
            running = (other_off is not None
                       and 0 <= other_off - contact.t_s <= self.cfg.max_double_support_s + TIME_EPS_S)
        if self._start.pending is not None:
            self._confirm_start(self._start.pending, now, now, stepped=True)
        self.steps.append(Step(ev.foot, k, contact, mid_ev, ev, samples, prev_t, running,
                               self.direction.sign, self.leg_length_px, self.ground.frame or now.ground,
                               self._sample_at(index), step_s, bounce_s, st.landing_track, seen_from,
                               None if st.landing_seen_index is None else self._sample_at(st.landing_seen_index),
                               self.body_speed_ll_s(ev.frame_index)))

    def _stance_top_ll(self, k: int, index: int, margin_ll: float | None = None) -> float | None:
        """The height (leg lengths) above which foot ``k`` is up off its current stance's level: the
        median height of its stance frames before ``index`` plus ``margin_ll`` (default
        ``contact_settle_ll``, the points' height jitter in a stance). The frames from where the
        foot was seen planted on its own points: before that, back to a landing carried along the
        belt, they showed something else.
        None without a counted stance of at least 4 such frames."""
        st = self._fs[k]
        if st.stance_contact is None:
            return None
        seen_from = max(st.stance_contact.frame_index, st.planted_from)
        stance = [s for s in self._samples_between(seen_from, index - self._step) if not s.held[k]]
        if len(stance) < 4:
            return None
        margin = self.cfg.contact_settle_ll if margin_ll is None else margin_ll
        return float(np.median([self.height_ll(s, k) for s in stance])) + margin

    def _lifted_by(self, k: int, index: int) -> int:
        """The toe-off of foot ``k``, whose stance ended at ``index``, as the first frame it was up.

        On a fixed camera a leaving foot shows at once in its speed (it goes from still to fast),
        and the speed test places it. On a moving ground (a treadmill's belt) it leaves at the
        ground's own speed, and the first sign is its height: the toe rises off its stance level a
        frame before it moves off the belt (male_side: toe-offs a frame late). The toe-off moves back
        to the first frame of an unbroken run above the stance's median height plus ``toe_lift_ll``
        (how far up the toe point is at a toe-off timed at 300 fps), at most one motion window back
        (the frames the speed test's backward difference spans).
        """
        st = self._fs[k]
        up = None if self.ground_velocity_px_s == 0.0 else self._stance_top_ll(k, index, self.cfg.toe_lift_ll)
        if up is None or st.stance_contact is None:
            return index
        first = st.stance_contact.frame_index
        back = self._index_span_of(motion_window_frames(self.cfg, self._dt_s))
        lifted = index
        while True:
            s = self._sample_before(lifted)
            if s is None or s.index <= first or index - s.index > back or s.held[k] or self.height_ll(s, k) <= up:
                break
            lifted = s.index
        return lifted

    def _measure_ground(self, k: int, samples: tuple[FrameSample, ...]) -> None:
        """Give one stance of foot ``k`` (its observed frames) to the ground's speed estimate."""
        seen = [s for s in samples if not s.held[k]]
        if not seen:
            return
        g = seen[-1].ground  # one ground frame: the estimator refits and its origin moves
        self._stance_ground.add(np.array([s.t_s for s in seen]),
                                np.array([float(g.along_px(s.raw_toe_px[k])) for s in seen]))

    def _left_by(self, k: int, index: int) -> int:
        """When foot ``k``'s running stance, whose toe-off was confirmed at ``index``, ended at the
        latest: at the other foot's landing, if that came inside the stance (more than
        ``max_double_support_s`` before ``index``).

        Running has a flight phase: a stance that began after one (``running_contact``) ends before
        the other foot lands. Where the toe-off is seen later than that, the foot's points had not
        yet moved off the belt's image speed as read (male_side: one foot's toe-offs 3-5 frames
        late where the belt's speed is under-read, that stride `stances_overlap`); the other
        foot's landing is the latest the toe-off can have been. Not while a start is armed or
        pending (both feet are down in the blocks; the clearance and the first step are the start
        logic's), nor for a stance that was no step, nor a walk's (its next step lands inside it).
        """
        st, other = self._fs[k], self._fs[1 - k]
        landed = other.last_contact
        if (self._in_start or st.phantom or not st.running_contact or st.stance_contact is None
                or landed is None):
            return index
        double_support = self._index_span(self.cfg.max_double_support_s)
        if st.stance_contact.frame_index < landed.frame_index < index - double_support:
            return landed.frame_index
        return index

    def _inside_other_stance(self, k: int, index: int, t_s: float) -> bool:
        """Does foot ``k`` land sooner than the shortest human step (``cadence.SHORTEST_STEP_S``)
        after the other foot's counted running landing, with that foot still down?

        A running stance begins after a flight and ends before the next landing; a landing in the
        first 0.15 s of one, the other foot not yet up, is the swing foot's points drawn onto the
        ground while it passes (treadmill_slowmo's 60 fps view on our engine: 0.12 and 0.13 s into
        the other foot's stance), not a step. ``min_step_s`` (0.1 s) is lower because it judges
        every landing, whatever the other foot does, and a spurious one before a real one would
        drop the real one; here the earlier landing is a counted stance still going on.
        """
        other = self._fs[1 - k]
        c = other.stance_contact
        return (c is not None and other.running_contact and bool(other.grounded)
                and not left_at(other, index, unknown=False)
                and 0 <= t_s - c.t_s < cadence.SHORTEST_STEP_S - TIME_EPS_S)

    def _split_step(self, t_s: float) -> bool:
        """Is a landing at ``t_s`` sooner after the last counted one than ``cadence.STEP_SPLIT`` of
        the runner's step time as the pelvis's bounce gives it (``bounce_step_s``)?

        Feet alternate at the runner's cadence: a landing at a fraction of a step after the last is
        the swing foot's points drawn low mid-swing, not a step (treadmill_slowmo's 50 fps view,
        ``--perturb 1``: a "landing" 0.14 s after the other foot's, at 174 steps/min). The bounce
        is read from the pelvis, not from the landings, so landings missed or split cannot bend
        the step time they are judged by, and it exists only once ``bounce_window_s`` of a clear
        bounce was seen; it is used only where the landings' own step time agrees with it. The
        median of the landings' own intervals alone lost three validation sprints a contact each:
        a sprinter's steps shorten as the start's long first steps pass.
        """
        times = [t for t in self._landings_t_s() if t < t_s]
        step_s = self.bounce_step_s(t_s) if times else None  # the autocorrelation only when needed
        if step_s is None:
            return False
        # The bounce's first clear peak can be a stride (two steps) where a runner is uneven: only
        # with the step events' own step time agreeing is it the step.
        events_s = cadence.step_time_s(times, max(times))
        if events_s is None or abs(events_s - step_s) > cadence.STEP_AGREE * step_s:
            return False
        return t_s - max(times) < cadence.STEP_SPLIT * step_s

    def _landings_t_s(self) -> list[float]:
        """The recent counted landings of both foot tracks (appliance.analysis.gait.cadence)."""
        return [t for f in self._fs for t in f.recent_contacts_t_s]

    def _previous_step_t_s(self, t_s: float) -> float | None:
        """When the runner's step before the landing at ``t_s`` landed (for the cadence)."""
        return cadence.previous_step_t_s(self._landings_t_s(), t_s)

    def step_time_s(self, t_s: float) -> float | None:
        """The runner's step time up to the landing at ``t_s`` from the step events, or None."""
        return cadence.step_time_s(self._landings_t_s(), t_s)

    def bounce_step_s(self, t_s: float) -> float | None:
        """The runner's step time from the pelvis's bounce over ``bounce_window_s`` up to ``t_s``
        (appliance.analysis.gait.bounce), or None: off, not that much seen yet, or no clear bounce."""
        window_s = self.cfg.bounce_window_s
        if window_s <= 0:
            return None
        samples = [s for s in self.buffer if t_s - window_s < s.t_s <= t_s]
        if len(samples) < 2 or samples[-1].t_s - samples[0].t_s < 0.9 * window_s:
            return None
        t = np.array([s.t_s for s in samples])
        height = np.array([float(s.ground.height_px(s.raw_pelvis_px)) / s.leg_length_px for s in samples])
        return step_period_s(t, height, SHORTEST_STEP_S, self.cfg.max_step_s, self.cfg.bounce_min_corr, MIN_BOUNCE_LL)

    @staticmethod
    def _midstance(samples: tuple[FrameSample, ...]) -> FrameSample:
        """Lowest pelvis in the stance (design §2); the middle frame when the stance is too short."""
        if len(samples) < 3:
            return samples[len(samples) // 2]
        hs = [float(s.ground.height_px(s.pelvis_px)) for s in samples]
        return samples[int(np.argmin(hs))]
