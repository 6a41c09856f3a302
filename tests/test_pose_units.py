"""Pure parts of the pose engine: anchors, ROI geometry, NMS, heatmap refinement, smoothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from appliance.pose.anchors import generate_anchors
from appliance.pose.detector import iou, letterbox_matrix, logit_floor, sigmoid, weighted_nms
from appliance.pose.landmarks import refine_from_heatmap
from appliance.pose.roi import (
    RotatedRect,
    crop_to_image_matrix,
    image_to_crop,
    normalize_radians,
    project_to_image,
    rect_from_alignment_points,
    warp_roi,
)
from appliance.pose.roi_smoothing import AuxLandmarkSmoother, OneEuroFilter


def test_anchor_count_and_first_anchors() -> None:
    anchors = generate_anchors()
    # 28²·2 (stride 8) + 14²·2 (stride 16) + 7²·6 (three stride-32 layers share one map).
    assert anchors.shape == (2254, 4)
    np.testing.assert_allclose(anchors[0], [0.5 / 28, 0.5 / 28, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(anchors[1], anchors[0])  # second (interpolated-scale) anchor, same centre
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(anchors[1960:1966, :2], np.tile([0.5 / 7, 0.5 / 7], (6, 1)), rtol=1e-6)
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7, 1, 1], rtol=1e-6)


def test_letterbox_matrix_maps_frame_into_centred_square() -> None:
    matrix, (pad_x, pad_y) = letterbox_matrix(200, 100, 224)
    corners = np.array([[0, 0, 1], [200, 100, 1]], dtype=float) @ matrix.T
    np.testing.assert_allclose(corners, [[0, 56], [224, 168]])
    assert pad_x == 0 and pad_y == pytest.approx(0.25)


def test_rect_from_alignment_points_upright_body() -> None:
    # Scale point straight above the hip centre: no rotation, side = 2·distance·1.25.
    rect = rect_from_alignment_points((100.0, 200.0), (100.0, 120.0))
    assert rect.rotation_rad == pytest.approx(0.0)
    assert rect.width_px == pytest.approx(200.0) and rect.height_px == pytest.approx(200.0)
    assert (rect.x_center_px, rect.y_center_px) == (100.0, 200.0)


def test_rect_from_alignment_points_rotations() -> None:
    # rotation = 90° − atan2(−dy, dx): a scale point to the right turns the crop's "up" to +x.
    right = rect_from_alignment_points((0.0, 0.0), (10.0, 0.0))
    assert right.rotation_rad == pytest.approx(math.pi / 2)
    left = rect_from_alignment_points((0.0, 0.0), (-10.0, 0.0))
    assert left.rotation_rad == pytest.approx(-math.pi / 2)
    down = rect_from_alignment_points((0.0, 0.0), (0.0, 10.0))
    assert down.rotation_rad == pytest.approx(-math.pi)  # wrapped into [−π, π)


def test_normalize_radians_range() -> None:
    for a in np.linspace(-10, 10, 41):
        n = normalize_radians(float(a))
        assert -math.pi <= n < math.pi
        assert math.isclose(math.cos(n), math.cos(a), abs_tol=1e-9)


@pytest.mark.parametrize("rotation", [0.0, 0.3, -1.2, math.pi / 2, 3.0])
def test_projection_round_trip(rotation: float) -> None:
    rect = RotatedRect(321.0, 123.0, 250.0, 250.0, rotation)
    rng = np.random.default_rng(0)
    pts = rng.uniform(-0.2, 1.2, size=(50, 2))
    back = image_to_crop(project_to_image(pts, rect), rect)
    np.testing.assert_allclose(back, pts, atol=1e-9)
    # The warp matrix agrees with the landmark projection (crop pixels = normalised × size).
    m = crop_to_image_matrix(rect, 256)
    via_matrix = np.hstack([pts * 256, np.ones((50, 1))]) @ m.T
    np.testing.assert_allclose(via_matrix, project_to_image(pts, rect), atol=1e-9)
    # The crop's top-centre point sits "above" the centre along the rotated axis.
    top = project_to_image(np.array([[0.5, 0.0]]), rect)[0]
    assert top[0] == pytest.approx(321.0 + 125.0 * math.sin(rotation))
    assert top[1] == pytest.approx(123.0 - 125.0 * math.cos(rotation))


def test_warp_puts_image_point_where_projection_says() -> None:
    img = np.zeros((400, 600, 3), dtype=np.uint8)
    img[148:153, 398:403] = 255  # a bright 5×5 dot centred on (400, 150)
    rect = RotatedRect(350.0, 200.0, 256.0, 256.0, 0.7)
    crop = warp_roi(img, rect, np.zeros((256, 256, 3), dtype=np.uint8))
    expected = image_to_crop(np.array([[400.5, 150.5]]), rect)[0] * 256  # pixel centre, edge-aligned map
    ys, xs = np.nonzero(crop[:, :, 0] > 100)
    assert abs(xs.mean() + 0.5 - expected[0]) < 1.0 and abs(ys.mean() + 0.5 - expected[1]) < 1.0


def test_iou() -> None:
    a = np.array([0.0, 0.0, 2.0, 2.0])
    b = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0], [5.0, 5.0, 6.0, 6.0]])
    np.testing.assert_allclose(iou(a, b), [1.0, 1 / 3, 0.0])


def test_weighted_nms_merges_overlaps_and_keeps_separate_people() -> None:
    boxes = np.array([[0.10, 0.10, 0.30, 0.30], [0.12, 0.10, 0.32, 0.30], [0.60, 0.60, 0.80, 0.80]])
    scores = np.array([0.9, 0.6, 0.7])
    kps = np.array([[[0.2, 0.2]], [[0.3, 0.2]], [[0.7, 0.7]]])
    out = weighted_nms(scores, boxes, kps, iou_threshold=0.3)
    assert [round(s, 3) for s, _, _ in out] == [0.9, 0.7]  # merged detection keeps the top score
    np.testing.assert_allclose(out[0][1], (0.9 * boxes[0] + 0.6 * boxes[1]) / 1.5)
    np.testing.assert_allclose(out[0][2], [[(0.9 * 0.2 + 0.6 * 0.3) / 1.5, 0.2]])
    np.testing.assert_allclose(out[1][1], boxes[2])


def test_refine_from_heatmap_moves_to_confident_peak_and_ignores_weak() -> None:
    logits = np.full((64, 64, 2), -10.0, dtype=np.float32)
    logits[20, 30, 0] = 5.0  # confident single-cell peak near landmark 0
    logits[40, 10, 1] = -0.5  # peak below 0.5 after sigmoid: landmark 1 stays put
    xy = np.array([[31.4 / 64, 21.2 / 64], [10.2 / 64, 40.7 / 64]])
    out = refine_from_heatmap(xy, logits)
    assert out[0, 0] == pytest.approx(30 / 64, abs=2e-3) and out[0, 1] == pytest.approx(20 / 64, abs=2e-3)
    np.testing.assert_array_equal(out[1], xy[1])


def test_one_euro_first_value_passthrough_and_smoothing() -> None:
    f = OneEuroFilter()
    first = f.apply(0.0, np.array([10.0]), 1.0)
    assert first[0] == 10.0
    second = f.apply(1 / 30, np.array([20.0]), 1.0)
    assert 10.0 < second[0] < 20.0
    # A non-increasing time returns the input unchanged, as MediaPipe does.
    assert f.apply(1 / 30, np.array([99.0]), 1.0)[0] == 99.0


def test_aux_smoother_reset_forgets_history() -> None:
    s = AuxLandmarkSmoother()
    a = np.array([[100.0, 200.0], [100.0, 100.0]])
    s.apply(0.0, a)
    moved = s.apply(1 / 30, a + 50)
    assert not np.allclose(moved, a + 50)
    s.reset()
    np.testing.assert_array_equal(s.apply(2 / 30, a + 50), a + 50)


def _refine_reference(xy: np.ndarray, logits: np.ndarray, kernel: int = 7, min_conf: float = 0.5) -> np.ndarray:
    """Line-by-line port of MediaPipe's RefineLandmarksFromHeatMap loop (quirks included)."""
    hm_h, hm_w, n = logits.shape
    out = xy.copy()
    off = (kernel - 1) // 2
    for i in range(n):
        c, r = int(xy[i, 0] * hm_w), int(xy[i, 1] * hm_h)
        if c < 0 or c >= hm_w or r < 0 or c >= hm_h:
            continue
        total = wc = wr = peak = 0.0
        for rr in range(max(0, r - off), min(hm_h, r + off + 1)):
            for cc in range(max(0, c - off), min(hm_w, c + off + 1)):
                conf = 1.0 / (1.0 + math.exp(-float(logits[rr, cc, i])))
                total += conf
                peak = max(peak, conf)
                wc += cc * conf
                wr += rr * conf
        if peak >= min_conf and total > 0:
            out[i] = wc / hm_w / total, wr / hm_h / total
    return out


def test_refine_matches_line_by_line_port_including_edges() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(0.0, 2.0, size=(64, 64, 60)).astype(np.float32)
    # Inside, on every edge, just outside (truncation quirk), past the bottom (row quirk), far out.
    xy = np.concatenate([rng.uniform(0, 1, size=(30, 2)), rng.uniform(-0.1, 1.12, size=(30, 2))])
    xy[0] = [0.0, 0.0]
    xy[1] = [63.9 / 64, 63.9 / 64]
    xy[2] = [-0.01, 0.5]
    xy[3] = [0.5, 65.5 / 64]
    xy[4] = [0.5, 67.2 / 64]
    np.testing.assert_allclose(refine_from_heatmap(xy, logits), _refine_reference(xy, logits), atol=1e-12)


def test_refine_fast_path_matches_line_by_line_port() -> None:
    # Every window wholly inside the heatmap: the vectorised fast path (one take, one product).
    rng = np.random.default_rng(2)
    for mean in (-4.0, -1.0, 0.5):
        logits = rng.normal(mean, 3.0, size=(64, 64, 39)).astype(np.float32)
        xy = rng.uniform(3.5 / 64, 60.5 / 64, size=(39, 2))
        np.testing.assert_allclose(refine_from_heatmap(xy, logits), _refine_reference(xy, logits), atol=1e-12)
    # Fewer points than channels (the engine passes the 35 it uses): the extra channels are ignored.
    np.testing.assert_allclose(refine_from_heatmap(xy[:35], logits), _refine_reference(xy, logits)[:35], atol=1e-12)
    # Non-square heatmaps: MediaPipe's row/column quirk must still hold on the fast path.
    for shape in ((48, 64, 39), (64, 48, 39)):
        logits = rng.normal(-1.0, 3.0, size=shape).astype(np.float32)
        xy = rng.uniform(3.5 / 48, 44.5 / 48, size=(39, 2))
        np.testing.assert_allclose(refine_from_heatmap(xy, logits), _refine_reference(xy, logits), atol=1e-12)


@pytest.mark.parametrize("min_score", [0.0, 1e-9, 0.3, 0.5, 0.9, 1 - 1e-12, 1.0])
def test_detector_logit_floor_never_drops_a_passing_score(min_score: float) -> None:
    # float32 logits around the threshold and the sigmoid's saturation: every one whose score passes
    # (as computed before the pre-filter existed) is at or above the floor, compared in float32.
    exact = math.log(min_score / (1 - min_score)) if 0 < min_score < 1 else 0.0
    x = np.concatenate([np.linspace(exact - 0.01, exact + 0.01, 20001), np.linspace(-110, 110, 20001)])
    x = x.astype(np.float32)
    passes = sigmoid(np.clip(x.astype(np.float64), -100.0, 100.0)) >= min_score
    assert np.all(x[passes] >= logit_floor(min_score))
