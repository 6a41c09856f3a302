"""BlazePose landmark model (``pose_landmark_full.tflite``) on a rotated ROI crop.

Post-processing follows ``tensors_to_pose_landmarks_and_segmentation.pbtxt`` and
``pose_landmark_by_roi_cpu.pbtxt``:

- input: the ROI warped to 256×256 RGB, float in [0, 1];
- ``Identity`` (195 = 39×5): x, y, z in crop pixels (divided by 256 → crop-normalised; z likewise),
  visibility and presence as logits → sigmoid. Rows 33 and 34 are auxiliary points (body centre and
  size/rotation point) used only to place the next frame's ROI;
- ``Identity_1``: pose-presence score, already a probability (TensorsToFloats applies no activation);
- ``Identity_3`` (64×64×39 logits): RefineLandmarksFromHeatmapCalculator, kernel 7, min confidence 0.5:
  each point moves to the sigmoid-weighted mean cell of the 7×7 window around it when the window's
  peak is confident. Reproduced exactly, including MediaPipe's quirks (truncation toward zero, the
  row bound checked against the column, cell index without +0.5), because matching MediaPipe is the
  goal; measured effect on the golden clips is in ``tests/test_pose_golden.py``.
- projection: crop-normalised → source pixels through the ROI; z scaled like x (by the ROI width).
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from appliance.errors import ModelError
from appliance.pose.roi import RotatedRect, project_to_image, warp_roi
from appliance.pose.runtime import input_lut, load_interpreter, normalize_into, quantization, tensor_details

log = logging.getLogger(__name__)

N_OUTPUT_LANDMARKS = 39  # 33 body points + 2 auxiliary ROI points + 4 unused
N_BODY = 33
AUX_CENTER, AUX_SCALE = 33, 34
N_USED = AUX_SCALE + 1  # rows 35-38 are never read
HEATMAP_KERNEL = 7
MIN_CONFIDENCE_TO_REFINE = 0.5
# Output tensors by name: the _noseg builds lack Identity_2 (segmentation), so indices shift.
OUTPUT_NAMES = {"landmarks": "Identity", "flag": "Identity_1", "heatmap": "Identity_3"}


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


class _Window(NamedTuple):
    """Per-shape constants of :func:`refine_from_heatmap`, built once (see :func:`_window`)."""

    half: int
    flat: np.ndarray  # (k²,) offset of each window cell in the flattened (H, W, C) heatmap, row-major
    weights: np.ndarray  # (k², 3): 1, Δcol, Δrow per cell: ``conf @ weights`` = total, weighted offsets
    scale: np.ndarray  # (W, H), float64
    strides: np.ndarray  # (2,): flat-index step of one column, one row
    bounds: np.ndarray  # centre cells MediaPipe refines: col < H (its quirk, see below), row < H + half
    # centre cell − half < inner: the whole window is inside the heatmap (and, for a non-square one,
    # col < H as well, so MediaPipe's quirk is left to the general path)
    inner: np.ndarray


@functools.lru_cache(maxsize=8)
def _window(kernel: int, hm_h: int, hm_w: int, n_ch: int) -> _Window:
    """The bounds are unsigned, so comparing cell indices viewed as unsigned also rejects negatives."""
    half = (kernel - 1) // 2
    d_row, d_col = np.divmod(np.arange(kernel * kernel), kernel)
    d_row -= half
    d_col -= half
    return _Window(
        half=half,
        flat=(d_row * hm_w + d_col) * n_ch,
        weights=np.stack([np.ones(kernel * kernel), d_col, d_row], axis=1).astype(np.float64),
        scale=np.array([hm_w, hm_h], dtype=np.float64),
        strides=np.array([n_ch, hm_w * n_ch], dtype=np.intp),
        bounds=np.array([min(hm_w, hm_h), hm_h + half], dtype=np.uintp),
        inner=np.array([min(hm_w, hm_h) - 2 * half, hm_h - 2 * half], dtype=np.uintp),
    )


@functools.lru_cache(maxsize=8)
def _all_windows(kernel: int, hm_h: int, hm_w: int, n_ch: int, n: int) -> np.ndarray:
    """(n, k²) flat offsets of every window cell of points 0..n-1 (channel i) around cell (0, 0)."""
    return np.arange(n)[:, None] + _window(kernel, hm_h, hm_w, n_ch).flat


def refine_from_heatmap(
    xy_norm: np.ndarray, heatmap_logits: np.ndarray, kernel: int = HEATMAP_KERNEL,
    min_confidence: float = MIN_CONFIDENCE_TO_REFINE,
) -> np.ndarray:
    """MediaPipe's RefineLandmarksFromHeatmap on crop-normalised points (N, 2); returns a new array.

    ``heatmap_logits`` is (H, W, C) with channel i for point i (C ≥ N; extra channels are ignored).
    Each point moves to the sigmoid-weighted mean cell of the k×k window around it when the window's
    peak is at least ``min_confidence``.

    Written for as few NumPy calls as possible, because that is what it costs: after the model's
    invoke() the caches are cold and every distinct NumPy call takes ~5-30 µs on the dev VM, while
    the arithmetic on N × 49 cells is negligible. Usual case (every window wholly inside the heatmap,
    ~20 calls): one ``take`` of all windows from the flattened heatmap (a zero-copy view of the
    interpreter's output), a float64 sigmoid, one matrix product for the total and the weighted
    offsets. Otherwise :func:`_refine_general` handles points outside and windows cut by an edge.
    """
    hm_h, hm_w, n_ch = heatmap_logits.shape
    win = _window(kernel, hm_h, hm_w, n_ch)
    # C++ int() cast: truncation toward zero, so −0.9 cells becomes 0 and is still refined.
    cells = (xy_norm * win.scale).astype(np.intp)  # (N, 2): col, row
    if not ((cells - win.half).view(np.uintp) < win.inner).all():
        return _refine_general(xy_norm, heatmap_logits, cells, win, min_confidence)
    flat = (cells @ win.strides)[:, None] + _all_windows(kernel, hm_h, hm_w, n_ch, len(cells))
    # Sigmoid in float64 (as the reference port): exp(-logit) overflows float32 for logit < -88.
    conf = np.exp(-heatmap_logits.reshape(-1).take(flat), dtype=np.float64)  # (N, k²)
    conf += 1.0
    np.reciprocal(conf, out=conf)
    sums = conf @ win.weights  # (N, 3): total, Σ conf·Δcol, Σ conf·Δrow
    refine = conf.max(axis=1) >= min_confidence
    if min_confidence <= 0:
        refine &= sums[:, 0] > 0
    # Weighted mean cell = centre + weighted mean offset; MediaPipe adds no +0.5 to the cell index.
    # The total is > 0 wherever the peak is ≥ min_confidence > 0; `tiny` only keeps other rows
    # (all 49 sigmoids underflowed, never refined) from a division by zero.
    moved = (cells + sums[:, 1:] / np.maximum(sums[:, :1], _TINY)) / win.scale
    return np.where(refine[:, None], moved, xy_norm)


_TINY = np.finfo(np.float64).tiny


def _refine_general(xy_norm: np.ndarray, heatmap_logits: np.ndarray, cells: np.ndarray, win: _Window,
                    min_confidence: float) -> np.ndarray:
    """:func:`refine_from_heatmap` when a point is outside the heatmap or its window is cut by an edge."""
    hm_h, hm_w, n_ch = heatmap_logits.shape
    half = win.half
    out = xy_norm.copy()
    # MediaPipe checks `center_col >= hm_height` where it means the row, so rows just past the bottom
    # are refined over the part of the window still inside; from hm_h + half on the window is empty.
    ok = cells.view(np.uintp) < win.bounds
    idx = np.flatnonzero(ok[:, 0] & ok[:, 1])
    if idx.size == 0:
        return out
    cells = cells[idx]
    offs = np.arange(-half, half + 1)
    rows, cols = cells[:, 1, None] + offs, cells[:, 0, None] + offs  # (M, k), may spill out
    rows_in, cols_in = np.clip(rows, 0, hm_h - 1), np.clip(cols, 0, hm_w - 1)
    flat = ((rows_in * (hm_w * n_ch))[:, :, None] + (cols_in * n_ch + idx[:, None])[:, None, :])
    # Cells outside the heatmap weigh 0: MediaPipe shrinks the kernel at the edges instead.
    mask = ((rows_in == rows)[:, :, None] & (cols_in == cols)[:, None, :]).reshape(idx.size, -1)
    conf = np.exp(-heatmap_logits.reshape(-1).take(flat.reshape(idx.size, -1)), dtype=np.float64)
    conf += 1.0
    np.reciprocal(conf, out=conf)
    conf *= mask
    sums = conf @ win.weights
    sel = np.flatnonzero((conf.max(axis=1) >= min_confidence) & (sums[:, 0] > 0))
    sums = sums[sel]
    out[idx[sel]] = (cells[sel] + sums[:, 1:] / sums[:, :1]) / win.scale
    return out


class LandmarkModel:
    """Runs the landmark model on ROI crops; interpreter, crop and input buffers are built once."""

    def __init__(self, model_path: Path, num_threads: int = 2, refine_with_heatmap: bool = True) -> None:
        self._interpreter = load_interpreter(model_path, num_threads)
        inp = self._interpreter.get_input_details()[0]
        _, h, w, c = (int(v) for v in inp["shape"])
        if h != w or c != 3 or inp["dtype"] not in (np.float32, np.int8):
            raise ModelError(f"{model_path.name}: unexpected landmark input {inp['shape']} {inp['dtype']}")
        self.input_size_px = h
        self._input = self._interpreter.tensor(inp["index"])
        # [0, 255] → [0, 1] (or its int8 quantization) as one table lookup into the input buffer.
        self._lut = input_lut(inp, 1.0 / 255.0, 0.0)
        outs = tensor_details(self._interpreter, OUTPUT_NAMES, model_path)
        hm = h // 4
        needed = {"landmarks": (N_OUTPUT_LANDMARKS * 5,), "flag": (1,), "heatmap": (hm, hm, N_OUTPUT_LANDMARKS)}
        wrong = [f"{outs[r]['name']} {tuple(outs[r]['shape'])}" for r, shape in needed.items()
                 if tuple(int(v) for v in outs[r]["shape"][1:]) != shape]
        if wrong:
            raise ModelError(f"{model_path.name}: unexpected output shapes {', '.join(wrong)}")
        # tensor(i) returns a function giving a zero-copy view; get_tensor would copy the 640 kB
        # heatmap every frame. Views are only taken inside run() and dropped before the next invoke.
        self._landmarks_out = self._interpreter.tensor(outs["landmarks"]["index"])
        self._flag_out = self._interpreter.tensor(outs["flag"]["index"])
        self._heatmap_out = self._interpreter.tensor(outs["heatmap"]["index"])
        # (scale, zero point) of int8 outputs; None for float ones (every shipped landmark build).
        self._quant = {role: quantization(d) for role, d in outs.items()}
        self.refine_with_heatmap = refine_with_heatmap
        # The uint8 crop lives here; exposed read-only for debugging overlays and benchmarks.
        self.crop = np.zeros((h, h, 3), dtype=np.uint8)
        # Cumulative seconds per step of run() and how many runs: the bench divides the pose stage
        # by invoke_s and shows the rest step by step (perf_counter costs ~0.1 µs, negligible here).
        self.invoke_s = self.crop_s = self.normalize_s = self.post_s = 0.0
        self.invokes = 0

    def invoke_on(self, crop: np.ndarray) -> None:
        """Load a uint8 crop (input size, RGB) into the input and invoke only (raw-latency benchmarks)."""
        view = self._input()[0]
        normalize_into(self._lut, crop, view)
        del view
        self._interpreter.invoke()

    def _output(self, role: str, view: np.ndarray) -> np.ndarray:
        """float64 copy of a small output, dequantized if the model's output is int8."""
        q = self._quant[role]
        if q is None:
            return view.astype(np.float64)
        return (view.astype(np.float64) - q[1]) * q[0]

    def run(self, rgb: np.ndarray, rect: RotatedRect) -> LandmarkResult:
        """Crop ``rect`` from ``rgb``, run the model and return landmarks in source pixels."""
        t0 = time.perf_counter()
        warp_roi(rgb, rect, self.crop)
        t1 = time.perf_counter()
        view = self._input()[0]
        normalize_into(self._lut, self.crop, view)
        del view  # no live view into the interpreter's memory during invoke
        t2 = time.perf_counter()
        self._interpreter.invoke()
        t3 = time.perf_counter()
        self.crop_s += t1 - t0
        self.normalize_s += t2 - t1
        self.invoke_s += t3 - t2
        self.invokes += 1

        flag = self._flag_out().reshape(-1)[:1]
        score = float(flag[0] if self._quant["flag"] is None else self._output("flag", flag)[0])
        # Only the rows used (33 body + 2 auxiliary), as a small float64 copy.
        raw = self._output("landmarks", self._landmarks_out().reshape(N_OUTPUT_LANDMARKS, 5)[:N_USED])
        del flag
        size = float(self.input_size_px)
        xy = raw[:, :2] / size
        if self.refine_with_heatmap:
            heatmap = self._heatmap_out()[0]  # zero-copy view; the refinement gathers 35 windows from it
            if self._quant["heatmap"] is not None:  # int8 build: dequantize (copies; no shipped file has it)
                heatmap = self._output("heatmap", heatmap)
            xy = refine_from_heatmap(xy, heatmap)
            del heatmap
        xy_px = project_to_image(xy, rect)

        lms = np.empty((N_BODY, 5), dtype=np.float32)
        lms[:, 0:2] = xy_px[:N_BODY]
        lms[:, 2] = raw[:N_BODY, 2] / size * rect.width_px
        lms[:, 3:5] = _sigmoid(raw[:N_BODY, 3:5])
        result = LandmarkResult(score, lms, xy_px[AUX_CENTER:AUX_SCALE + 1])
        self.post_s += time.perf_counter() - t3
        return result
