"""``leancam mounting``: print where to put the camera (distance, lens height) for each lens and sensor mode."""

from __future__ import annotations

import argparse
import logging

from appliance.ops import mounting

log = logging.getLogger(__name__)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected WxH such as 640x360, got {text!r}") from err
    if w <= 0 or h <= 0:
        raise argparse.ArgumentTypeError("width and height must be positive")
    return w, h


def _height_range(text: str) -> tuple[float, float]:
    try:
        parts = [float(v) for v in text.replace("–", "-").split("-")]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected M or MIN-MAX in metres, got {text!r}") from err
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not 0 < parts[0] <= parts[1] < 3:
        raise argparse.ArgumentTypeError(f"expected M or MIN-MAX in metres (0–3), got {text!r}")
    return parts[0], parts[1]


def _number(text: str, allow_zero: bool) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from err
    if value < 0 or (value == 0 and not allow_zero) or not value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be {'zero or ' if allow_zero else ''}positive, got {text!r}")
    return value


def _positive(text: str) -> float:
    return _number(text, allow_zero=False)


def _non_negative(text: str) -> float:
    return _number(text, allow_zero=True)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("mounting", help="print camera distance and height that keep a whole runner in frame",
                       description="Print, for each lens and sensor mode, the camera distance range and lens "
                                   "height that keep a whole runner in frame with a level camera, on a "
                                   "treadmill and on a track (see hardware/README.md).")
    p.add_argument("--runner-height", type=_height_range, default=(1.5, 2.0), metavar="M[-M]",
                   help="runner height or range in metres (default 1.5-2.0)")
    p.add_argument("--lores", type=_size, default=(640, 360), metavar="WxH",
                   help="lores (inference) stream size (default 640x360)")
    p.add_argument("--min-px", type=_positive, default=mounting.DEFAULT_MIN_RUNNER_PX,
                   help="fewest image rows the shortest runner may cover (default %(default)s)")
    p.add_argument("--strides", type=_positive, default=2.0, help="track: full strides wanted in frame (default 2)")
    p.add_argument("--speed", type=_positive, default=7.0, help="track: sprint speed in m/s (default 7)")
    p.add_argument("--cadence", type=_positive, default=200.0, help="track: steps/min at that speed (default 200)")
    p.add_argument("--belt", type=_positive, default=1.6, help="treadmill belt length in metres (default 1.6)")
    p.add_argument("--deck", type=_non_negative, default=0.2, help="treadmill deck height above floor, m (default 0.2)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lo, hi = args.runner_height
    runners = mounting.RunnerRange(height_min_m=lo, height_max_m=hi)
    scenes = (mounting.treadmill_scene(belt_length_m=args.belt, deck_height_m=args.deck),
              mounting.track_scene(strides=args.strides, speed_mps=args.speed, cadence_spm=args.cadence))
    lores = args.lores
    plans = mounting.plan_all(scenes, runners, lores, args.min_px)
    print(f"Runners {lo:g}–{hi:g} m, margin {runners.margin_m:.2f} m above head and below feet; "
          f"lores {lores[0]}x{lores[1]}, shortest runner ≥ {args.min_px:g} px.")
    for s in scenes:
        print(f"  {s.name}: {s.run_length_m:.1f} m in frame ({s.note})")
    print("Distance: lens to the runner's line (lane centre / belt centre), level camera, square to the lane.")
    print("Lens height: above the floor the tripod stands on; optical axis level.\n")
    print(mounting.format_table(plans))
    print("\nFalse lean from a pitched (not level) camera: a truly vertical line at the frame edge, full-field mode:")
    lens_modes = [(lens, next(m for m in mounting.SENSOR_MODES if m.sensor == lens.sensor))
                  for lens in mounting.LENSES]
    print("| pitch | " + " | ".join(lens.name for lens, _ in lens_modes) + " |")
    print("|---|" + "---|" * len(lens_modes))
    for pitch in (2.0, 5.0, 10.0):
        cells = []
        for lens, mode in lens_modes:
            hfov, _ = mounting.field_of_view_deg(lens, mode, lores[0] / lores[1])
            cells.append(f"{mounting.pitch_lean_error_deg(pitch, 1.0, hfov):.1f}°")
        print(f"| {pitch:g}° | " + " | ".join(cells) + " |")
    return 0
