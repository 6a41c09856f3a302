"""BlazePose landmark model (``pose_landmark_full.tflite``) on a rotated ROI crop.

Post-processing follows ``tensors_to_pose_landmarks_and_segmentation.pbtxt`` and
``pose_landmark_by_roi_cpu.pbtxt``:

- input: the ROI warped to 256×256 RGB, float in [0, 1];
- output 0 (195 = 39×5): x, y, z in crop pixels (divided by 256 → crop-normalised; z likewise),
  visibility and presence as logits → sigmoid. Rows 33 and 34 are auxiliary points (body centre and
  size/rotation point) used only to place the next frame's ROI;
- output 1: pose-presence score, already a probability (TensorsToFloats applies no activation);
- output 3 (64×64×39 logits): RefineLandmarksFromHeatmapCalculator, kernel 7, min confidence 0.5:
  each point moves to the sigmoid-weighted mean cell of the 7×7 window around it when the window's
  peak is confident. Reproduced exactly, including MediaPipe's quirks (truncation toward zero, the
  row bound checked against the column, cell index without +0.5), because matching MediaPipe is the
  goal; measured effect on the golden clips is in ``tests/test_pose_golden.py``.
- projection: crop-normalised → source pixels through the ROI; z scaled like x (by the ROI width).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.errors import ModelError
from appliance.pose.roi import RotatedRect, project_to_image, warp_roi
from appliance.pose.runtime import load_interpreter

log = logging.getLogger(__name__)

N_OUTPUT_LANDMARKS = 39  # 33 body points + 2 auxiliary ROI points + 4 unused
N_BODY = 33
AUX_CENTER, AUX_SCALE = 33, 34
HEATMAP_KERNEL = 7
MIN_CONFIDENCE_TO_REFINE = 0.5


@dataclass(frozen=True, eq=False)
class LandmarkResult:
    """Landmark model output for one crop.

    ``landmarks_px`` is float32 (33, 5): x_px, y_px, z_px, visibility, presence in the source frame;
    ``aux_px`` is float64 (2, 2): the auxiliary centre and size/rotation points in source pixels.
    ``score`` is the pose-presence probability.
    """

    score: float
    landmarks_px: np.ndarray
    aux_px: np.ndarray


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def refine_from_heatmap(
    xy_norm: np.ndarray, heatmap_logits: np.ndarray, kernel: int = HEATMAP_KERNEL,
    min_confidence: float = MIN_CONFIDENCE_TO_REFINE,
) -> np.ndarray:
    """MediaPipe's RefineLandmarksFromHeatmap on crop-normalised points (N, 2); returns a new array.

    ``heatmap_logits`` is (H, W, N) with one channel per point. Vectorised over points (one gather
    of N 7×7 windows) because a Python loop over 39 points costs ~1 ms, a lot next to the model on
    a Pi.
    """
    hm_h, hm_w = heatmap_logits.shape[:2]
    half = (kernel - 1) // 2
    out = xy_norm.copy()
    # C++ int() cast: truncation toward zero, so −0.9 cells becomes 0 and is still refined.
    col = np.trunc(xy_norm[:, 0] * hm_w).astype(np.int64)
    row = np.trunc(xy_norm[:, 1] * hm_h).astype(np.int64)
    # MediaPipe checks `center_col >= hm_height` where it means the row, so rows just past the bottom
    # are refined over the part of the window still inside; from hm_h + half on the window is empty.
    ok = (col >= 0) & (col < hm_w) & (row >= 0) & (col < hm_h) & (row < hm_h + half)
    idx = np.nonzero(ok)[0]
    if idx.size == 0:
        return out
    offs = np.arange(kernel) - half
    rows = row[idx][:, None] + offs  # (M, k) window rows in heatmap coordinates, may spill out
    cols = col[idx][:, None] + offs
    inside = ((rows >= 0) & (rows < hm_h))[:, :, None] & ((cols >= 0) & (cols < hm_w))[:, None, :]
    win = heatmap_logits[np.clip(rows, 0, hm_h - 1)[:, :, None], np.clip(cols, 0, hm_w - 1)[:, None, :],
                         idx[:, None, None]].astype(np.float64)  # (M, k, k), gathered, not copied whole
    # Cells outside the heatmap weigh 0: MediaPipe shrinks the kernel at the edges instead.
    conf = np.where(inside, 1.0 / (1.0 + np.exp(-win)), 0.0)
    total = conf.sum(axis=(1, 2))
    peak = conf.max(axis=(1, 2))
    wcol = (conf * cols[:, None, :]).sum(axis=(1, 2))
    wrow = (conf * rows[:, :, None]).sum(axis=(1, 2))
    refine = (peak >= min_confidence) & (total > 0)
    sel = idx[refine]
    out[sel, 0] = wcol[refine] / hm_w / total[refine]
    out[sel, 1] = wrow[refine] / hm_h / total[refine]
    return out


class LandmarkModel:
    """Runs the landmark model on ROI crops; interpreter, crop and input buffers are built once."""

    def __init__(self, model_path: Path, num_threads: int = 2, refine_with_heatmap: bool = True) -> None:
        self._interpreter = load_interpreter(model_path, num_threads)
        inp = self._interpreter.get_input_details()[0]
        _, h, w, c = (int(v) for v in inp["shape"])
        if h != w or c != 3 or inp["dtype"] != np.float32:
            raise ModelError(f"{model_path.name}: unexpected landmark input {inp['shape']} {inp['dtype']}")
        self.input_size_px = h
        self._input = self._interpreter.tensor(inp["index"])
        by_shape = {tuple(int(v) for v in d["shape"][1:]): d["index"] for d in self._interpreter.get_output_details()}
        hm = h // 4
        needed = {"landmarks": (N_OUTPUT_LANDMARKS * 5,), "flag": (1,), "heatmap": (hm, hm, N_OUTPUT_LANDMARKS)}
        missing = [name for name, shape in needed.items() if shape not in by_shape]
        if missing:
            raise ModelError(f"{model_path.name}: outputs {sorted(by_shape)} lack {', '.join(missing)}")
        # tensor(i) returns a function giving a zero-copy view; get_tensor would copy the 640 kB
        # heatmap every frame. Views are only taken inside run() and dropped before the next invoke.
        self._landmarks_out = self._interpreter.tensor(by_shape[needed["landmarks"]])
        self._flag_out = self._interpreter.tensor(by_shape[needed["flag"]])
        self._heatmap_out = self._interpreter.tensor(by_shape[needed["heatmap"]])
        self.refine_with_heatmap = refine_with_heatmap
        # The uint8 crop lives here; exposed read-only for debugging overlays and benchmarks.
        self.crop = np.zeros((h, h, 3), dtype=np.uint8)

    def run(self, rgb: np.ndarray, rect: RotatedRect) -> LandmarkResult:
        """Crop ``rect`` from ``rgb``, run the model and return landmarks in source pixels."""
        warp_roi(rgb, rect, self.crop)
        view = self._input()[0]
        np.multiply(self.crop, 1.0 / 255.0, out=view, casting="unsafe")
        del view  # no live view into the interpreter's memory during invoke
        self._interpreter.invoke()

        score = float(self._flag_out().reshape(-1)[0])
        raw = self._landmarks_out().reshape(N_OUTPUT_LANDMARKS, 5).astype(np.float64)  # small copy
        size = float(self.input_size_px)
        xy = raw[:, :2] / size
        if self.refine_with_heatmap:
            xy = refine_from_heatmap(xy, self._heatmap_out()[0])  # gathers 39 windows from the view
        xy_px = project_to_image(xy, rect)

        lms = np.empty((N_BODY, 5), dtype=np.float32)
        lms[:, 0:2] = xy_px[:N_BODY]
        lms[:, 2] = raw[:N_BODY, 2] / size * rect.width_px
        lms[:, 3] = _sigmoid(raw[:N_BODY, 3])
        lms[:, 4] = _sigmoid(raw[:N_BODY, 4])
        return LandmarkResult(score, lms, xy_px[[AUX_CENTER, AUX_SCALE]])
