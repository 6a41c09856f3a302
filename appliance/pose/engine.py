"""The two-stage BlazePose engine: detector when tracking is lost, otherwise ROI from landmarks.

Tracking is MediaPipe's (``pose_landmark_cpu.pbtxt`` in video mode):

1. If the previous frame left an ROI, skip the detector and use it.
2. Otherwise run the detector, choose one detection (``select_person`` below) and build the ROI from
   its hip-centre and scale keypoints. If the whole frame shows nobody, search overlapping tiles of
   it, a few per frame (``tiles.py``): the detector sees the frame at 224 px, where a runner 100 px
   tall in a 720p frame is 30 px and a crouched sprinter in the blocks is not found at all; a tile
   of 2/3 of the frame's height brings them to a size it finds (MediaPipe has no such step). A
   person the whole-frame detector found is checked on the tiles over the next frames
   (``TileCheck``): where no tile sees them and a tile sees someone else, the track moves there
   (the detector takes patches of trees for a person; MediaPipe would follow them for good).
3. Run the landmark model on the ROI. If its pose-presence score is below 0.5 the frame has no pose
   and tracking is dropped, so the *next* frame runs the detector (this frame is not retried, as in
   MediaPipe).
4. Otherwise smooth the auxiliary points 33/34 (One-Euro, as MediaPipe always does) and build the
   next frame's ROI from them.

Choosing the person (not in MediaPipe, which takes the highest score): which person is followed must
not depend on the CPU's rounding. On which frame the track is lost depends on a presence score near
0.5, and the detector's scores move with the kernels (two people tie at exactly 0.5 on one demo frame
with the int8 detector), so "highest score" can pick the other person on another CPU. The engine
therefore (a) re-acquires the person it was following when a detection's hip centre lies inside the
last tracked ROI, lost at most ``REACQUIRE_S`` ago, whatever the scores, and otherwise (b) takes the
highest score, treating scores within ``SCORE_TIE`` of it as equal and breaking the tie by geometry
(larger box first, then left to right), never by the order of nearly equal floats.

The engine holds the interpreters and all image buffers; one instance per video stream, not
thread-safe. ``reset()`` forgets the track (call it between unrelated clips).
"""

from __future__ import annotations

import logging
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np

from appliance.config import PoseConfig
from appliance.ops import assets
from appliance.pose import variants
from appliance.pose.detector import MIN_SCORE, Detection, PoseDetector
from appliance.pose.landmarks import LandmarkModel
from appliance.pose.profile import DEVICE_TREE_MODEL, ProfileChoice, choose_profile
from appliance.pose.roi import RotatedRect, rect_from_alignment_points
from appliance.pose.roi_smoothing import AuxLandmarkSmoother
from appliance.pose.tiles import TileCheck, TileSearch
from appliance.pose.types import PoseFrame
from appliance.sources.base import Frame

log = logging.getLogger(__name__)

MIN_PRESENCE = 0.5  # mp.solutions.pose's min_tracking_confidence default
# Re-acquire the person last followed if the track was lost at most this long ago (a runner passing
# behind a post, a presence score dipping under 0.5 for a frame or two during a backflip).
REACQUIRE_S = 1.0
# Detector scores closer than this to the best count as a tie (int8 kernels move scores by up to
# ~0.005 between CPUs on the demo clip; scores step by ~0.004 at 0.5 in the int8 build's output).
SCORE_TIE = 0.02


def _hip_px(det: Detection, width: int, height: int) -> tuple[float, float]:
    x, y = det.keypoints[0].tolist()
    return x * width, y * height


def _box_area(det: Detection) -> float:
    x0, y0, x1, y1 = det.box
    return max(0.0, x1 - x0) * max(0.0, y1 - y0)


def select_person(detections: list[Detection], width: int, height: int,
                  last_roi: RotatedRect | None = None) -> Detection | None:
    """The detection to follow (see the module doc): the one inside ``last_roi`` nearest its centre,
    else the best score with near-ties broken by box area (larger first), then x, then y."""
    if not detections:
        return None
    if last_roi is not None:
        cx, cy, half = last_roi.x_center_px, last_roi.y_center_px, last_roi.width_px / 2.0
        inside = []
        for det in detections:
            hx, hy = _hip_px(det, width, height)
            dist = ((hx - cx) ** 2 + (hy - cy) ** 2) ** 0.5
            if dist <= half:
                inside.append((dist, det))
        if inside:
            return min(inside, key=lambda t: t[0])[1]
    best = max(det.score for det in detections)
    tied = [det for det in detections if det.score >= best - SCORE_TIE]
    return min(tied, key=lambda det: (-round(_box_area(det), 4), round(float(det.keypoints[0][0]), 4),
                                      round(float(det.keypoints[0][1]), 4)))


@dataclass(frozen=True)
class EngineStats:
    """Counts since construction or the last ``reset()``."""

    frames: int
    detector_runs: int
    frames_with_pose: int


@dataclass(frozen=True)
class StageTimes:
    """Cumulative seconds spent in each step of the pose stage since the engine was built.

    Differences of two snapshots give a run's breakdown (``leancam bench pose``). Everything the
    stage does that is not listed (ROI from a detection, ROI smoothing, the next ROI, the result)
    is the stage's total time minus the sum of these.
    """

    crop_s: float  # landmark crop: warpAffine of the ROI to 256² (uint8)
    normalize_s: float  # landmark input: uint8 → model input
    landmark_invoke_s: float
    landmark_post_s: float  # outputs read, heatmap refinement, projection to frame pixels
    detector_s: float  # whole detect() calls: letterbox, normalise, invoke, decode, NMS
    detector_invoke_s: float

    def __sub__(self, other: StageTimes) -> StageTimes:
        return StageTimes(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))


def landmark_of(cfg: PoseConfig, profile: str) -> tuple[str, str]:
    """(variants model key, variant name) of the landmark model for a resolved profile."""
    return ("landmark_lite", cfg.landmark_lite) if profile == "lite" else ("landmark", cfg.landmark)


class PoseEngine:
    """BlazePose detector + landmark model with MediaPipe-style ROI tracking."""

    def __init__(self, detector_path: Path, landmark_path: Path, num_threads: int = 2,
                 min_detection_score: float = MIN_SCORE, min_presence: float = MIN_PRESENCE,
                 refine_with_heatmap: bool = True, tiles_per_frame: int = PoseConfig.detector_tiles_per_frame) -> None:
        self.detector = PoseDetector(detector_path, num_threads, min_detection_score)
        self.tiles = TileSearch(self.detector, tiles_per_frame)
        self.tile_check = TileCheck(self.detector, tiles_per_frame)
        self.landmarks = LandmarkModel(landmark_path, num_threads, refine_with_heatmap)
        self.min_presence = min_presence
        self._smoother = AuxLandmarkSmoother()
        self._roi: RotatedRect | None = None
        # The last tracked ROI and its frame time, kept after the track is lost (re-acquisition).
        self._last_roi: RotatedRect | None = None
        self._last_roi_t_s = 0.0
        self._size_px: tuple[int, int] | None = None
        self._frames = self._detector_runs = self._with_pose = 0
        # (detector, landmark) variant names for logs and benchmarks; file names unless a
        # constructor below knows better.
        self.variant_names: tuple[str, str] = (Path(detector_path).name, Path(landmark_path).name)
        # Set by from_config(): which profile the landmark model came from, and why.
        self.profile: ProfileChoice | None = None

    @classmethod
    def from_assets(cls, num_threads: int = 2) -> PoseEngine:
        """Engine on the fetched, checksum-verified originals (ModelError tells the user to run setup).

        The MediaPipe files themselves: what the golden tests compare with mp.solutions.pose.
        """
        engine = cls(assets.require("pose_detection"), assets.require("pose_landmark_full"), num_threads)
        engine.variant_names = (variants.ORIGINAL, variants.ORIGINAL)
        return engine

    @classmethod
    def from_config(cls, cfg: PoseConfig, num_threads: int | None = None,
                    device_tree_model: Path = DEVICE_TREE_MODEL) -> PoseEngine:
        """Engine on the variants ``cfg`` names (``original`` or a gated build, sha256-verified).

        ``cfg.profile`` picks the landmark model (``auto``: by board, see appliance/pose/profile.py);
        ``num_threads`` overrides ``cfg.num_threads`` (the CLI's ``--threads``); ``device_tree_model``
        is the board-model file ``auto`` reads (tests pass a fake one).
        """
        choice = choose_profile(cfg.profile, device_tree_model)
        model, lm_name = landmark_of(cfg, choice.profile)
        detector = variants.resolve("detector", cfg.detector)
        landmark = variants.resolve(model, lm_name)
        threads = cfg.num_threads if num_threads is None else num_threads
        log.info("pose profile %s (%s); models: detector %s, %s %s, %d threads", choice.profile, choice.reason,
                 cfg.detector, model, lm_name, threads)
        engine = cls(detector, landmark, threads, tiles_per_frame=cfg.detector_tiles_per_frame)
        engine.variant_names = (cfg.detector, lm_name if model == "landmark" else f"lite:{lm_name}")
        engine.profile = choice
        return engine

    @property
    def stats(self) -> EngineStats:
        return EngineStats(self._frames, self._detector_runs, self._with_pose)

    def times(self) -> StageTimes:
        """Snapshot of the cumulative step times (not reset by ``reset()``)."""
        det, lm = self.detector, self.landmarks
        return StageTimes(lm.crop_s, lm.normalize_s, lm.invoke_s, lm.post_s, det.detect_s, det.invoke_s)

    @property
    def roi(self) -> RotatedRect | None:
        """The ROI the next frame will use (None: the detector will run)."""
        return self._roi

    def reset(self) -> None:
        self.tiles.reset()
        self.tile_check.cancel()
        self._roi = None
        self._last_roi = None
        self._size_px = None
        self._smoother.reset()
        self._frames = self._detector_runs = self._with_pose = 0

    def _drop_track(self) -> None:
        self._roi = None
        self.tile_check.cancel()
        self._smoother.reset()

    def process(self, frame: Frame) -> PoseFrame:
        """Pose of one frame; frames must come in capture order for tracking to make sense."""
        rgb = frame.rgb
        height, width = rgb.shape[:2]
        self._frames += 1
        if self._size_px != (width, height):
            # ROIs are in pixels of the previous frame; a new frame size (camera mode switch) means
            # they no longer apply, so start again from the detector.
            self._drop_track()
            self._last_roi = None
            self._size_px = (width, height)
        roi = self._roi
        if roi is None:
            self._detector_runs += 1
            detections = self.detector.detect(rgb)
            recent = self._last_roi is not None and 0.0 <= frame.t_s - self._last_roi_t_s <= REACQUIRE_S
            chosen = select_person(detections, width, height, self._last_roi if recent else None)
            if chosen is not None:
                kps = chosen.keypoints.astype(np.float64) * [width, height]
            else:
                kps = self.tiles.search(rgb)
                if kps is None:
                    return PoseFrame(frame.index, frame.t_s, width, height, None, 0.0)
            roi = rect_from_alignment_points(tuple(kps[0]), tuple(kps[1]))
            if roi.width_px <= 0:
                return PoseFrame(frame.index, frame.t_s, width, height, None, 0.0)
            if chosen is not None:
                self.tile_check.start(width, height, roi)  # checked on the next frames (tiles.py)
        elif self.tile_check.active:
            verdict = self.tile_check.step(rgb, roi)
            if verdict is not None and verdict.switch_to is not None:
                kps = verdict.switch_to
                log.info("frame %d: nobody on the tiles where the whole-frame detector saw a person; "
                         "following the tiles' person at (%.0f, %.0f), score %.2f", frame.index,
                         kps[0][0], kps[0][1], verdict.score)
                self._smoother.reset()
                roi = rect_from_alignment_points(tuple(kps[0]), tuple(kps[1]))

        result = self.landmarks.run(rgb, roi)
        if result.score < self.min_presence:
            log.debug("frame %d: pose presence %.2f < %.2f, tracking lost", frame.index, result.score,
                      self.min_presence)
            self._drop_track()
            return PoseFrame(frame.index, frame.t_s, width, height, None, result.score)

        (cx, cy), (sx, sy) = self._smoother.apply(frame.t_s, result.aux_px).tolist()  # Python floats
        self._roi = rect_from_alignment_points((cx, cy), (sx, sy))
        self.tiles.seen(cx, cy)
        self._last_roi, self._last_roi_t_s = roi, frame.t_s
        self._with_pose += 1
        return PoseFrame(frame.index, frame.t_s, width, height, result.landmarks_px, result.score)
