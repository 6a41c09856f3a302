"""Rotated region of interest for the landmark model: from two alignment points, warp, project back.

MediaPipe derives the crop the same way from a detection (``pose_detection_to_roi.pbtxt``: keypoint
0 = hip centre, keypoint 1 = size/rotation point) and from the previous frame's auxiliary landmarks
33/34 (``pose_landmarks_to_roi.pbtxt``):

- AlignmentPointsRectsCalculator: centre = point 0; side = 2·|p1 − p0| (pixels);
  rotation = 90° − atan2(−(y1 − y0), x1 − x0), wrapped to [−π, π) — so the body axis points up.
- RectTransformationCalculator: ``square_long`` then scale 1.25 × 1.25 (no shift).

The crop itself is ImageToTensorCalculator's: the rect's corners map to the crop's corners (edges,
not pixel centres), bilinear, border replicated (the landmark graph leaves ``border_mode`` unset and
MediaPipe maps that to BORDER_REPLICATE; only the detector asks for BORDER_ZERO).
All geometry here is in source-image pixels: the crop is square in pixels, so this is the same as
MediaPipe's normalised rect multiplied by the image size.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

ROI_SCALE = 1.25
TARGET_ANGLE_RAD = math.pi / 2


@dataclass(frozen=True)
class RotatedRect:
    """A rotated rectangle in source pixels; ``rotation_rad`` turns the crop's x axis clockwise
    on screen (y down), as in MediaPipe's NormalizedRect."""

    x_center_px: float
    y_center_px: float
    width_px: float
    height_px: float
    rotation_rad: float


def normalize_radians(angle: float) -> float:
    """Wrap to [−π, π) like MediaPipe's NormalizeRadians."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def rect_from_alignment_points(
    center_px: tuple[float, float], scale_px: tuple[float, float], scale: float = ROI_SCALE
) -> RotatedRect:
    """ROI from a centre point and a size/rotation point (both in pixels)."""
    x0, y0 = center_px
    x1, y1 = scale_px
    side = math.hypot(x1 - x0, y1 - y0) * 2.0
    # Y is flipped because image y points down; 90° target makes the hip→scale vector "up".
    rotation = normalize_radians(TARGET_ANGLE_RAD - math.atan2(-(y1 - y0), x1 - x0))
    # square_long on an already square rect is a no-op; then the 1.25 training margin.
    return RotatedRect(x0, y0, side * scale, side * scale, rotation)


def crop_to_image_matrix(rect: RotatedRect, size_px: int) -> np.ndarray:
    """2×3 affine matrix from crop pixel coordinates (0..size) to source pixel coordinates."""
    c, s = math.cos(rect.rotation_rad), math.sin(rect.rotation_rad)
    ax, ay = rect.width_px / size_px, rect.height_px / size_px
    half = size_px / 2
    # Built from Python floats in one array call: a handful of NumPy calls would cost more here.
    return np.array([[c * ax, -s * ay, rect.x_center_px - (c * ax * half - s * ay * half)],
                     [s * ax, c * ay, rect.y_center_px - (s * ax * half + c * ay * half)]], dtype=np.float64)


def warp_roi(rgb: np.ndarray, rect: RotatedRect, out: np.ndarray) -> np.ndarray:
    """Sample ``rect`` of ``rgb`` into the preallocated square uint8 buffer ``out`` and return it."""
    size = out.shape[0]
    matrix = crop_to_image_matrix(rect, size)
    # WARP_INVERSE_MAP: the matrix maps destination to source, which is what we have (no inversion).
    cv2.warpAffine(rgb, matrix, (size, out.shape[1]), dst=out,
                   flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    return out


def project_to_image(xy_norm: np.ndarray, rect: RotatedRect) -> np.ndarray:
    """Crop-normalised points (N, 2), 0..1 across the crop, to source pixels (N, 2).

    ``centre + R(rotation) · ((x, y) − 0.5) · (width, height)``, as one product with a 3×2 matrix
    (row 3 is where the crop's origin lands): two NumPy calls instead of a dozen.
    """
    c, s = math.cos(rect.rotation_rad), math.sin(rect.rotation_rad)
    w, h = rect.width_px, rect.height_px
    m = np.array([[c * w, s * w], [-s * h, c * h],
                  [rect.x_center_px - 0.5 * (c * w - s * h), rect.y_center_px - 0.5 * (s * w + c * h)]])
    return xy_norm @ m[:2] + m[2]


def image_to_crop(xy_px: np.ndarray, rect: RotatedRect) -> np.ndarray:
    """Inverse of :func:`project_to_image`: source pixels (N, 2) to crop-normalised (N, 2)."""
    c, s = math.cos(rect.rotation_rad), math.sin(rect.rotation_rad)
    dx = xy_px[:, 0] - rect.x_center_px
    dy = xy_px[:, 1] - rect.y_center_px
    u = c * dx + s * dy
    v = -s * dx + c * dy
    return np.stack([u / rect.width_px + 0.5, v / rect.height_px + 0.5], axis=1)
