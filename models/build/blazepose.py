"""Minimal BlazePose pre/post-processing for building and gating model variants.

This mirrors what MediaPipe 0.10.14's pose graphs do (SSD anchors and box decoding of
``pose_detection.tflite``, weighted NMS, detection → rotated square ROI via the hip-centre and
scale keypoints, warp to a 256×256 landmark crop, landmarks → next ROI) closely enough to make
realistic calibration and hold-out inputs. It is deliberately separate from ``appliance/pose``
(owned by the runtime) so the build does not change when the engine is tuned, and it needs only
numpy and OpenCV so it runs in the project venv.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

DET_SIZE = 224
LMK_SIZE = 256
NUM_LANDMARKS = 33


@dataclass(frozen=True)
class Letterbox:
    """Where the frame sits inside the 224×224 detector input (keep aspect, zero padding)."""

    scale: float
    pad_x: float
    pad_y: float


@dataclass(frozen=True)
class Detection:
    """One pose detection in frame pixels: box (x0, y0, x1, y1), 4 keypoints (x, y), score."""

    box: np.ndarray
    keypoints: np.ndarray
    score: float


@dataclass(frozen=True)
class Roi:
    """A rotated square in frame pixels: centre, side length, rotation (radians, clockwise)."""

    cx: float
    cy: float
    size: float
    rotation: float


def ssd_anchors() -> np.ndarray:
    """Anchor centres (2254, 2) of MediaPipe's pose detector (SsdAnchorsCalculator options).

    num_layers=5, strides 8/16/32/32/32, aspect ratio 1 plus the interpolated one, fixed anchor
    size: layers sharing a stride are merged, giving 28²·2 + 14²·2 + 7²·6 = 2254 anchors.
    """
    strides = [8, 16, 32, 32, 32]
    anchors: list[tuple[float, float]] = []
    layer = 0
    while layer < len(strides):
        per_cell = 0
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            per_cell += 2  # aspect ratio 1.0 + interpolated scale
            last += 1
        fm = math.ceil(DET_SIZE / strides[layer])
        for y in range(fm):
            for x in range(fm):
                anchors.extend([((x + 0.5) / fm, (y + 0.5) / fm)] * per_cell)
        layer = last
    return np.asarray(anchors, dtype=np.float32)


_ANCHORS = ssd_anchors()


def detector_input(frame_rgb: np.ndarray) -> tuple[np.ndarray, Letterbox]:
    """Letterbox an RGB uint8 frame to 224×224 (uint8). Normalise with :func:`det_normalize`."""
    h, w = frame_rgb.shape[:2]
    scale = DET_SIZE / max(h, w)
    nw, nh = round(w * scale), round(h * scale)
    px, py = (DET_SIZE - nw) // 2, (DET_SIZE - nh) // 2
    out = np.zeros((DET_SIZE, DET_SIZE, 3), dtype=np.uint8)
    out[py : py + nh, px : px + nw] = cv2.resize(frame_rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    return out, Letterbox(scale, float(px), float(py))


def det_normalize(img_u8: np.ndarray) -> np.ndarray:
    """uint8 HWC → float32 NHWC in [-1, 1], the detector's input range."""
    return (img_u8.astype(np.float32) / 127.5 - 1.0)[None]


def lmk_normalize(crop_u8: np.ndarray) -> np.ndarray:
    """uint8 HWC → float32 NHWC in [0, 1], the landmark model's input range."""
    return (crop_u8.astype(np.float32) / 255.0)[None]


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(_iou(a, b[None])[0])


def decode_detections(
    raw_boxes: np.ndarray, raw_scores: np.ndarray, lb: Letterbox, min_score: float = 0.5, iou_thresh: float = 0.3
) -> list[Detection]:
    """Decode raw detector outputs to frame-pixel detections (weighted NMS, best first)."""
    raw = raw_boxes.reshape(-1, 12)
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1).astype(np.float64), -100.0, 100.0)))
    keep = scores >= min_score
    if not keep.any():
        return []
    raw, scores, anc = raw[keep], scores[keep], _ANCHORS[keep]
    xy = raw[:, 0:2] / DET_SIZE + anc
    wh = raw[:, 2:4] / DET_SIZE
    kps = raw[:, 4:12].reshape(-1, 4, 2) / DET_SIZE + anc[:, None, :]
    # Letterbox-normalised → frame pixels.
    to_px = np.array([DET_SIZE, DET_SIZE], dtype=np.float32)
    off = np.array([lb.pad_x, lb.pad_y], dtype=np.float32)
    c = (xy * to_px - off) / lb.scale
    half = wh * to_px / lb.scale / 2
    boxes = np.concatenate([c - half, c + half], axis=1)
    kps = (kps * to_px - off) / lb.scale
    order = np.argsort(-scores)
    boxes, kps, scores = boxes[order], kps[order], scores[order]
    out: list[Detection] = []
    remaining = np.ones(len(scores), dtype=bool)
    # MediaPipe's WEIGHTED NMS: each cluster is replaced by the score-weighted mean of its members.
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        members = remaining & (_iou(boxes[i], boxes) > iou_thresh)
        members[i] = True
        wts = scores[members][:, None]
        box = (boxes[members] * wts).sum(0) / wts.sum()
        kp = (kps[members] * wts[:, :, None]).sum(0) / wts.sum()
        out.append(Detection(box=box, keypoints=kp, score=float(scores[i])))
        remaining &= ~members
    return out


def _aligned_roi(p0: np.ndarray, p1: np.ndarray) -> Roi:
    """AlignmentPointsRectsCalculator (target angle 90°) + RectTransformation (×1.25, square)."""
    dx, dy = float(p1[0] - p0[0]), float(p1[1] - p0[1])
    size = 2.0 * math.hypot(dx, dy) * 1.25
    rot = math.pi / 2 - math.atan2(-dy, dx)
    rot = rot - 2 * math.pi * math.floor((rot + math.pi) / (2 * math.pi))
    return Roi(float(p0[0]), float(p0[1]), size, rot)


def roi_from_detection(det: Detection) -> Roi:
    # Keypoint 0 is the hip centre, keypoint 1 a point whose distance sets the body scale.
    return _aligned_roi(det.keypoints[0], det.keypoints[1])


def roi_affine(roi: Roi, out_size: int = LMK_SIZE) -> np.ndarray:
    """2×3 matrix mapping crop pixels → frame pixels."""
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    k = roi.size / out_size
    # src = centre + R · (dst − out/2)·k
    m = np.array([[c * k, -s * k, 0.0], [s * k, c * k, 0.0]], dtype=np.float64)
    m[:, 2] = np.array([roi.cx, roi.cy]) - m[:, :2] @ np.array([out_size / 2, out_size / 2])
    return m


def warp_crop(frame_rgb: np.ndarray, roi: Roi, out_size: int = LMK_SIZE) -> np.ndarray:
    """The 256×256 rotated landmark crop (uint8, zero border) for ``roi``."""
    m = roi_affine(roi, out_size)
    return cv2.warpAffine(
        frame_rgb, m, (out_size, out_size), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
    )


def landmarks_xy(raw_landmarks: np.ndarray) -> np.ndarray:
    """(39, 2) landmark x, y in crop pixels (0..256) from the model's 195-value output."""
    return raw_landmarks.reshape(39, 5)[:, :2]


def roi_from_landmarks(lmk_xy_crop: np.ndarray, roi: Roi) -> Roi:
    """Tracking ROI for the next frame from landmarks 33 (hip centre) and 34 (scale point)."""
    m = roi_affine(roi)
    pts = lmk_xy_crop[33:35] @ m[:, :2].T + m[:, 2]
    return _aligned_roi(pts[0], pts[1])
