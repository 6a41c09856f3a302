"""Motion capture as a test: CMU side-on joint positions → BlazePose keypoints, with truth.

Why: no video we have shows a *standing* start with force-plate-grade timing, and the block-start
labels are one labeller's eye. The CMU trials in ``../shared/data/mocap_cmu`` (120 fps, metres,
side-on: x forward, y up) have the truth in them: when the push foot leaves the ground and how far
the body leans then. Projected to the 33 image keypoints the analysis reads, with the jitter of a
real pose model, they go through the real analyzer (``analyze_frames``), and the initiation time
and lean it reports are compared with the mocap's own (issue 14, step 4).

Projection (``project``):

- Camera: a fixed side view of ``Camera.width_px`` × ``height_px``; ``px_per_m`` defaults to the
  scale at which the leg (hip→knee→ankle) is ``leg_px`` (110 px: the sprint clips' runners), the
  runner's whole path is centred, and the floor (the lowest foot point of the trial) is at
  ``ground_row`` of the height. y is down; ``mirror`` flips x (the runner goes right → left).
- Joints: shoulders = ``Left/RightArm``, elbows = ``*ForeArm``, wrists = ``*Hand``, hips =
  ``*UpLeg``, knees = ``*Leg``, ankles = ``*Foot``, foot index = the toe tip (``*ToeBase_End``);
  hand points (pinky, index, thumb) a few cm beyond the wrist along the forearm.
- **Heel** (CMU has no heel joint): a point rigidly fixed to the foot (ankle → ball of the foot),
  placed in the foot's rest pose ``HEEL_BACK`` (0.4) of the ankle→ball distance *behind* the ankle
  and at the level of the sole (the lower of ball and toe tip) — a flat foot has heel and toe on
  the ground, and the heel bone ends about 0.4 of the ankle→ball length behind the ankle in adult
  feet (~6 cm behind, ~15 cm to the ball). The rest pose is the trial's still stance (the first
  0.25 s) when the feet are still then, else the frame where that foot is lowest and slowest
  (a mid-stance of the steady run). As the foot rotates (heel rise, toe-off) the heel rotates with
  it, so it rises behind and below the ankle as a real heel does.
- Head: ears are on the head's axis ``EAR_ALONG`` (0.35) of the way from ``Head`` (top of the neck)
  to ``Head_End`` (top of the head), the two ears ±1 cm apart in x (a side view sees them nearly
  on top of each other); eyes and nose ``FACE_AHEAD`` (0.6) of that head length ahead of the axis
  (perpendicular to it, forward), mouth below the nose.
- Visibility: 0.95 for the near side, 0.75 for the far side (a side view hides it), presence 1.

Jitter (``Jitter``), in **leg lengths** so it scales with the runner's size, measured on our
engine's keypoints of the seven sprint clips in the still "set" position (frame-to-frame
differences / √2, per leg length; robust sd (MAD) per clip, plain sd in brackets): torso
0.0065–0.010 (0.009–0.015), head 0.004–0.007, knees/elbows/wrists 0.007–0.010 (0.013–0.027), feet
0.009–0.013 (0.014–0.031). docs/analysis.md's figures agree: pelvis_offset jitters 0.003–0.01 in
the set position, foot points 5–10 px peak to peak on a 110 px leg in motion. Defaults: body
``body_sd_ll`` 0.008 (0.9 px at 110 px), limbs 0.010, feet ``foot_sd_ll`` 0.012 (1.3 px): the
robust core; the heavy tail (plain sd ≈ 1.5× robust) is the **drops**: in ``drop_rate`` (2 %) of
frames a point's visibility falls to 0.1–0.4 and it moves by an extra 3 sd (a model unsure of a
point also places it worse). Far-side points have visibility 0.75 (the engine's feet: median
0.74–0.91). White noise, seeded: the same seed gives the same keypoints.

Truth (``start_truth``), from the mocap only: a standing start has both feet (ankles and balls)
moving slower than ``STILL_SPEED_M_S`` (0.15 m/s: the mocap's own marker jitter reaches 0.12) for
the first 0.25 s (the pelvis may move: 104_06 leans forward slowly from its stance); after it, a
foot's **toe-off** is the first frame its toe tip moves faster than ``TOE_OFF_SPEED_M_S`` (1 m/s)
for 3 frames in a row (25 ms): a planted toe rolls and slides by millimetres (< 0.4 m/s in these
trials), a leaving toe passes 1 m/s within a frame or two and reaches metres per second. This gives
the README's times within 1 frame at 120 fps for 143_03 (right 1.14 s, left 1.38 s). The **push
foot** is the foot that leaves last (the other one steps first); the initiation truth is its toe-
off. **Lean at initiation** uses the analysis's own definition
(appliance/analysis/lean/metrics.py): the angle from vertical of the line push-foot contact point
(its lower end, heel or toe tip: the toe at push-off) → head (mid-ears, as projected), + = forward,
at the push foot's last frame on the ground. A trial that starts already running (no still stance)
has no start truth.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from dataclasses import dataclass

import numpy as np

from appliance.analysis.analyzer import analyze_frames
from appliance.config import Config
from appliance.pose.types import N_LANDMARKS, PoseFrame

log = logging.getLogger(__name__)

MOCAP_FPS = 120.0
HEEL_BACK = 0.4  # heel behind the ankle, as a share of the ankle → ball distance (rest pose)
EAR_ALONG = 0.35  # ears along Head → Head_End
FACE_AHEAD = 0.6  # nose / eyes ahead of the head axis, in head lengths (Head → Head_End)
STILL_S = 0.25  # the rest pose and "still" check use the first this-many seconds
STILL_SPEED_M_S = 0.15
TOE_OFF_SPEED_M_S = 1.0
TOE_OFF_HOLD_FRAMES = 3
NEAR_VISIBILITY = 0.95
FAR_VISIBILITY = 0.75
SIDES = ("Left", "Right")


@dataclass(frozen=True, eq=False)
class Mocap:
    """One trial: times (s) and joint positions (metres, x forward, y up), one (N, 2) array per joint."""

    name: str
    t_s: np.ndarray
    joints: dict[str, np.ndarray]

    def leg_length_m(self) -> float:
        """Median over frames of hip→knee + knee→ankle, both legs averaged (the analysis's unit)."""
        legs = []
        for side in SIDES:
            hip, knee, ankle = (self.joints[f"{side}{j}"] for j in ("UpLeg", "Leg", "Foot"))
            legs.append(np.linalg.norm(hip - knee, axis=1) + np.linalg.norm(knee - ankle, axis=1))
        return float(np.median(np.mean(legs, axis=0)))


def parse_sagittal_csv(text: str, name: str = "") -> Mocap:
    """Parse a ``*_sagittal_xy_m.csv`` (``t_s, <Joint>_x, <Joint>_y, …``)."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0][0] != "t_s":
        raise ValueError(f"{name or 'mocap'}: not a sagittal CSV (first column must be t_s)")
    header, data = rows[0], np.array([[float(v) for v in r] for r in rows[1:] if r], dtype=float)
    joints = {}
    for i, col in enumerate(header):
        if col.endswith("_x") and header[i + 1] == col[:-2] + "_y":
            joints[col[:-2]] = data[:, i:i + 2].copy()
    return Mocap(name, data[:, 0].copy(), joints)


def _speed(points: np.ndarray, t_s: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.gradient(points, t_s, axis=0), axis=1)


def _rest_frame(m: Mocap, side: str) -> int:
    """A frame where the foot is flat and still: the start's stance, else the lowest, slowest frame."""
    ball = m.joints[f"{side}ToeBase"]
    still = m.t_s <= STILL_S
    if _speed(ball, m.t_s)[still].max() < STILL_SPEED_M_S:
        return int(np.flatnonzero(still)[len(np.flatnonzero(still)) // 2])
    cost = (ball[:, 1] - ball[:, 1].min()) + 0.05 * _speed(ball, m.t_s)
    return int(np.argmin(cost))


def heel(m: Mocap, side: str) -> np.ndarray:
    """The heel's track (N, 2): fixed to the foot, HEEL_BACK behind the ankle at sole level at rest."""
    ankle, ball, tip = m.joints[f"{side}Foot"], m.joints[f"{side}ToeBase"], m.joints[f"{side}ToeBase_End"]
    r = _rest_frame(m, side)
    sole_y = min(ball[r, 1], tip[r, 1])
    rest_heel = np.array([ankle[r, 0] - HEEL_BACK * (ball[r, 0] - ankle[r, 0]), sole_y])
    axis_rest = ball[r] - ankle[r]
    phi_rest = math.atan2(axis_rest[1], axis_rest[0])
    local = rest_heel - ankle[r]
    axis = ball - ankle
    phi = np.arctan2(axis[:, 1], axis[:, 0]) - phi_rest
    c, s = np.cos(phi), np.sin(phi)
    return ankle + np.stack([c * local[0] - s * local[1], s * local[0] + c * local[1]], axis=1)


def head_points(m: Mocap) -> tuple[np.ndarray, np.ndarray]:
    """(mid-ears, nose) tracks (N, 2) in metres (module doc)."""
    base, top = m.joints["Head"], m.joints["Head_End"]
    axis = top - base
    ears = base + EAR_ALONG * axis
    forward = np.stack([axis[:, 1], -axis[:, 0]], axis=1)  # axis turned 90° towards +x (the runner faces +x)
    nose = ears + FACE_AHEAD * forward - 0.15 * axis
    return ears, nose


def world_landmarks(m: Mocap) -> np.ndarray:
    """(N, 33, 2) BlazePose landmarks in metres (x forward, y up), before any camera or jitter."""
    n = len(m.t_s)
    out = np.zeros((n, N_LANDMARKS, 2))
    j = m.joints
    ears, nose = head_points(m)
    head_len = np.linalg.norm(j["Head_End"] - j["Head"], axis=1)[:, None]
    dx = np.array([1.0, 0.0])
    out[:, 0] = nose
    for k, ahead in ((1, 0.8), (2, 0.8), (3, 0.75), (4, 0.8), (5, 0.8), (6, 0.75)):  # eyes
        out[:, k] = ears + (nose - ears) * ahead + np.array([0.0, 0.12]) * head_len
    out[:, 7] = ears - 0.01 * dx
    out[:, 8] = ears + 0.01 * dx
    out[:, 9] = out[:, 10] = nose - np.array([0.0, 0.35]) * head_len
    for side, off in (("Left", 0), ("Right", 1)):
        shoulder, elbow, wrist = j[f"{side}Arm"], j[f"{side}ForeArm"], j[f"{side}Hand"]
        out[:, 11 + off] = shoulder
        out[:, 13 + off] = elbow
        out[:, 15 + off] = wrist
        fore = wrist - elbow
        for k, ahead in ((17, 0.3), (19, 0.35), (21, 0.2)):  # pinky, index, thumb
            out[:, k + off] = wrist + ahead * fore
        out[:, 23 + off] = j[f"{side}UpLeg"]
        out[:, 25 + off] = j[f"{side}Leg"]
        out[:, 27 + off] = j[f"{side}Foot"]
        out[:, 29 + off] = heel(m, side)
        out[:, 31 + off] = j[f"{side}ToeBase_End"]
    return out


# Landmark groups for jitter: feet, limbs, the rest (torso, head).
FOOT_IDX = (27, 28, 29, 30, 31, 32)
LIMB_IDX = (13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 25, 26)


@dataclass(frozen=True)
class Camera:
    width_px: int = 1280
    height_px: int = 720
    leg_px: float = 110.0  # the runner's leg length in the image (sets px_per_m)
    ground_row: float = 0.85  # the floor's image row, as a share of the height


@dataclass(frozen=True)
class Jitter:
    """Pose-model noise, in leg lengths (module doc says where the figures come from)."""

    body_sd_ll: float = 0.008
    limb_sd_ll: float = 0.010
    foot_sd_ll: float = 0.012
    drop_rate: float = 0.02
    seed: int = 0


NO_JITTER = Jitter(0.0, 0.0, 0.0, 0.0)


def resample(t_s: np.ndarray, values: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of (N, …) ``values`` at ``fps`` from the first to the last time."""
    n = math.floor((t_s[-1] - t_s[0]) * fps + 1e-9) + 1
    times = t_s[0] + np.arange(n) / fps
    flat = values.reshape(len(t_s), -1)
    out = np.stack([np.interp(times, t_s, flat[:, c]) for c in range(flat.shape[1])], axis=1)
    return times, out.reshape((n, *values.shape[1:]))


def project(m: Mocap, fps: float, camera: Camera = Camera(), jitter: Jitter = Jitter(),
            mirror: bool = False) -> list[PoseFrame]:
    """The trial as a pose model would report it from a side camera at ``fps`` (module doc)."""
    world = world_landmarks(m)
    px_per_m = camera.leg_px / m.leg_length_m()
    xs = world[..., 0]
    mid_x = (xs.min() + xs.max()) / 2
    floor = min(world[:, list(FOOT_IDX), 1].min(), 0.0)
    times, pts = resample(m.t_s, world, fps)
    img = np.empty_like(pts)
    img[..., 0] = camera.width_px / 2 + (pts[..., 0] - mid_x) * px_per_m
    img[..., 1] = camera.ground_row * camera.height_px - (pts[..., 1] - floor) * px_per_m
    if mirror:
        img[..., 0] = camera.width_px - img[..., 0]
    rng = np.random.default_rng(jitter.seed)
    sd = np.full(N_LANDMARKS, jitter.body_sd_ll)
    sd[list(LIMB_IDX)] = jitter.limb_sd_ll
    sd[list(FOOT_IDX)] = jitter.foot_sd_ll
    sd_px = sd * camera.leg_px
    n = len(times)
    img += rng.normal(size=img.shape) * sd_px[None, :, None]
    vis = np.full((n, N_LANDMARKS), NEAR_VISIBILITY)
    # Facing +x with y up, the runner's right side (forward × up = +z) faces the camera: left points
    # (odd indices) are the far side; mirrored, the right ones are. Mouth corners are both seen.
    far = np.array([k for k in range(1, N_LANDMARKS) if (k % 2 == 1) != mirror and k not in (9, 10)])
    vis[:, far] = FAR_VISIBILITY
    drops = rng.random((n, N_LANDMARKS)) < jitter.drop_rate
    vis[drops] = rng.uniform(0.1, 0.4, size=int(drops.sum()))
    img[drops] += rng.normal(size=(int(drops.sum()), 2)) * 3 * sd_px[np.nonzero(drops)[1]][:, None]
    frames = []
    for i in range(n):
        lm = np.zeros((N_LANDMARKS, 5), dtype=np.float32)
        lm[:, :2] = img[i]
        lm[:, 3] = vis[i]
        lm[:, 4] = 1.0
        frames.append(PoseFrame(i, float(times[i] - times[0]), camera.width_px, camera.height_px, lm, 0.99))
    return frames


@dataclass(frozen=True)
class StartTruth:
    """What the mocap says about a standing start."""

    push_foot: str  # "Left" / "Right": the foot that leaves last
    push_toe_off_t_s: float  # the initiation truth
    first_step_foot: str
    first_step_toe_off_t_s: float
    lean_deg: float  # push-foot contact point → mid-ears from vertical, + forward, at its last frame down
    still_until_t_s: float  # end of the still stance: the first frame anything moves


def toe_off_t_s(m: Mocap, side: str, after_t_s: float) -> float | None:
    """First time after ``after_t_s`` the toe tip moves faster than TOE_OFF_SPEED_M_S for 3 frames."""
    fast = _speed(m.joints[f"{side}ToeBase_End"], m.t_s) > TOE_OFF_SPEED_M_S
    for i in np.flatnonzero(m.t_s > after_t_s):
        if i + TOE_OFF_HOLD_FRAMES <= len(fast) and fast[i:i + TOE_OFF_HOLD_FRAMES].all():
            return float(m.t_s[i])
    return None


def start_truth(m: Mocap) -> StartTruth | None:
    """The standing start's truth, or None when the trial does not start still (module doc)."""
    still = m.t_s <= STILL_S
    # Feet only: 104_06 leans forward slowly from its stance (the pelvis moves at ~0.1-0.2 m/s while
    # both feet stay planted); that is still a standing start. Toe tips jitter at up to 0.24 m/s in
    # the mocap itself, so ankles and balls are the feet here.
    points = [m.joints[f"{s}{j}"] for s in SIDES for j in ("Foot", "ToeBase")]
    speeds = np.max([_speed(p, m.t_s) for p in points], axis=0)
    if speeds[still].max() >= STILL_SPEED_M_S:
        return None
    moving = np.flatnonzero(~still & (speeds >= STILL_SPEED_M_S))
    still_until = float(m.t_s[moving[0]]) if moving.size else float(m.t_s[-1])
    offs = {s: toe_off_t_s(m, s, STILL_S) for s in SIDES}
    if any(v is None for v in offs.values()):
        return None
    push = max(SIDES, key=lambda s: offs[s] or 0.0)
    first = min(SIDES, key=lambda s: offs[s] or 0.0)
    i = int(np.searchsorted(m.t_s, offs[push])) - 1  # its last frame on the ground
    ears, _ = head_points(m)
    tip, h = m.joints[f"{push}ToeBase_End"], heel(m, push)
    contact = tip[i] if tip[i, 1] <= h[i, 1] else h[i]
    v = ears[i] - contact
    lean = math.degrees(math.atan2(v[0], v[1]))
    return StartTruth(push, float(offs[push] or 0.0), first, float(offs[first] or 0.0), lean, still_until)


@dataclass(frozen=True)
class MocapCheck:
    """One trial through the analyzer at one frame rate, direction and jitter seed."""

    trial: str
    fps: float
    mirror: bool
    seed: int
    truth: StartTruth | None
    initiations: int  # fired
    initiation_t_s: float | None
    error_frames: float | None  # (detected − push toe-off) in frames of ``fps``; + = late
    lean_deg: float | None
    lean_error_deg: float | None  # detected − truth


def check(m: Mocap, fps: float, mirror: bool = False, jitter: Jitter = Jitter(), camera: Camera = Camera(),
          config: Config | None = None) -> MocapCheck:
    """Project ``m`` and run it through the real analyzer; compare its start with the truth."""
    result = analyze_frames(project(m, fps, camera, jitter, mirror), config)
    truth = start_truth(m)
    inits = [e for e in result.events if e.kind == "initiation"]
    t = inits[0].t_s if inits else None
    err = None if (t is None or truth is None) else (t - (truth.push_toe_off_t_s - m.t_s[0])) * fps
    lean = None
    if result.start is not None and result.start.metrics is not None:
        lean = result.start.metrics.lean_deg
    lean_err = None if (lean is None or truth is None) else lean - truth.lean_deg
    return MocapCheck(m.name, fps, mirror, jitter.seed, truth, len(inits), t, err, lean, lean_err)
