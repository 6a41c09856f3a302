"""BlazePose person detector (``pose_detection.tflite``): letterbox, SSD decode, weighted NMS.

Every step follows ``mediapipe/modules/pose_detection/pose_detection_cpu.pbtxt``:

- ImageToTensor: the whole frame, padded to a square around its centre (keep aspect), warped to
  224×224 with bilinear sampling and a zero border, then mapped from [0, 255] to [-1, 1].
- TensorsToDetections: 2254 anchors, 12 values per box (x, y, w, h and 4 keypoints, x first since
  ``reverse_output_order``), all divided by 224 and offset by the anchor centre; scores are
  sigmoid(clip(logit, ±100)) and kept when ≥ the minimum score.
- NonMaxSuppression: WEIGHTED, IoU threshold 0.3: each kept detection averages the boxes and
  keypoints of everything it suppresses, weighted by score (it keeps its own score).
- DetectionLetterboxRemoval: undo the padding so coordinates are normalised to the frame.

Keypoint 0 is the mid-hip centre and keypoint 1 encodes the full-body size and rotation (2 and 3 are
the upper-body equivalents, unused here).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from appliance.errors import ModelError
from appliance.pose.anchors import generate_anchors
from appliance.pose.runtime import input_lut, load_interpreter, normalize_into, quantization, tensor_details

log = logging.getLogger(__name__)

MIN_SCORE = 0.5  # mp.solutions.pose's min_detection_confidence default, applied to this calculator
SCORE_CLIPPING = 100.0
NMS_IOU_THRESHOLD = 0.3
N_KEYPOINTS = 4
# Output tensors by name (the same in the original and every models/built variant).
OUTPUT_NAMES = {"boxes": "Identity", "scores": "Identity_1"}


@dataclass(frozen=True, eq=False)
class Detection:
    """One detected person, coordinates normalised to the source frame (0..1, may spill outside).

    ``box`` is (xmin, ymin, xmax, ymax) of the face box the model predicts; ``keypoints`` is (4, 2)
    float32 of x, y: hip centre, full-body scale/rotation point, shoulder centre, upper-body point.
    """

    score: float
    box: tuple[float, float, float, float]
    keypoints: np.ndarray


def _dequantize(q: np.ndarray, params: tuple[float, int] | None) -> np.ndarray:
    """float64 copy of an output (dequantized when the tensor is int8)."""
    if params is None:
        return q.astype(np.float64)
    scale, zero = params
    return (q.astype(np.float64) - zero) * scale


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def logit_floor(min_score: float) -> float:
    """A logit below which ``sigmoid(clip(logit))`` cannot reach ``min_score``: a pre-filter only.

    1e-3 below the exact logit, far more than float32 rounding of the threshold or float64 rounding
    of the sigmoid; 30 at most, because the float64 sigmoid already rounds to 1.0 from ~36.7 on.
    """
    if min_score <= 0.0:
        return -math.inf
    exact = math.log(min_score / (1.0 - min_score)) if min_score < 1.0 else math.inf
    return min(exact, 30.0) - 1e-3


def letterbox_matrix(width_px: int, height_px: int, size_px: int) -> tuple[np.ndarray, tuple[float, float]]:
    """Affine matrix (2×3) from frame pixels to the square model input, and the normalised padding.

    MediaPipe pads the ROI (the whole frame) to the tensor's aspect ratio around its centre and maps
    the padded square's *edges* (not pixel centres) onto 0..size, which is what this matrix does.
    Returns ``(matrix, (pad_x, pad_y))`` with the padding per side as a fraction of the square.
    """
    side = float(max(width_px, height_px))
    scale = size_px / side
    pad_x = (1.0 - width_px / side) / 2.0
    pad_y = (1.0 - height_px / side) / 2.0
    matrix = np.array(
        [[scale, 0.0, (side / 2.0 - width_px / 2.0) * scale],
         [0.0, scale, (side / 2.0 - height_px / 2.0) * scale]],
        dtype=np.float64,
    )
    return matrix, (pad_x, pad_y)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one box ``a`` (4,) against boxes ``b`` (N, 4), all as xmin, ymin, xmax, ymax."""
    ix = np.clip(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0.0, None)
    iy = np.clip(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0.0, None)
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(union > 0, inter / union, 0.0)
    return out


def weighted_nms(
    scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray, iou_threshold: float = NMS_IOU_THRESHOLD
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's WEIGHTED non-max suppression.

    Highest score first; every remaining detection overlapping it by IoU > threshold (itself included)
    is merged into a score-weighted mean box and keypoints and removed. Returns ``(score, box,
    keypoints)`` in descending score order. Blending rather than picking one box steadies the ROI.
    """
    order = np.argsort(-scores, kind="stable")
    out: list[tuple[float, np.ndarray, np.ndarray]] = []
    while order.size:
        top = order[0]
        overlap = iou(boxes[top], boxes[order]) > iou_threshold
        members = order[overlap]
        w = scores[members][:, None]
        total = float(w.sum())
        box = (boxes[members] * w).sum(axis=0) / total
        kps = (keypoints[members].reshape(len(members), -1) * w).sum(axis=0) / total
        out.append((float(scores[top]), box, kps.reshape(keypoints.shape[1:])))
        order = order[~overlap]
    return out


class PoseDetector:
    """Runs ``pose_detection.tflite`` on a whole frame; interpreter and buffers are built once."""

    def __init__(self, model_path: Path, num_threads: int = 2, min_score: float = MIN_SCORE) -> None:
        self._interpreter = load_interpreter(model_path, num_threads)
        inp = self._interpreter.get_input_details()[0]
        _, h, w, c = (int(v) for v in inp["shape"])
        if h != w or c != 3 or inp["dtype"] not in (np.float32, np.int8):
            raise ModelError(f"{model_path.name}: unexpected detector input {inp['shape']} {inp['dtype']}")
        self.input_size_px = h
        self._input = self._interpreter.tensor(inp["index"])
        # [0, 255] → [-1, 1] (quantized with the tensor's scale for an int8 model) as one lookup.
        self._lut = input_lut(inp, 2.0 / 255.0, -1.0)
        self.anchors = generate_anchors()
        outs = tensor_details(self._interpreter, OUTPUT_NAMES, model_path)
        n = len(self.anchors)
        if tuple(outs["boxes"]["shape"][1:]) != (n, 12) or tuple(outs["scores"]["shape"][1:]) != (n, 1):
            raise ModelError(
                f"{model_path.name}: outputs {[tuple(d['shape']) for d in outs.values()]} do not match "
                f"{n} anchors × 12 coords + score"
            )
        # Zero-copy views on the outputs (see landmarks.py); only taken inside detect().
        self._boxes_out = self._interpreter.tensor(outs["boxes"]["index"])
        self._scores_out = self._interpreter.tensor(outs["scores"]["index"])
        # int8 outputs (the full-int8 build) are dequantized as (q - zero) * scale.
        self._boxes_q = quantization(outs["boxes"])
        self._scores_q = quantization(outs["scores"])
        self.min_score = min_score
        self._logit_floor = logit_floor(min_score)
        # uint8 letterboxed frame: the warp writes here every call, no per-frame allocation.
        self._canvas = np.zeros((h, h, 3), dtype=np.uint8)
        # Seconds in invoke() alone and in whole detect() calls, and how many: the bench divides
        # the pose stage by the invokes and shows the detector's work around them apart.
        self.invoke_s = self.detect_s = 0.0
        self.invokes = 0

    @property
    def canvas(self) -> np.ndarray:
        """The last letterboxed uint8 input (read-only use: benchmarks, debugging)."""
        return self._canvas

    def invoke_on(self, canvas: np.ndarray) -> None:
        """Load a uint8 letterboxed frame (input size, RGB) and invoke only (raw-latency benchmarks)."""
        view = self._input()[0]
        normalize_into(self._lut, canvas, view)
        del view
        self._interpreter.invoke()

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Detections in ``rgb`` (HxWx3 uint8), best first, coordinates normalised to the frame."""
        t0 = time.perf_counter()
        try:
            return self._detect(rgb)
        finally:
            self.detect_s += time.perf_counter() - t0

    def _detect(self, rgb: np.ndarray) -> list[Detection]:
        height, width = rgb.shape[:2]
        size = self.input_size_px
        matrix, (pad_x, pad_y) = letterbox_matrix(width, height, size)
        # Warp in uint8 then rescale, as MediaPipe's OpenCV converter does (same rounding); the
        # zero border becomes -1 after rescaling, like BORDER_ZERO there.
        cv2.warpAffine(rgb, matrix, (size, size), dst=self._canvas, flags=cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        view = self._input()[0]
        normalize_into(self._lut, self._canvas, view)
        del view  # the interpreter refuses to run while a view into its buffers is alive
        t0 = time.perf_counter()
        self._interpreter.invoke()
        self.invoke_s += time.perf_counter() - t0
        self.invokes += 1

        # Only anchors whose logit can reach the minimum score go through the sigmoid (usually
        # none or a few of 2254): one comparison on the output view instead of a float64 copy,
        # clip and sigmoid of every anchor, which cost ~0.15 ms on a cold cache after invoke().
        scores_view = self._scores_out()[0, :, 0]
        logits = scores_view if self._scores_q is None else _dequantize(scores_view, self._scores_q)
        candidates = np.flatnonzero(logits >= self._logit_floor)
        if candidates.size == 0:
            return []
        # float64: exp(100) overflows float32.
        scores = sigmoid(np.clip(logits[candidates].astype(np.float64), -SCORE_CLIPPING, SCORE_CLIPPING))
        del scores_view, logits
        passed = scores >= self.min_score
        keep, scores = candidates[passed], scores[passed]
        if keep.size == 0:
            return []
        raw = _dequantize(self._boxes_out()[0, keep], self._boxes_q)  # copies only the kept rows
        anchors = self.anchors[keep].astype(np.float64)
        ax, ay, aw, ah = anchors[:, 0:1], anchors[:, 1:2], anchors[:, 2:3], anchors[:, 3:4]
        xc = raw[:, 0:1] / size * aw + ax
        yc = raw[:, 1:2] / size * ah + ay
        bw = raw[:, 2:3] / size * aw
        bh = raw[:, 3:4] / size * ah
        boxes = np.hstack([xc - bw / 2, yc - bh / 2, xc + bw / 2, yc + bh / 2])
        kx = raw[:, 4::2] / size * aw + ax
        ky = raw[:, 5::2] / size * ah + ay
        keypoints = np.stack([kx, ky], axis=-1)  # (N, 4, 2)
        # MediaPipe drops boxes with negative or NaN size before NMS.
        valid = np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] >= boxes[:, 0]) & (boxes[:, 3] >= boxes[:, 1])
        boxes, keypoints, kept_scores = boxes[valid], keypoints[valid], scores[valid]
        if not len(boxes):
            return []

        detections = []
        sx, sy = 1.0 - 2.0 * pad_x, 1.0 - 2.0 * pad_y
        for score, box, kps in weighted_nms(kept_scores, boxes, keypoints):
            # Remove the letterbox: normalised to the padded square -> normalised to the frame.
            box = (box - [pad_x, pad_y, pad_x, pad_y]) / [sx, sy, sx, sy]
            kps = (kps - [pad_x, pad_y]) / [sx, sy]
            detections.append(Detection(score, tuple(float(v) for v in box), kps.astype(np.float32)))
        log.debug("detector: %d above %.2f, %d after NMS", keep.size, self.min_score, len(detections))
        return detections
