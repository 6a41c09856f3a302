"""LeanCam's configuration sections: frozen dataclasses with defaults and their validation.

Every threshold the analysis uses lives here with the reason for its value, so a coach or a
developer can see what "sitting back" means in numbers and change it in one place. Loading is
strict: an unknown section or key, or a value of the wrong type, is a ``ConfigError`` (a typo in
a config file must not silently fall back to a default).

Units are in the names: ``_ll`` = leg lengths (hip→knee→ankle, see docs/analysis.md), ``_ll_s`` = leg lengths
per second, ``_deg`` = degrees, ``_s`` = seconds (real capture time), ``_spm`` = steps per minute.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from appliance.errors import ConfigError
from appliance.numbers import is_finite_number

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GaitConfig:
    """Event detection (``appliance.analysis.gait``)."""

    # Planted foot = heel or toe lower than plant_height_ll above the ground line AND moving over
    # the ground slower than plant_speed_ll_s. The height test is loose on purpose: BlazePose's foot
    # points jitter vertically by ~0.05 leg lengths on a small runner, about as much as a toe rises
    # at toe-off. The speed test is sharp: a planted toe stays within 1-2 px horizontally while a
    # landing sprint foot still moves ~0.2 leg lengths per frame (6 leg lengths/s at 30 fps).
    # Speed measured on the 7 labelled sprint clips (contacts / toe-offs matched of 25 / 29):
    # 1.5 → MediaPipe 23 / 28, our engine 19 / 25 (its planted toe slides ~1.8 leg lengths/s);
    # 2.0 → MediaPipe 22 / 28, engine 22 / 28, median error 1 frame for both, and all 10 treadmill
    # contacts found; 2.5 → no better, contacts ~0.7 frame early on average.
    plant_height_ll: float = 0.2
    plant_speed_ll_s: float = 2.0
    # Motion is measured from a frame to the one ~this much later (a forward difference): that is
    # where "has the foot stopped / started to move" becomes decidable; it is part of the lag.
    motion_window_s: float = 0.033
    # A planted / not-planted change must hold this many frames to be an event: one jittery frame
    # is not a step. Lag of contact and toe-off = motion window + (confirm_frames - 1) frames.
    confirm_frames: int = 2
    # ... and must hold this much real time (0 = frames only). Measured on the slow-motion treadmill
    # clip (~300 fps, MediaPipe keypoints): 0 → contacts 8/10 matched, 28 extra; 0.015 → 7/10, 19
    # extra; 0.03 → 4/10, 8 extra. Its foot keypoints are too noisy for any value to be good; on
    # the 30 fps sprint clips every value ≤ 0.067 s is the same two frames. Kept at 0 (fewest missed).
    confirm_s: float = 0.0
    # Share of the confirmation window that must hold the new state (at 30 fps the window is 2
    # frames: both). Lets a long slow-motion window tolerate single jittery frames.
    confirm_fraction: float = 0.7
    # A contact sooner than this after the same foot's toe-off is ignored: no running swing is that
    # short (sprint swings 0.25 s and more); it is the foot points jumping within one stance. Only
    # matters above ~50 fps (at 30 fps one frame is already longer). Slow-motion treadmill clip
    # (--capture-fps 300), extra contacts / contacts matched of 10, without → with 0.02: engine
    # (original models) 28 → 23, 10 → 10; engine (mixed models) 23 → 21, 8 → 8; MediaPipe 24 → 22,
    # 10 → 10. Larger values merge more (0.05: 28 → 18) but lose contacts on the mixed-model
    # keypoints (8 → 7) and, from 0.067 (2 frames at 30 fps), a sprint contact. No added lag.
    # Since a landing on the other foot's spot is no step (same_spot_ll) and a stance foot is
    # predicted from the ground's motion, this rule changes nothing on any labelled clip (its
    # extras are 6 either way); kept as the physical floor of a swing.
    min_swing_s: float = 0.02
    # A foot has not left its place sooner than this after its counted landing: the shortest running
    # stance is ~0.08 s (elite sprinters at top speed; the labelled clips' shortest is 0.13 s). Just
    # after a landing the foot's points still sweep back faster than the ground (a treadmill foot
    # catching up with the belt), or jump for a frame, and read as moving; above 30 fps that spans
    # several frames. Such a departure is ignored and the stance goes on until the foot has stayed
    # put again, or has been up off the ground two frames running (the landing was the points').
    # male_side interpolated to 60 fps (its keypoints; with jitter), toe-offs matched of 34 / extra:
    # 0 → 27/7 (27/8); 0.04, 0.06 and 0.08 → 31/3 (30/5). The slow-motion treadmill's 60 fps view
    # judged 36/33/62 % → 43/33/67 % (three inputs; 0.04: 43/33/62 %, 0.08: 46/31/67 %). At 30 fps 0.06 s
    # is 2 frames: both sets unchanged (one more unsure stride); 0.08 (3 frames) lost 4 tuning toe-offs.
    min_stance_s: float = 0.06
    # Nor has a foot left the ground while its toe was still this far (leg lengths) ahead of the
    # pelvis: a runner pushes off behind the body (at the 378 matched toe-offs of both sets on three
    # inputs the toe is a median 0.57 leg lengths behind the pelvis, all but one at +0.16 or behind).
    # A "departure" with the toe further forward is the model's foot points: jumping off the stance
    # foot early in its stance (the slow-motion treadmill at 480x360: 25-40 px up for 4-5 frames
    # after the landing, the toe +0.33 to +0.70 ahead), or stuck for a frame or two in mid-stance
    # with the toe just under the pelvis (male_side -0.09 to +0.17, sprints -0.08 to +0.25). It is
    # ignored as above and the stance goes on. Errors (missed + extra contacts and toe-offs, three
    # inputs), tuning | validation: 0.25 → 38 | 104; 0.2 → 32 | 104; 0.15 → 32 | 99; 0.1 and 0.05
    # → 32 | 97 (larger values and off: docs/analysis.md). 0.15: the middle of the tuning set's
    # plateau; the slow-motion treadmill's views toe-offs 98/20 → 99/18 (matched/extra), male_side
    # at 60 fps unchanged. Not while a start is armed (the blocks) or the direction is unknown.
    # 0 = off.
    toe_off_ahead_ll: float = 0.15
    # Nor has it left before the body moved this far (leg lengths) over the ground since its
    # landing (body speed × time): in a stance the body passes over the planted foot, from landing
    # ahead of it to pushing off behind it. Pelvis travel from labelled contact to toe-off, both
    # sets (docs/analysis.md): sprints 0.85-1.69 leg lengths, the slow-motion treadmill 0.96-1.37,
    # male_side 0.67-1.02. A "departure" sooner is the points leaving the foot (a glitch, or the
    # points passing to the swing foot). Only where the body's speed is known (GaitTracker.
    # _body_not_past). Missed + extra toe-offs, validation (portable, --perturb 1, 2): 0 → 13,
    # 11, 15; 0.3 → 12, 11, 14; 0.4 → 10, 11, 13; 0.5 → 10, 11, 13 but a tuning and a validation
    # contact lost on --perturb 2. Tuning toe-offs unchanged (2, 5, 3); the slow-motion views' 12
    # runs 103/13 → 103/10. 0 = off.
    min_stance_travel_ll: float = 0.4
    # A step is running when the other foot left the ground before this one landed, or within
    # this time after it: double support shorter than this is detection timing, not walking. A walk
    # has 0.1 s of double support and more; on a treadmill a toe-off is seen late (the foot leaves
    # the belt at belt speed), by ~45 ms at 50 fps on the labelled clip, which made every stride of
    # its 50 fps view "walking" at 0 (gait walking, nothing judged); 0.05 → gait running, 5 of 18
    # strides judged (4 go, 1 no_go). The walking demo clip stays walking in every step at 0.05.
    max_double_support_s: float = 0.05
    # Still (design §2): pelvis and both feet within still_range_ll for still_min_s, feet planted.
    # A set sprinter 90-200 px tall still moves its pelvis and feet points by 0.10-0.19 leg lengths
    # over half a second (keypoint jitter on small feet, the settling after the "set" rise).
    # Initiations hit (±2 frames) by value, tuning set / validation set (tests/data/labels/sets.json):
    # 0.08 → 7/10 / 5/9 (two validation starts fired 4 and 16 frames early); 0.12 → 7/10 / 7/9, none
    # early; 0.16 → 8/10 / 8/9, but the walker of the demo clip, standing still and walking off,
    # fired a start (original models). A walker's start is a confident wrong verdict: 0.12.
    still_range_ll: float = 0.12
    # How long "still" must last. The promise is a start after at least 0.5 s of set
    # position; the window must be shorter than that by what the engine needs to settle (the first
    # frames of a track, the end of the "set" rise: a3 opens with the hips still rising 26 px over
    # its first 15 frames, so only ~0.35 s of it is still). Initiation hits (±2 frames) / early /
    # missed on the three inputs of docs/analysis.md (product decode, --perturb 1, 2), 0.5 → 0.4 s:
    # tuning 9/0/0, 7/1/1, 7/1/1 → 9/0/0, 7/1/1, 8/1/0; validation 8/0/1, 9/0/0, 6/2/1 → 9/0/0,
    # 9/0/0, 8/1/0. Mocap: 104_06 at 50 fps, seed 0, fires (it did not); 09_01 and the walker of
    # the demo clip still fire none. 0.33 s gains nothing more (tuning, --perturb 2: a miss again).
    still_min_s: float = 0.4
    # Initiation: when both feet have left the start position the pelvis must have moved forward
    # this much, else it was a fidget (shifting weight), not a start.
    start_pelvis_move_ll: float = 0.1
    # ... and the start is the frame the push foot is clear of its start position: its toe this far
    # from where it rested (about a foot length). It rolls and slides a few frames before that (see docs/analysis.md).
    start_clear_ll: float = 0.3
    # Feet closer than this (leg lengths) are one observation: the model has put both on one spot,
    # and the track predicted farther from it is held for the frame if the two tracks were apart
    # (a swing foot drawn onto the stance foot; appliance.analysis.gait.feet). 0 = off.
    feet_collapse_ll: float = 0.1
    # A contact or toe-off is a step only while the body moves over the ground at least this fast
    # (pelvis motion over body_speed_window_s minus the ground's own image motion: zero for a fixed
    # camera, the belt on a treadmill, the pan). A sprinter kneeling into the blocks and fidgeting
    # moves the pelvis 0-0.28 leg lengths/s (right-to-left sprint a13), the slowest walk ~0.6, every
    # running step of the labelled clips 2.5 and more. Nothing is a step while the runner is set or
    # standing; a start's own first move is judged by the initiation. Contacts matched / extra,
    # validation set: 0 → 80/29, 0.3 → 77/25, 0.6 → 76/24 and the panned track clip (slow motion:
    # its decoded time is not real time) lost 9 of its 12 steps.
    min_step_speed_ll_s: float = 0.3
    # A landing sooner than this after the last landing of either foot is not a step: running steps
    # take 0.2-0.6 s (a sprinter at top speed ~0.21 s). The later landing is the one dropped (the
    # earlier was already reported), so a larger value also drops real landings that follow a
    # spurious one. Contacts matched / extra, tuning set | validation set (sets.json, 30 fps
    # keypoints with the tile search): 0 → 46/11 | 77/25; 0.1 → 46/7 | 76/24; 0.15 → 44/5 | 70/17
    # (and cadence within 3 % on both treadmill clips instead of one). 0.1: fewer extras at no loss.
    min_step_s: float = 0.1
    # A confirmed contact moves to the first frame, of those already seen, within this much (leg
    # lengths) of the lowest the foot got (0 = off; GaitTracker._settled): about the foot points'
    # height jitter in a stance (sd 0.045-0.07 leg lengths over the labelled stances of male_side
    # and six sprint clips). No added lag. Tuning | validation (contacts matched/extra, strides
    # judged, agreement): 0 → 46/7, 42 %, 100 % | 77/17, 32 %, 91 %; 0.03 → 47/8, 62 % | 77/19,
    # 53 %, 98 %, but male_side's cadence +12 %; 0.06 → 46/8, 60 %, 100 % | 78/18, 44 %, 100 %
    # (male_side contacts' median error 2 → 1 frame, judged 14 → 42 %); 0.1 → 46/7, 52 % | 78/17, 37 %.
    contact_settle_ll: float = 0.06
    # On a moving ground a toe-off is the first frame of an unbroken run (up to one motion window
    # back from where the foot moved off the belt) with the toe this much (leg lengths) above its
    # stance's median height (GaitTracker._lifted_by). Measured on the tuning set's slow-motion
    # treadmill (50 fps view, toe-offs labelled at 300 fps): at the labelled toe-off the toe point
    # is a median 0.03 / 0.02 / -0.03 leg lengths above its stance level (3 keypoint inputs); it
    # rolls up off the belt before it leaves. At 0.06 (the stance jitter) toe-offs came 1.6 frames
    # late. 0.06 → 0.03: slow-motion views (12 runs) toe-off bias +1.63 → +1.09 frames; validation:
    # male_side +0.18 → +0.04, the 30 fps view's median error 1.6 → 0.8 frames; no event gained or lost.
    toe_lift_ll: float = 0.03
    # ... judged on the frames of the stance's first this-many seconds (0 = the confirmation's
    # frames only): a treadmill's landing foot hovers at belt speed just above the belt for a frame
    # or two, within the loose planted height. Lag of a contact = the larger of this and the
    # confirmation's (at 30 fps 3 frames instead of 2). male_side contacts' median error | bias
    # (frames): 1 | -0.6 → 0 | +0.06 at 30 fps, 4 | -3.3 → 1 | -0.6 at 60 fps (its keypoints
    # interpolated); validation strides judged 62/63/61 % → 72/71/64 % (male_side 41-53 % → 71-75 %:
    # its overstride, read at the contact, left the limit's noise band).
    contact_settle_s: float = 0.1
    # On a moving ground (treadmill, pan) a landing found late moves back over the frames where a
    # point of either foot was within this distance (leg lengths) of where the ground's motion
    # carried the landed foot from, and as low as the stance (GaitTracker._carried_from): the pose
    # model can lose a stance foot for a few frames just after its landing, and the landing was
    # then found 0.1-0.2 s into the stance, the foot under the body (the slow-motion treadmill at
    # 480x360; its strides judged `go` were those). 0 = off. Contacts matched / extra of the
    # slow-motion treadmill's 30, 50 and 60 fps views on four inputs (three keypoint files and the
    # engine at the view's rate): off 59/52; 0.05 → 68/43; 0.08 → 72/38; 0.12 → 77/33; 0.16 →
    # 79/31 (toe-offs 99/19 → 98/20 from 0.08). Tuning set contacts (three inputs) off 42/6, 46/4,
    # 44/3; 0.08 → 44/4, 48/2, 44/3; 0.12 and 0.16 → 45/3, 48/2, 44/3: the smaller of the two.
    # Sprints (fixed camera), male_side and its 60 fps interpolation unchanged at every value.
    # Where the points were lost for longer, the landing is where the ground's path back meets the
    # foot's last low sighting ahead of the pelvis, a sighting within this distance of the path
    # being on it (GaitTracker._across_loss; slow-motion views, contacts matched / extra 76/33 →
    # 89/20 with the stance rules of docs/analysis.md, 4 Dec 2026, sixth session).
    carried_landing_ll: float = 0.12
    # Two feet cannot stand on one spot while the body moves: a landing within this distance (leg
    # lengths, along the ground) of the other foot while that foot is still down is the model
    # drawing the swing foot onto the stance foot (male_side: the far leg passing behind the near
    # one lands on it for 2-3 frames in the keypoints), not a step. Real steps land a step length
    # (0.5 leg lengths and more) from the other foot; standing and the blocks are judged by the
    # body-speed test above.
    same_spot_ll: float = 0.15
    # The longest running step (s): at a start the push foot leaves within this of the first foot
    # (block starts 0.07-0.17 s, the mocap standing starts 0.23 and 0.36 s), else the first foot's
    # move was a fidget.
    max_step_s: float = 0.6
    # Body speed over the ground is measured over this window (pelvis motion minus the ground's).
    body_speed_window_s: float = 0.3
    # Cadence from the pelvis's bounce (gait/bounce.py: once per step) over this window before each
    # toe-off (s); 0 = off, cadence from the step events only. Steady treadmill runners, 2 s windows:
    # male_side 164-173 steps/min (truth 168.9; events 142-200 per stride, +1.5 % median),
    # treadmill_slowmo 172-176 at 50 fps and 175 at 30 (truth 176.5; events +11.5 % and +6.4 %).
    bounce_window_s: float = 2.0
    # ... taken where the height's autocorrelation at the step lag reaches this (a clear bounce):
    # steady treadmill windows 0.71-0.89; standing, blocks and accelerating sprint windows give no
    # peak within a step's lags or one below 0.6 (one b5 window between 0.5 and 0.6 read 127 steps/
    # min against the events' 248); else the events' cadence. The first such peak is the step: an
    # uneven runner's stride (two steps) peaks later. No check against the events' step time: where
    # the events split steps (treadmill_slowmo at 50 fps, keypoints from the portable RGB: events
    # 250-273, bounce 172-175) it threw the right bounce away.
    bounce_min_corr: float = 0.6
    # Missing pose longer than this resets the tracking (runner left the frame).
    max_gap_s: float = 0.3
    # Keypoints with visibility×presence below this are "unsure" (BlazePose's own 0.5 cut).
    min_confidence: float = 0.5
    # Causal smoothing (One-Euro): cut-off at rest and speed coefficient (per leg length/s).
    filter_min_cutoff_hz: float = 3.0
    filter_beta: float = 0.3

    def __post_init__(self) -> None:
        errors = []
        if not 0 <= self.bounce_window_s <= 30:
            errors.append(f"gait.bounce_window_s: 0 (off) to 30 s, got {self.bounce_window_s:g}")
        if not 0 < self.bounce_min_corr <= 1:
            errors.append(f"gait.bounce_min_corr: more than 0 and at most 1, got {self.bounce_min_corr:g}")
        if not 0 <= self.min_stance_s <= 0.08:
            errors.append(f"gait.min_stance_s: 0 (off) to 0.08 s (the shortest running stance), "
                          f"got {self.min_stance_s:g}")
        if not 0 <= self.min_stance_travel_ll <= 1:
            errors.append(f"gait.min_stance_travel_ll: 0 (off) to 1 leg length, got {self.min_stance_travel_ll:g}")
        if not 0 <= self.toe_off_ahead_ll <= 1:
            errors.append(f"gait.toe_off_ahead_ll: 0 (off) to 1 leg length, got {self.toe_off_ahead_ll:g}")
        if not 0 <= self.carried_landing_ll <= 0.3:
            errors.append(f"gait.carried_landing_ll: 0 (off) to 0.3 leg lengths, got {self.carried_landing_ll:g}")
        if not 0 <= self.toe_lift_ll <= 0.2:
            errors.append(f"gait.toe_lift_ll: 0 to 0.2 leg lengths (a toe higher than that has left), "
                          f"got {self.toe_lift_ll:g}")
        if not 0 <= self.contact_settle_s <= 0.3:
            errors.append(f"gait.contact_settle_s: 0 (off) to 0.3 s (a sprinter's whole stance is ~0.1 s), "
                          f"got {self.contact_settle_s:g}")
        if errors:
            raise ConfigError("; ".join(errors))


@dataclass(frozen=True)
class LeanConfig:
    """Verdict thresholds (``appliance.analysis.lean``); see docs/analysis.md for the evidence."""

    # hip_over_foot at midstance below this = sitting_back: the pelvis trails the foot it stands
    # on by more than ~1/6 leg length, the braking posture the seed wants flagged.
    sitting_back_hip_over_foot: float = -0.15
    # pelvis_offset (push-off window: last third of the stance, toe-off frame included) below this =
    # butt_out: the pelvis behind the contact point → shoulders line, i.e. a bend at the hips. About
    # 0.38·sin(bend) leg lengths, so -0.12 ≈ an 18-20° hip bend. Why not tighter: the same stride on
    # our engine and on MediaPipe differs by sd 0.044 (29 sprint strides), so ~0.03 per model; and
    # the 45 judged sprint-acceleration strides measure median +0.02 (5-95 %: -0.15..+0.13). What is
    # still flagged is the hip pike of the first steps out of the blocks (trunk 51-56°, leg 32-35°).
    # Measured against the foot→head line, or in a window ending before toe-off, -0.06 would call
    # 35 of those 45 strides butt_out (docs/analysis.md, "Verdicts").
    butt_out_pelvis_offset: float = -0.12
    # slouch: trunk leans this much more than the whole-body line while the pelvis is behind it.
    slouch_trunk_minus_lean_deg: float = 12.0
    # The stance leg (contact point → pelvis) must be this far from vertical in the push-off window,
    # else the stance ended before push-off and the stride is unsure (no_push_off): complete sprint
    # stances measure 28-48°; six sprint stances cut short by an early toe-off or a split stance
    # measured 7-18° and were all flagged butt_out from midstance frames (15° catches four). Kept
    # low because a jogger's toe-off leg is only ~25° (foot ~0.45 m behind a 0.9 m hip, estimated)
    # and a runner sitting back has it smaller still. Below this a stride is not judged, unless
    # it is near the runner's usual (verdict.stride_gate: below push_off_cut_fraction of it).
    min_push_off_leg_deg: float = 15.0
    # A stance cut short pushes off at a fraction of the runner's usual angle (the median of this
    # and the last runner_history_strides - 1 strides, from 3 on); below this fraction of it, and
    # below min_push_off_leg_deg, the stride is no_push_off. The cut sprint stances measured 7-18°
    # against their runners' 28-48° (0.2-0.6 of it); the steady treadmill runner pushes off at
    # 15-24°. Judged strides, validation (engine, --perturb 1, 2): 0.4 → 70, 65, 70; 0.5 → 69,
    # 65, 70; 0.6 → 69, 64, 70; the absolute limit alone 69, 63, 69; every one of them agreeing
    # as before. 0: only a leg not past vertical is no_push_off.
    push_off_cut_fraction: float = 0.5
    # over_lean: cadence below this together with overstride above overstride_limit (design §3).
    over_lean_cadence_spm: float = 170.0
    overstride_limit: float = 0.35
    # ... and a lean larger than lean_per_speed_deg per (leg length/s) of speed + lean_base_deg.
    lean_base_deg: float = 6.0
    lean_per_speed_deg: float = 3.0
    # Less lean than this while running = upright (no forward lean to speak of).
    min_lean_deg: float = 2.0
    # ... nor a trunk (pelvis → shoulders) leaning back from vertical by more than this (deg, - = back):
    # leaning back from the hips is no forward lean, whatever the foot → head line says (the pelvis
    # pushed ahead of the line). The steady treadmill runner's trunk measures 0.4-9° (median 4°),
    # sprinters 15-80°; the first value, -5°, leaves an upright distance runner's 0-3° a clear 2-4
    # noise sds (noise_lean_deg) from it, and flags the steady runner with shoulders and head moved
    # 0.2 leg lengths back (trunk -14°).
    min_trunk_deg: float = -5.0
    # Initiation: the start wants a clear lean along one straight line foot→pelvis→head.
    initiation_min_lean_deg: float = 10.0
    # At block clearance the trunk is lower than the push leg: the 7 competent sprint starts measure
    # -0.18..-0.25 (~30° hip bend) against the contact → shoulders line, trunk − lean 11-16°. Only
    # a pike clearly beyond theirs is flagged: with no faulty start on video to calibrate against,
    # the cut sits just outside the competent range.
    initiation_butt_out_pelvis_offset: float = -0.30
    initiation_slouch_trunk_minus_lean_deg: float = 20.0
    # Stride unsure when more than this fraction of its frames have unsure keypoints.
    max_unsure_fraction: float = 0.3
    # A step slower than this over the ground is not judged as running ("walking"): ~1.4 m/s, a
    # brisk walk for a 0.9 m leg. Sprint strides measured 3-9 leg lengths/s; strides detected on
    # the wrong foot show slow or negative speeds, so this also keeps them from being judged.
    min_running_speed_ll_s: float = 1.5
    # A step at least this fast over the ground is running even when no flight phase was seen: it
    # is faster than people walk. The walk-run transition sits at a Froude number v²/(g·L) of about
    # 0.5 (Alexander 1989), 2.3 leg lengths/s for a 0.9 m leg; 2.5 is Fr 0.57 for that leg, 0.51
    # for a 0.8 m one. On a treadmill the contact is seen a frame or two early (the swing foot
    # hovers at belt speed above the belt), so the flight test called a steady runner's strides
    # (male_side, 2.8 leg lengths/s) walking; the walker of the demo clip steps at 2.5 at most,
    # and only on strides that had a flight phase anyway. male_side judged 39 → 42 %, the tuning
    # set unchanged.
    run_speed_ll_s: float = 2.5
    # A running stance lasts 0.07-0.35 s (sprint clips 2-8 frames at 30 fps; the treadmill's ~0.3 s).
    # Longer, as timed, means the time base is wrong (slow motion without --capture-fps, a screen
    # recording that changes playback speed: the panned track clip's stances read 0.5-1.1 s) or two
    # stances merged: the stride is unsure (implausible_timing) instead of judged on wrong times.
    max_running_stance_s: float = 0.45
    # --- Verdict stability (issue 14; docs/analysis.md "Verdict stability"): no knife edges. ---
    # Each stride is judged on the median of its own metrics and the runner's previous judgeable
    # strides, this many in all. 7: the median of 7 has under half the noise of one stride
    # (1.25/√7 = 0.47) and ignores up to 3 odd strides; at 170 steps/min it spans 2.5 s, so a
    # runner who changes form is judged on the new form from the fourth stride on (before that the
    # stride's own value contradicts the estimate and the stride is unsure, never wrongly confident).
    # 5 → 7: validation judged 57/60/58 % → 62/63/61 % on the three inputs of docs/analysis.md,
    # agreement 96/100/96 → 97/100/97 % (the steady runner male_side 30/45/38 → 42/52/44 %, all
    # agreeing; b5); the tuning set's clips are too short for the longer window to matter (same
    # figures). 9 judged one or two strides more and reacts a stride later. 1 = every stride on
    # its own value only.
    runner_history_strides: int = 7
    # A metric within this many standard errors of its threshold (or a stride whose own value is
    # this many noise sds on the other side of it) is "too close to call": unsure, near_limit_<metric>.
    # 1 = "within its measured noise of the threshold is not a confident verdict" (issue 14): a
    # confident verdict is on the right side with ≥ 84 % probability for one stride, and the verdict
    # comes from the median of the runner's recent strides, whose noise is smaller still. Judged /
    # agreeing with the clip's most common verdict, tuning | validation (sets.json): z 2 → 30 % /
    # 100 % | 16 % / 100 %; z 1 → 45 % / 100 % | 29 % / 90 %; z 0.5 → more judged, agreement
    # falls on the small right-to-left sprinters (50-67 %). 2 left most sprint strides amber.
    near_limit_z: float = 1.0
    # Per-stride measurement noise (sd) of each thresholded metric: its keypoint part (here) plus,
    # for a metric read at an event, the event-timing part (noise_event_timing_frames × frame
    # interval × how fast the metric moves). Sources: docs/analysis.md "Verdict stability",
    # scripts/verdict_stability.py.
    # pelvis_offset: the same 29 sprint strides on our engine and on MediaPipe differ by sd 0.044
    # leg lengths, ~0.03 per model; the same keypoint noise is taken for the other two positions.
    noise_pelvis_offset_ll: float = 0.03
    # hip_over_foot (a line over the stance, read at its middle): + speed × timing / 2 (the middle
    # moves half as far as the contact). Measured 1-frame change: 0.093 rms on the sprint strides
    # (~6 leg lengths/s, 33 ms frames), 0.027 on the treadmill's 50 fps view (~3, 20 ms): speed × frame / 2.
    noise_hip_over_foot_ll: float = 0.03
    # overstride (read at the contact frame): + speed × timing. Measured 1-frame change: 0.215 rms on
    # the sprint strides, 0.128 on the treadmill's 50 fps view.
    noise_overstride_ll: float = 0.03
    # lean_deg: the sprint clips re-encoded as JPEG q90 move a judged stride's lean by 4.8° at the
    # 90th percentile (tests/test_invariance_video.py): sd of the difference 2.9°, ~2° per measurement.
    noise_lean_deg: float = 2.0
    # trunk − lean: two such angles, √2 × 2° ≈ 3° (1-frame change on the sprints: 2.0° rms).
    noise_trunk_minus_lean_deg: float = 3.0
    # Event timing error, in frames: detected contacts / toe-offs minus the sprint labels (b2 b4 b6 b8,
    # 14 / 17 matched) have sd 0.94 / 1.06 frames around their bias (−0.57 / −0.35); less the
    # labels' own ±½-frame rounding (sd 0.29) that is ~0.9 frame (30 ms at 30 fps, 18 ms at 50 fps).
    # Cadence (60 / time between two contacts) gets √2 × this on the interval: ±20 spm at 170 spm, 30 fps.
    noise_event_timing_frames: float = 0.9
    # Cadence from the pelvis's bounce (gait.bounce_window_s) does not depend on event timing: its
    # 2 s windows scatter with sd 2.5 steps/min on male_side (164-173 around 168.9) and 1.8 on
    # treadmill_slowmo's 50 fps view; 3 with a margin.
    noise_bounce_cadence_spm: float = 3.0
    # Nobody in view this long, then someone: a new runner (leg length, direction, gait history and
    # recent strides start afresh; the ground line of the fixed camera is kept). 2 s: the LEDs show
    # "nobody in view" after 2 s (FeedbackController.no_runner_s) and a run ends after 2 s idle
    # (RunLogger.idle_end_s), so the unit treats the next person as a new runner from then on.
    # The pose tracker's own gaps (gait.max_gap_s, 0.3 s) stay within one runner.
    new_runner_after_s: float = 2.0

    def __post_init__(self) -> None:
        errors = []
        if isinstance(self.runner_history_strides, bool) or not 1 <= self.runner_history_strides <= 32:
            errors.append(f"lean.runner_history_strides: 1 to 32, got {self.runner_history_strides}")
        for name in ("near_limit_z", "noise_pelvis_offset_ll", "noise_hip_over_foot_ll", "noise_overstride_ll",
                     "noise_lean_deg", "noise_trunk_minus_lean_deg", "noise_event_timing_frames",
                     "noise_bounce_cadence_spm"):
            if not 0 <= getattr(self, name) <= 1000:
                errors.append(f"lean.{name}: 0 or more, got {getattr(self, name):g}")
        if not 0 <= self.push_off_cut_fraction <= 1:
            errors.append(f"lean.push_off_cut_fraction: 0 to 1, got {self.push_off_cut_fraction:g}")
        if not 0 < self.new_runner_after_s <= 3600:
            errors.append(f"lean.new_runner_after_s: more than 0 and at most 3600 s, got {self.new_runner_after_s:g}")
        if errors:
            raise ConfigError("; ".join(errors))


DIRECTIONS = ("auto", "left_to_right", "right_to_left")
CAMERA_SOURCE_RE = re.compile(r"^(auto|picamera|demo(:walk)?|webcam(:\d+)?|file:[^\x00]+)$")
GPIO_MAX = 27  # BCM GPIO 0..27 on the 40-pin header
# How long a verdict stays on the LEDs (continuous mode) before they go back to READY; the web
# board expires a verdict after the same time, or it would show a light the runner no longer sees.
VERDICT_HOLD_S = 4.0
MAIN_STREAM_PX = (1280, 720)  # the Pi camera's main (recording) stream, see appliance/sources/picamera.py


@dataclass(frozen=True)
class UnitConfig:
    """This unit: its name (web page, MQTT topics) and the runner's direction of travel."""

    # Shown on the web display and used in MQTT topics; a club with several units names each spot.
    name: str = "LeanCam"
    # auto = from the pelvis motion (treadmill: from foot swing); fix it where the analysis should
    # not guess: left_to_right or right_to_left as the camera sees the runner.
    direction: str = "auto"

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"unit.direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}")
        if not self.name.strip() or len(self.name) > 40:
            raise ConfigError("unit.name must be 1 to 40 characters")
        if any(ord(c) < 32 or ord(c) == 127 for c in self.name):
            raise ConfigError("unit.name: printable characters only")


@dataclass(frozen=True)
class CameraConfig:
    """Where frames come from (``leancam run --source`` overrides ``source``)."""

    # auto = the Pi camera if present, else the bundled running demo (looped); or picamera, webcam[:N],
    # demo (the running demo), demo:walk (a walking sample: never judged), file:PATH.
    source: str = "auto"
    # 50 fps keeps Camera Module 3 in its full-field mode; above 56 fps libcamera crops to 2/3.
    fps: float = 50.0
    # The pose model sees the lores stream; the runner should be ≥ 150 px tall in it
    # (see `leancam mounting`). 960×540 for track work where the runner is small.
    lores_width_px: int = 640
    lores_height_px: int = 360

    def __post_init__(self) -> None:
        errors = []
        if not CAMERA_SOURCE_RE.match(self.source):
            errors.append("camera.source: auto, picamera, webcam, webcam:N, demo, demo:walk or file:PATH, "
                          f"got {self.source!r}")
        if not 1 <= self.fps <= 120:
            errors.append(f"camera.fps: 1 to 120, got {self.fps:g}")
        # The lores stream is scaled from the 1280×720 main stream: it cannot be larger.
        for name, top in (("lores_width_px", MAIN_STREAM_PX[0]), ("lores_height_px", MAIN_STREAM_PX[1])):
            value = getattr(self, name)
            if not 64 <= value <= top or value % 2:
                errors.append(f"camera.{name}: an even number from 64 to {top} (the pose stream cannot be larger "
                              f"than the {MAIN_STREAM_PX[0]}×{MAIN_STREAM_PX[1]} main stream), got {value}")
        if errors:
            raise ConfigError("; ".join(errors))


@dataclass(frozen=True)
class LedConfig:
    """GPIO (BCM numbers) for the feedback lights; the defaults match hardware/README.md."""

    red_pin: int = 9
    amber_pin: int = 10
    green_pin: int = 11
    # The drill button (to GND, internal pull-up); -1 = no button.
    button_pin: int = 17
    # Holding the button this long ends the session instead of arming a drill.
    button_hold_s: float = 2.0
    # Active 3.3 V buzzer beeping twice on a no-go; -1 = no buzzer.
    buzzer_pin: int = 22
    buzzer: bool = False
    # gpiozero pin factory: auto (gpiozero's choice), lgpio, rpigpio, mock.
    pin_factory: str = "auto"

    def __post_init__(self) -> None:
        errors = []
        used: dict[int, str] = {}
        for name in ("red_pin", "amber_pin", "green_pin", "button_pin", "buzzer_pin"):
            pin = getattr(self, name)
            optional = name in ("button_pin", "buzzer_pin")
            if optional and pin == -1:
                continue
            if not 0 <= pin <= GPIO_MAX:
                errors.append(f"leds.{name}: a BCM GPIO number from 0 to {GPIO_MAX}"
                              f"{' or -1 for none' if optional else ''}, got {pin}")
            elif pin in used:
                errors.append(f"leds.{name}: GPIO {pin} is already leds.{used[pin]}")
            else:
                used[pin] = name
        if not 0 < self.button_hold_s <= 60:
            errors.append(f"leds.button_hold_s: more than 0 and at most 60 s, got {self.button_hold_s:g}")
        if errors:
            raise ConfigError("; ".join(errors))


@dataclass(frozen=True)
class WebConfig:
    """The built-in web display (live board, replay, upload, settings)."""

    enabled: bool = True
    # 127.0.0.1 keeps it on this machine; the service sets 0.0.0.0 so phones on the LAN can see it.
    host: str = "127.0.0.1"
    port: int = 8080
    max_upload_mb: int = 500


@dataclass(frozen=True)
class PoseConfig:
    """Which BlazePose model files the engine loads: ``original`` or a gated build (models/built)."""

    # `mixed`: int8 with its 16 most sensitive ops float, the manifest's default (recall 99.5 %,
    # keypoints 0.99 px from the original, 0.60× its invoke time, no extra detections). `int8` is
    # faster still (0.46×) but passes with no margin (2.5 px, 15 extra detections), and the detector
    # only runs when tracking is lost, so its speed matters little. `original` = MediaPipe's file.
    detector: str = "mixed"
    # `mixed_noseg`: no segmentation branch (unused) + int8 with 52 sensitive ops float, the
    # manifest's default: 1.30 px mean from the original, trunk lean 0.24° mean, 0.54× its invoke
    # time. `mixedhead_noseg` (0.43×, 2.93 px) passes with no margin and fails 3 of 5 clips alone.
    landmark: str = "mixed_noseg"
    # Which landmark model: full = `landmark` above (pose_landmark_full), lite = `landmark_lite` below
    # (pose_landmark_lite: faster, coarser). auto = by board, read from /proc/device-tree/model: a Pi 4
    # (also Pi 400, CM4) gets lite, because it runs the full model below camera rate and events are
    # then timed at 45-75 ms; a Pi 5 and anything else get full. `leancam doctor` shows the choice.
    profile: str = "auto"
    # The lite profile's variant (models/built, gated like `landmark`). `fp32_noseg`: MediaPipe's lite
    # model exactly, without the unused segmentation branch, 0.57-0.68× its invoke time, and the
    # fastest: int8 does not pay on this small model (`mixed_noseg` 0.51 px but 1.13× slower; the
    # plain int8 builds are 5.7-9.7 px off and no faster).
    landmark_lite: str = "fp32_noseg"
    # 2 inference threads: the Pi has 4 cores and decode, analysis and the web need the rest.
    num_threads: int = 2
    # While nobody is tracked and the whole frame shows no one, the detector also searches this many
    # tiles of the frame per frame, in turn (appliance/pose/tiles.py): a runner under ~150 px tall in
    # 720p, or crouched in the blocks, is only found that way. Each costs one detector run, and only
    # frames without a tracked person pay it; 2 scans a 720p frame's 10 tiles in 5 frames. A person
    # the whole-frame detector found is checked on the tiles once, at the same rate, on the frames
    # after (a patch of trees it took for a person is left for the runner the tiles find). 0 = off.
    detector_tiles_per_frame: int = 2

    def __post_init__(self) -> None:
        from appliance.pose import variants  # the manifest is read only when a pose config is built
        from appliance.pose.profile import PROFILES

        if self.profile not in PROFILES:
            raise ConfigError(f"pose.profile must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        for model in variants.MODELS:
            problem = variants.check_name(model, getattr(self, model))
            if problem is not None:
                raise ConfigError(problem)
        if not 1 <= self.num_threads <= 16:
            raise ConfigError(f"pose.num_threads must be 1 to 16, got {self.num_threads}")
        if not 0 <= self.detector_tiles_per_frame <= 16:
            raise ConfigError(f"pose.detector_tiles_per_frame must be 0 to 16, got {self.detector_tiles_per_frame}")


MQTT_TOPIC_RE = re.compile(r"^[^#+/\x00][^#+\x00]*(?<!/)$")  # a topic level path: no wildcards, no edge slashes


@dataclass(frozen=True)
class MqttConfig:
    """Publishing verdicts to an MQTT broker: the fleet view and Home Assistant (docs/fleet.md)."""

    # Off by default: a unit on its own needs no broker.
    enabled: bool = False
    # The broker's host name or address (mosquitto on the club's laptop, a Pi, Home Assistant's add-on).
    host: str = "localhost"
    # 1883 plain, 8883 is the usual port with tls = true.
    port: int = 1883
    # Broker login; empty = anonymous (mosquitto then needs allow_anonymous true).
    username: str = ""
    # Empty = none. Keep it out of this file: set the environment override LEANCAM_MQTT_PASSWORD
    # instead (e.g. in a systemd EnvironmentFile readable only by the service user).
    password: str = ""
    # TLS to the broker; ca_file = the CA certificate that signed the broker's (PEM), empty = the system's CAs.
    tls: bool = False
    ca_file: str = ""
    # Topics are <topic_prefix>/<unit>/availability, /state and /event; <unit> is a slug of [unit] name.
    topic_prefix: str = "leancam"
    # Home Assistant MQTT discovery under this prefix (its default); empty = no discovery messages.
    discovery_prefix: str = "homeassistant"
    # Delivered events stay this long in the outbox: what `leancam fleet --export` can fetch from the unit.
    keep_delivered_days: float = 7.0
    # While the broker is away events wait in the outbox; above this many the oldest are dropped (logged).
    # 100 000 events ≈ 50 MB of SQLite and weeks of running.
    max_pending_events: int = 100_000

    def __post_init__(self) -> None:
        errors = []
        if self.enabled and not self.host.strip():
            errors.append("mqtt.host: the broker's host name is needed when mqtt.enabled is true")
        if not 1 <= self.port <= 65535:
            errors.append(f"mqtt.port: 1 to 65535, got {self.port}")
        if not MQTT_TOPIC_RE.match(self.topic_prefix):
            errors.append(f"mqtt.topic_prefix: a topic without + or # and no leading/trailing /, got "
                          f"{self.topic_prefix!r}")
        if self.discovery_prefix and not MQTT_TOPIC_RE.match(self.discovery_prefix):
            errors.append(f"mqtt.discovery_prefix: a topic without + or # and no leading/trailing /, or empty, "
                          f"got {self.discovery_prefix!r}")
        if not 0 <= self.keep_delivered_days <= 366:
            errors.append(f"mqtt.keep_delivered_days: 0 to 366, got {self.keep_delivered_days:g}")
        if not 100 <= self.max_pending_events <= 10_000_000:
            errors.append(f"mqtt.max_pending_events: 100 to 10000000, got {self.max_pending_events}")
        if self.enabled and self.tls and self.ca_file and not Path(self.ca_file).is_file():
            errors.append(f"mqtt.ca_file: no such file {self.ca_file!r}")
        if errors:
            raise ConfigError("; ".join(errors))


@dataclass(frozen=True)
class RecorderConfig:
    """Clip timing and encoding (the ``[recording]`` config table)."""

    enabled: bool = True
    # Video kept before the trigger: the trigger (initiation, first stride) comes after the runner
    # has started moving, and the coach wants to see the still stance before it.
    pre_roll_s: float = 3.0
    # Video kept after ``end``: the last stride's toe-off and follow-through.
    post_roll_s: float = 2.0
    # A clip longer than this is closed (a runner on a treadmill never "ends").
    max_clip_s: float = 120.0
    # Keyframe interval: a clip starts up to this much earlier than pre_roll_s asks.
    gop_s: float = 1.0
    # Width of software recordings (off the Pi, and the Pi 5's main stream): frames are scaled down
    # to it. 640 from the measured budget (docs/performance.md): 1280 costs the live pipeline 0.84-0.98
    # of its throughput on 2 cores, 640 keeps 0.92. A Pi 4's hardware encoder records 1280x720.
    max_width_px: int | None = 640
    # x264 quality (lower = better, bigger); ignored by the Pi's hardware encoder.
    crf: int = 23
    # Software encoding (off the Pi, and a Pi 5: it has no H.264 hardware) keeps at most this many
    # frames per second of capture time; 0 keeps every frame. Budget in docs/performance.md.
    max_fps: float = 30.0
    # Frames waiting for the software encoder's thread. When it is full, `leancam run` leaves the
    # frame out of the recording (counted) rather than make the pose loop wait.
    encode_queue_frames: int = 8
    # H.264 bitrate of the Pi camera's encoder (hardware on a Pi 4, libav on a Pi 5).
    bitrate_kbps: int = 6000
    # After a disk-full stop, recording resumes only once this much more space is free than when
    # it stopped, so a nearly full card does not flip between starting clips and failing them.
    resume_free_mb: float = 50.0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError(f"recording.enabled must be true or false, got {self.enabled!r}")
        for name, low in (("pre_roll_s", 0.0), ("post_roll_s", 0.0), ("max_clip_s", 1.0), ("gop_s", 0.1),
                          ("resume_free_mb", 0.0)):
            value = getattr(self, name)
            if not is_finite_number(value):
                raise ConfigError(f"recording.{name} must be a finite number, got {value!r}")
            if not low <= value <= 3600:
                raise ConfigError(f"recording.{name} must be between {low} and 3600, got {value!r}")
        if self.max_width_px is not None and (isinstance(self.max_width_px, bool)
                                              or not isinstance(self.max_width_px, int)
                                              or not 16 <= self.max_width_px <= 4096):
            raise ConfigError(f"recording.max_width_px must be an integer 16..4096, got {self.max_width_px!r}")
        if isinstance(self.crf, bool) or not isinstance(self.crf, int) or not 0 <= self.crf <= 51:
            raise ConfigError(f"recording.crf must be an integer 0..51, got {self.crf!r}")
        fps = self.max_fps
        if not is_finite_number(fps) or not 0 <= fps <= 240:
            raise ConfigError(f"recording.max_fps must be a number 0..240 (0: every frame), got {fps!r}")
        for name, low, high in (("encode_queue_frames", 1, 120), ("bitrate_kbps", 100, 50_000)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"recording.{name} must be an integer {low}..{high}, got {value!r}")


@dataclass(frozen=True)
class RetentionConfig:
    """Disk quota and maximum age of recordings (the ``[retention]`` config table)."""

    # All clips together; 4 GB is ~4 h of 720p ultrafast H.264 and fits a 16 GB SD card.
    quota_mb: float = 4096.0
    # A coach reviews a session within days; a month keeps a training block.
    max_age_days: float = 30.0
    # Keep this much of the filesystem free for the OS, logs and the database; below it the
    # recorder stops (disk full) instead of starving everything else.
    min_free_mb: float = 200.0

    def __post_init__(self) -> None:
        for name in ("quota_mb", "max_age_days", "min_free_mb"):
            value = getattr(self, name)
            if not is_finite_number(value):
                raise ConfigError(f"retention.{name} must be a finite number, got {value!r}")
            if value < 0 or (value == 0 and name != "min_free_mb"):
                raise ConfigError(f"retention.{name} must be positive, got {value!r}")


@dataclass(frozen=True)
class Config:
    unit: UnitConfig = field(default_factory=UnitConfig)
    gait: GaitConfig = field(default_factory=GaitConfig)
    lean: LeanConfig = field(default_factory=LeanConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    leds: LedConfig = field(default_factory=LedConfig)
    web: WebConfig = field(default_factory=WebConfig)
    recording: RecorderConfig = field(default_factory=RecorderConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)


