"""SSD anchors for BlazePose's detector, generated the way MediaPipe's SsdAnchorsCalculator does.

Options are those of ``mediapipe/modules/pose_detection/pose_detection_cpu.pbtxt``: 5 layers with
strides 8/16/32/32/32 on a 224×224 input, scales 0.1484375..0.75, offset 0.5, one aspect ratio (1.0)
plus the interpolated-scale anchor (proto default ``interpolated_scale_aspect_ratio: 1.0``), and
``fixed_anchor_size`` so every anchor is 1×1 and only its centre matters. Layers that share a stride
share one feature map, which is why the three stride-32 layers give 6 anchors per cell:
28²·2 + 14²·2 + 7²·6 = 2254.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnchorOptions:
    """SsdAnchorsCalculatorOptions, restricted to what the pose detector uses."""

    input_size: int = 224
    num_layers: int = 5
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    anchor_offset: float = 0.5
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = True


POSE_DETECTOR_ANCHORS = AnchorOptions()


def _scale(min_scale: float, max_scale: float, index: int, count: int) -> float:
    if count == 1:
        return (min_scale + max_scale) / 2
    return min_scale + (max_scale - min_scale) * index / (count - 1)


def generate_anchors(opts: AnchorOptions = POSE_DETECTOR_ANCHORS) -> np.ndarray:
    """Anchors as float32 (N, 4): x_center, y_center, width, height, normalised to the input.

    Order matches the model's output rows: layer group by layer group, then row, column, anchor.
    """
    rows: list[tuple[float, float, float, float]] = []
    layer = 0
    while layer < opts.num_layers:
        widths: list[float] = []
        heights: list[float] = []
        last = layer
        # Consecutive layers with the same stride are merged onto one feature map.
        while last < opts.num_layers and opts.strides[last] == opts.strides[layer]:
            scale = _scale(opts.min_scale, opts.max_scale, last, opts.num_layers)
            for ratio in opts.aspect_ratios:
                widths.append(scale * math.sqrt(ratio))
                heights.append(scale / math.sqrt(ratio))
            if opts.interpolated_scale_aspect_ratio > 0:
                nxt = 1.0 if last == opts.num_layers - 1 else _scale(
                    opts.min_scale, opts.max_scale, last + 1, opts.num_layers)
                s = math.sqrt(scale * nxt)
                r = opts.interpolated_scale_aspect_ratio
                widths.append(s * math.sqrt(r))
                heights.append(s / math.sqrt(r))
            last += 1
        stride = opts.strides[layer]
        fmap = math.ceil(opts.input_size / stride)
        for y in range(fmap):
            for x in range(fmap):
                for w, h in zip(widths, heights, strict=True):
                    xc = (x + opts.anchor_offset) / fmap
                    yc = (y + opts.anchor_offset) / fmap
                    if opts.fixed_anchor_size:
                        rows.append((xc, yc, 1.0, 1.0))
                    else:
                        rows.append((xc, yc, w, h))
        layer = last
    anchors = np.asarray(rows, dtype=np.float32)
    log.debug("generated %d anchors", len(anchors))
    return anchors
