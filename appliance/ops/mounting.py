"""Where to put the camera: distance and height that keep a whole runner in frame, per lens and sensor mode.

The camera stands beside a track or a treadmill, **level** (optical axis horizontal) and square to the
running direction. Level matters: a pitched camera makes vertical lines converge, so a runner standing
straight away from the image centre reads as leaning (see ``pitch_lean_error_deg``); the ground-line
fit in the analysis corrects roll, not pitch. With a level pinhole camera the runner's sagittal plane is
parallel to the image plane, so angles in that plane are seen undistorted and only the scale changes
with distance.

Geometry (pinhole, level camera at height ``h`` above the running surface, runner plane at distance
``d``): the frame covers ``h ± d·tan(vfov/2)`` vertically and ``± d·tan(hfov/2)`` horizontally. To
fit a span ``s`` across a field of view ``fov``: ``d = (s/2) / tan(fov/2)``. A runner of height ``H``
at distance ``d`` spans ``H / (2·d·tan(vfov/2)) · image_height_px`` pixels.

Field of view depends on the sensor mode, not only the lens: the IMX708's 120 fps mode (1536×864) is
2×2 binned from a centred 3072×1728 window, i.e. 2/3 of the sensor width and height, so it sees a
narrower scene than the full-field 2304×1296 mode (56 fps). The lores stream that feeds the pose model
is scaled from the same ISP output, so it keeps the mode's field of view.

Sources (checked 2026-11-25):
  - Camera Module 3 66°×41°, Camera Module 3 Wide 102°×67°, HQ sensor image area 6.287×4.712 mm,
    video modes 2304×1296p56 / 1536×864p120: Raspberry Pi documentation, "Camera" → "Hardware
    Specification" (raspberrypi/documentation, accessories/camera/camera_hardware.adoc).
  - IMX708 mode windows: Linux driver ``drivers/media/i2c/imx708.c`` ("2x2 binned and cropped for 720p":
    1536×864 from a 3072×1728 crop at +768,+432; 2304×1296 and 4608×2592 from the full 4608×2592) and
    ``rpicam-hello --list-cameras`` output: 1536x864 [120.13 fps], 2304x1296 [56.03 fps],
    4608x2592 [14.35 fps].
  - IMX477 (HQ) mode windows: Raspberry Pi documentation, rpicam ``list-cameras`` example:
    1332x990 [120.05 fps - (696, 528)/2664x1980 crop], 2028x1080 [50.03 fps - (0, 440)/4056x2160 crop].
  - HQ 6 mm CS-mount lens (Raspberry Pi documentation, "Recommended Lens"; field angle given there as
    63° for its 1/2" format): FoV computed here as 2·atan(sensor size / (2·6 mm)) = 55.3°×42.9°.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

log = logging.getLogger(__name__)

DEFAULT_MIN_RUNNER_PX = 150  # lower end of the ~150–200 px a foot needs to be located reliably


@dataclass(frozen=True)
class Lens:
    """A camera + lens, with its field of view over the **full** sensor array."""

    key: str
    name: str
    sensor: str
    hfov_deg: float
    vfov_deg: float
    source: str


@dataclass(frozen=True)
class SensorMode:
    """A sensor readout mode: output size, top frame rate and the window of the array it reads."""

    sensor: str
    width_px: int
    height_px: int
    max_fps: float
    crop_width_px: int  # window on the sensor array, native pixels (as --list-cameras prints it)
    crop_height_px: int
    array_width_px: int
    array_height_px: int

    @property
    def label(self) -> str:
        return f"{self.width_px}x{self.height_px}@{self.max_fps:.0f}"


def _hq_fov_deg(size_mm: float, focal_mm: float = 6.0) -> float:
    return math.degrees(2 * math.atan(size_mm / (2 * focal_mm)))


LENSES: tuple[Lens, ...] = (
    Lens("cm3", "Camera Module 3", "imx708", 66.0, 41.0,
         "Raspberry Pi docs, camera Hardware Specification: 66° H × 41° V"),
    Lens("cm3-wide", "Camera Module 3 Wide", "imx708", 102.0, 67.0,
         "Raspberry Pi docs, camera Hardware Specification: 102° H × 67° V"),
    Lens("hq-6mm", "HQ Camera + 6 mm CS lens", "imx477", _hq_fov_deg(6.287), _hq_fov_deg(4.712),
         "computed: 2·atan(6.287×4.712 mm sensor / 2·6 mm); Raspberry Pi docs list the lens at 63° (1/2\")"),
)

SENSOR_MODES: tuple[SensorMode, ...] = (
    # IMX708 (Camera Module 3, standard and wide); 4608x2592@14 is a stills mode and is left out.
    SensorMode("imx708", 2304, 1296, 56.03, 4608, 2592, 4608, 2592),
    SensorMode("imx708", 1536, 864, 120.13, 3072, 1728, 4608, 2592),
    # IMX477 (HQ camera)
    SensorMode("imx477", 2028, 1080, 50.03, 4056, 2160, 4056, 3040),
    SensorMode("imx477", 1332, 990, 120.05, 2664, 1980, 4056, 3040),
)


@dataclass(frozen=True)
class RunnerRange:
    """Runners to fit; the tallest sets the distance, the shortest the pixel count."""

    height_min_m: float = 1.5
    height_max_m: float = 2.0
    margin_frac: float = 0.10  # of the tallest height, above the head and below the feet (bounce, box)

    @property
    def margin_m(self) -> float:
        return self.margin_frac * self.height_max_m


@dataclass(frozen=True)
class Scene:
    """What must be in frame horizontally, and where the running surface is."""

    key: str
    name: str
    run_length_m: float  # horizontal span wanted at the runner's plane
    surface_height_m: float = 0.0  # running surface above the floor the camera stands on
    note: str = ""


def stride_length_m(speed_mps: float, cadence_spm: float) -> float:
    """One stride (two steps, a full gait cycle) at ``speed_mps`` and ``cadence_spm`` steps/min."""
    if speed_mps <= 0 or cadence_spm <= 0:
        raise ValueError("speed and cadence must be positive")
    return 2.0 * speed_mps / (cadence_spm / 60.0)


def track_scene(strides: float = 2.0, speed_mps: float = 7.0, cadence_spm: float = 200.0) -> Scene:
    """Track: ``strides`` full strides in frame at sprint pace (default 7 m/s at 200 steps/min → 4.2 m)."""
    stride = stride_length_m(speed_mps, cadence_spm)
    return Scene("track", "track", strides * stride, 0.0,
                 f"{strides:g} strides of {stride:.1f} m ({speed_mps:g} m/s, {cadence_spm:g} spm)")


def treadmill_scene(belt_length_m: float = 1.6, swing_m: float = 0.3, deck_height_m: float = 0.2) -> Scene:
    """Treadmill: the belt plus foot swing beyond each end; the deck raises the running surface."""
    return Scene("treadmill", "treadmill", belt_length_m + 2 * swing_m, deck_height_m,
                 f"belt {belt_length_m:g} m + {swing_m:g} m swing each end, deck {deck_height_m:g} m")


def distance_to_fit_m(span_m: float, fov_deg: float) -> float:
    """Distance at which ``span_m`` exactly fills a field of view ``fov_deg`` (centred)."""
    if span_m <= 0 or not 0 < fov_deg < 180:
        raise ValueError("span must be positive and fov in (0, 180) degrees")
    return (span_m / 2.0) / math.tan(math.radians(fov_deg) / 2.0)


def view_span_m(distance_m: float, fov_deg: float) -> float:
    """Width (or height) of the scene seen at ``distance_m`` across ``fov_deg``."""
    return 2.0 * distance_m * math.tan(math.radians(fov_deg) / 2.0)


def runner_height_px(runner_height_m: float, distance_m: float, vfov_deg: float, image_height_px: int) -> float:
    """How many image rows a runner of ``runner_height_m`` covers at ``distance_m``."""
    return runner_height_m / view_span_m(distance_m, vfov_deg) * image_height_px


def distance_for_px_m(runner_height_m: float, min_px: float, vfov_deg: float, image_height_px: int) -> float:
    """Farthest distance at which the runner still covers ``min_px`` rows."""
    return distance_to_fit_m(runner_height_m * image_height_px / min_px, vfov_deg)


def pitch_lean_error_deg(pitch_deg: float, x_frac: float, hfov_deg: float) -> float:
    """False lean of a truly vertical line seen by a camera pitched by ``pitch_deg``.

    ``x_frac`` is the line's horizontal place in the frame (0 = centre, ±1 = edge). Verticals converge
    to a vanishing point ``f/tan(pitch)`` from the centre, so near mid-height a vertical line at image
    offset ``u·f`` leans by ``atan(u·tan(pitch))`` with ``u = x_frac·tan(hfov/2)``.
    """
    u = x_frac * math.tan(math.radians(hfov_deg) / 2.0)
    return math.degrees(math.atan(u * math.tan(math.radians(pitch_deg))))


def field_of_view_deg(lens: Lens, mode: SensorMode, output_aspect: float) -> tuple[float, float]:
    """(horizontal, vertical) field of view of ``mode`` on ``lens`` for an output of aspect ``w/h``.

    The mode's window scales tan(fov/2) by the fraction of the array it reads; if the output aspect
    differs from the window's, the ISP crops the window to the output aspect (square pixels), centred.
    """
    if lens.sensor != mode.sensor:
        raise ValueError(f"{lens.name} has a {lens.sensor} sensor, not {mode.sensor}")
    frac_w = mode.crop_width_px / mode.array_width_px
    frac_h = mode.crop_height_px / mode.array_height_px
    window_aspect = mode.crop_width_px / mode.crop_height_px
    if output_aspect < window_aspect:
        frac_w *= output_aspect / window_aspect
    else:
        frac_h *= window_aspect / output_aspect
    tan_h = frac_w * math.tan(math.radians(lens.hfov_deg) / 2.0)
    tan_v = frac_h * math.tan(math.radians(lens.vfov_deg) / 2.0)
    return math.degrees(2 * math.atan(tan_h)), math.degrees(2 * math.atan(tan_v))


@dataclass(frozen=True)
class MountingPlan:
    """Where to put the camera for one lens, sensor mode and scene (all lengths in metres)."""

    lens: Lens
    mode: SensorMode
    scene: Scene
    runners: RunnerRange
    lores_width_px: int
    lores_height_px: int
    min_runner_px: float
    hfov_deg: float
    vfov_deg: float
    distance_min_m: float  # closer and the tallest runner (or the run length) no longer fits
    distance_max_m: float  # farther and the shortest runner drops below ``min_runner_px``
    limited_by: str  # what sets distance_min_m: "height" or "run length"
    lens_height_m: float  # above the floor; the axis at mid-frame ≈ hip height
    view_width_at_min_m: float
    short_runner_px_at_min: float
    tall_runner_px_at_min: float
    lores_height_needed_px: int  # lores height at which the shortest runner gets min_runner_px at d_min

    @property
    def feasible(self) -> bool:
        return self.distance_min_m <= self.distance_max_m


def plan_mounting(lens: Lens, mode: SensorMode, scene: Scene, runners: RunnerRange | None = None,
                  lores_px: tuple[int, int] = (640, 360),
                  min_runner_px: float = DEFAULT_MIN_RUNNER_PX) -> MountingPlan:
    """Distance range and lens height for ``lens`` in ``mode`` beside ``scene``, judged on the lores stream."""
    runners = runners or RunnerRange()
    if not 0 < runners.height_min_m <= runners.height_max_m:
        raise ValueError("runner heights must satisfy 0 < min <= max")
    lores_w, lores_h = lores_px
    hfov, vfov = field_of_view_deg(lens, mode, lores_w / lores_h)
    margin = runners.margin_m
    # The covered band is symmetric about the level axis, so the axis goes to the middle of
    # [surface - margin, surface + tallest + margin]: that is the lowest distance that fits both ends.
    need_height_m = runners.height_max_m + 2 * margin
    d_height = distance_to_fit_m(need_height_m, vfov)
    d_width = distance_to_fit_m(scene.run_length_m, hfov)
    d_min = max(d_height, d_width)
    d_max = distance_for_px_m(runners.height_min_m, min_runner_px, vfov, lores_h)
    short_px = runner_height_px(runners.height_min_m, d_min, vfov, lores_h)
    needed_h = math.ceil(lores_h * min_runner_px / short_px)
    plan = MountingPlan(
        lens=lens, mode=mode, scene=scene, runners=runners,
        lores_width_px=lores_w, lores_height_px=lores_h, min_runner_px=min_runner_px,
        hfov_deg=hfov, vfov_deg=vfov,
        distance_min_m=d_min, distance_max_m=d_max,
        limited_by="height" if d_height >= d_width else "run length",
        lens_height_m=scene.surface_height_m + runners.height_max_m / 2.0,
        view_width_at_min_m=view_span_m(d_min, hfov),
        short_runner_px_at_min=short_px,
        tall_runner_px_at_min=runner_height_px(runners.height_max_m, d_min, vfov, lores_h),
        lores_height_needed_px=needed_h,
    )
    log.debug("mounting %s %s %s: d %.2f–%.2f m, h %.2f m", lens.key, mode.label, scene.key,
              d_min, d_max, plan.lens_height_m)
    return plan


def plan_all(scenes: tuple[Scene, ...] | None = None, runners: RunnerRange | None = None,
             lores_px: tuple[int, int] = (640, 360),
             min_runner_px: float = DEFAULT_MIN_RUNNER_PX) -> list[MountingPlan]:
    """One plan per lens × its sensor modes × scene."""
    scenes = scenes or (treadmill_scene(), track_scene())
    plans = []
    for scene in scenes:
        for lens in LENSES:
            for mode in SENSOR_MODES:
                if mode.sensor == lens.sensor:
                    plans.append(plan_mounting(lens, mode, scene, runners, lores_px, min_runner_px))
    return plans


def format_table(plans: list[MountingPlan]) -> str:
    """Markdown table of ``plans`` (pasteable into hardware/README.md)."""
    rows = ["| scene | camera | sensor mode | FoV H×V | distance | lens height | view width at min "
            "| runner px at min (short/tall) | fits? |",
            "|---|---|---|---|---|---|---|---|---|"]
    for p in plans:
        if p.feasible:
            verdict = "yes"
            distance = f"{p.distance_min_m:.1f}–{p.distance_max_m:.1f} m"
        else:
            need_w = math.ceil(p.lores_height_needed_px * p.lores_width_px / p.lores_height_px)
            verdict = f"no: lores ≥ {need_w}×{p.lores_height_needed_px}"
            distance = f"{p.distance_min_m:.1f} m (max {p.distance_max_m:.1f})"
        rows.append(
            f"| {p.scene.name} | {p.lens.name} | {p.mode.label} | {p.hfov_deg:.0f}°×{p.vfov_deg:.0f}° "
            f"| {distance}, min set by {p.limited_by} | {p.lens_height_m:.2f} m "
            f"| {p.view_width_at_min_m:.1f} m | {p.short_runner_px_at_min:.0f}/{p.tall_runner_px_at_min:.0f} "
            f"| {verdict} |")
    return "\n".join(rows)
