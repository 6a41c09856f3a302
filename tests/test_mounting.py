"""Camera mounting geometry: hand-computed cases, monotonic behaviour and the ``leancam mounting`` table."""

from __future__ import annotations

import math

import pytest

from appliance.cli import main
from appliance.ops import mounting
from appliance.ops.mounting import (
    LENSES,
    SENSOR_MODES,
    RunnerRange,
    distance_for_px_m,
    distance_to_fit_m,
    field_of_view_deg,
    pitch_lean_error_deg,
    plan_mounting,
    runner_height_px,
    stride_length_m,
    track_scene,
    treadmill_scene,
    view_span_m,
)

CM3 = next(lens for lens in LENSES if lens.key == "cm3")
WIDE = next(lens for lens in LENSES if lens.key == "cm3-wide")
HQ = next(lens for lens in LENSES if lens.key == "hq-6mm")
IMX708_FULL = next(m for m in SENSOR_MODES if (m.sensor, m.width_px) == ("imx708", 2304))
IMX708_120 = next(m for m in SENSOR_MODES if (m.sensor, m.width_px) == ("imx708", 1536))
IMX477_1080 = next(m for m in SENSOR_MODES if (m.sensor, m.width_px) == ("imx477", 2028))
WIDESCREEN = 16 / 9


def test_distance_is_half_span_over_tan_half_fov():
    # 2.4 m (a 2.0 m runner + 0.2 m above and below) across Camera Module 3's 41° vertical FoV
    assert distance_to_fit_m(2.4, 41.0) == pytest.approx(1.2 / math.tan(math.radians(20.5)))
    assert distance_to_fit_m(2.4, 41.0) == pytest.approx(3.2095, abs=1e-4)  # tan 20.5° = 0.37388
    # 90° FoV: the span seen equals twice the distance
    assert distance_to_fit_m(3.0, 90.0) == pytest.approx(1.5)
    assert view_span_m(1.5, 90.0) == pytest.approx(3.0)


def test_fit_and_view_span_are_inverse():
    for fov in (20.0, 41.0, 66.0, 102.0):
        assert view_span_m(distance_to_fit_m(2.7, fov), fov) == pytest.approx(2.7)


def test_runner_filling_the_frame_covers_every_row():
    d = distance_to_fit_m(1.8, 41.0)
    assert runner_height_px(1.8, d, 41.0, 360) == pytest.approx(360)
    assert runner_height_px(1.8, 2 * d, 41.0, 360) == pytest.approx(180)
    assert distance_for_px_m(1.8, 180, 41.0, 360) == pytest.approx(2 * d)


def test_full_field_mode_keeps_the_published_fov():
    assert field_of_view_deg(CM3, IMX708_FULL, WIDESCREEN) == pytest.approx((66.0, 41.0))
    assert field_of_view_deg(WIDE, IMX708_FULL, WIDESCREEN) == pytest.approx((102.0, 67.0))


def test_120fps_mode_reads_two_thirds_of_the_sensor():
    h, v = field_of_view_deg(CM3, IMX708_120, WIDESCREEN)
    assert math.tan(math.radians(h) / 2) == pytest.approx(2 / 3 * math.tan(math.radians(33.0)))
    assert math.tan(math.radians(v) / 2) == pytest.approx(2 / 3 * math.tan(math.radians(20.5)))
    assert h == pytest.approx(46.8, abs=0.1)


def test_hq_6mm_fov_from_sensor_size_and_focal_length():
    assert HQ.hfov_deg == pytest.approx(math.degrees(2 * math.atan(6.287 / 12)))
    assert HQ.hfov_deg == pytest.approx(55.3, abs=0.1)
    assert HQ.vfov_deg == pytest.approx(42.9, abs=0.1)
    # 2028x1080 reads 4056x2160 of 4056x3040 rows; a 16:9 output then trims the sides
    h, v = field_of_view_deg(HQ, IMX477_1080, WIDESCREEN)
    tan_v = 2160 / 3040 * math.tan(math.radians(HQ.vfov_deg) / 2)
    assert math.tan(math.radians(v) / 2) == pytest.approx(tan_v)
    assert math.tan(math.radians(h) / 2) / math.tan(math.radians(v) / 2) == pytest.approx(
        WIDESCREEN * (6.287 / 4.712) / (4056 / 3040), rel=1e-3)


def test_lens_and_mode_must_share_a_sensor():
    with pytest.raises(ValueError, match="imx477"):
        field_of_view_deg(CM3, IMX477_1080, WIDESCREEN)


def test_stride_length():
    assert stride_length_m(7.0, 200.0) == pytest.approx(4.2)
    assert track_scene().run_length_m == pytest.approx(8.4)
    assert treadmill_scene().run_length_m == pytest.approx(2.2)
    with pytest.raises(ValueError):
        stride_length_m(0.0, 180.0)


def test_pitch_lean_error():
    assert pitch_lean_error_deg(0.0, 1.0, 66.0) == 0.0
    assert pitch_lean_error_deg(5.0, 0.0, 66.0) == 0.0  # the centre column stays vertical
    # hand-computed: atan(tan 33° · tan 5°) = 3.25°
    assert pitch_lean_error_deg(5.0, 1.0, 66.0) == pytest.approx(3.25, abs=0.01)
    assert pitch_lean_error_deg(5.0, -1.0, 66.0) == pytest.approx(-pitch_lean_error_deg(5.0, 1.0, 66.0))
    # a wider lens shows more false lean at its edge
    assert pitch_lean_error_deg(5.0, 1.0, 102.0) > pitch_lean_error_deg(5.0, 1.0, 66.0)


def _project(point: tuple[float, float, float], pitch_deg: float) -> tuple[float, float]:
    """Pinhole (f = 1) image of a world point (x right, y up, z ahead) for a camera pitched up."""
    t = math.radians(pitch_deg)
    x, y, z = point
    depth = y * math.sin(t) + z * math.cos(t)
    up = y * math.cos(t) - z * math.sin(t)
    return x / depth, up / depth


@pytest.mark.parametrize("pitch_deg", [2.0, 5.0, 10.0])
def test_pitch_lean_error_matches_a_projected_vertical_line(pitch_deg):
    # a vertical pole at the right edge of a 66° frame, crossing mid-height of the image
    z = 4.0
    t = math.radians(pitch_deg)
    u = math.tan(math.radians(33.0))
    x = u * z / math.cos(t)
    y_mid = z * math.tan(t)
    (x0, y0), (x1, y1) = _project((x, y_mid - 0.05, z), pitch_deg), _project((x, y_mid + 0.05, z), pitch_deg)
    assert x0 == pytest.approx(u, rel=1e-2)
    seen_deg = math.degrees(math.atan2(x1 - x0, y1 - y0))
    assert abs(seen_deg) == pytest.approx(pitch_lean_error_deg(pitch_deg, 1.0, 66.0), abs=0.05)


def test_treadmill_plan_hand_computed():
    plan = plan_mounting(CM3, IMX708_FULL, treadmill_scene(), RunnerRange(1.5, 2.0), (640, 360))
    assert plan.limited_by == "height"
    assert plan.distance_min_m == pytest.approx(1.2 / math.tan(math.radians(20.5)))
    # farthest: a 1.5 m runner on 150 of 360 rows -> 3.6 m of view height
    assert plan.distance_max_m == pytest.approx(1.8 / math.tan(math.radians(20.5)))
    assert plan.lens_height_m == pytest.approx(0.2 + 1.0)  # deck + half the tallest runner
    # at the closest distance the tallest runner plus margins fills the frame exactly
    assert plan.tall_runner_px_at_min == pytest.approx(360 * 2.0 / 2.4)
    assert plan.short_runner_px_at_min == pytest.approx(360 * 1.5 / 2.4)
    assert plan.view_width_at_min_m >= 2.2
    assert plan.feasible


def test_track_needs_a_larger_lores_stream_for_two_sprint_strides():
    small = plan_mounting(CM3, IMX708_FULL, track_scene(), RunnerRange(1.5, 2.0), (640, 360))
    assert small.limited_by == "run length"
    assert small.distance_min_m == pytest.approx(4.2 / math.tan(math.radians(33.0)))
    assert not small.feasible
    # the shortest runner's pixels scale with the lores height: the needed height reaches min px
    assert small.short_runner_px_at_min * small.lores_height_needed_px / 360 >= 150
    big = plan_mounting(CM3, IMX708_FULL, track_scene(), RunnerRange(1.5, 2.0), (960, 540))
    assert big.feasible
    assert big.distance_min_m == pytest.approx(small.distance_min_m)


def test_monotonic_behaviour():
    scene = treadmill_scene()
    # taller runners need the camera farther away and higher
    d = [plan_mounting(CM3, IMX708_FULL, scene, RunnerRange(1.5, h)).distance_min_m for h in (1.6, 1.8, 2.0)]
    assert d == sorted(d) and len(set(d)) == 3
    heights = [plan_mounting(CM3, IMX708_FULL, scene, RunnerRange(1.5, h)).lens_height_m for h in (1.6, 2.0)]
    assert heights[0] < heights[1]
    # a wider field of view lets the camera come closer
    assert (plan_mounting(WIDE, IMX708_FULL, scene).distance_min_m
            < plan_mounting(CM3, IMX708_FULL, scene).distance_min_m
            < plan_mounting(CM3, IMX708_120, scene).distance_min_m)
    # a bigger lores stream allows a farther camera
    far = [plan_mounting(CM3, IMX708_FULL, scene, lores_px=(w, w * 9 // 16)).distance_max_m for w in (480, 640, 960)]
    assert far == sorted(far) and len(set(far)) == 3
    # pixels fall as the camera moves away
    px = [runner_height_px(1.7, dist, 41.0, 360) for dist in (2.0, 3.0, 4.0)]
    assert px == sorted(px, reverse=True)


def test_plan_all_covers_each_lens_mode_and_scene():
    plans = mounting.plan_all()
    assert len(plans) == 2 * sum(1 for lens in LENSES for m in SENSOR_MODES if m.sensor == lens.sensor)
    table = mounting.format_table(plans)
    assert table.count("\n") == len(plans) + 1
    assert "Camera Module 3 Wide" in table and "1536x864@120" in table


def test_cli_prints_the_table(capsys):
    assert main(["mounting", "--runner-height", "1.6-1.9", "--lores", "960x540"]) == 0
    out = capsys.readouterr().out
    assert "| scene | camera |" in out
    assert "lores 960x540" in out
    assert "False lean" in out


def test_cli_rejects_a_bad_size(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["mounting", "--lores", "640by360"])
    assert exc.value.code == 2
    assert "WxH" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--speed", "0"], ["--deck", "-1"], ["--belt", "x"], ["--cadence", "inf"]])
def test_cli_rejects_non_positive_scene_numbers(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["mounting", *args])
    assert exc.value.code == 2
    assert "leancam mounting: error" in capsys.readouterr().err
