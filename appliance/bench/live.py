"""``leancam bench live``: the live pipeline with recording on and off, alternated in one run.

Recording must not cost the runner their feedback (issue 17). This replays one clip through the
real ``LiveAppliance`` (mock LEDs, no web, the real recorder writing clips into a temporary state
dir) and, for each mode, measures:

- **throughput**: the clip as fast as the pipeline goes (``--no-realtime``: capture waits for the
  pose loop, nothing is dropped by the pipeline), in processed frames per second;
- **latency**: the clip paced at its real frame rate, like a camera: every frame's capture →
  lights-updated time (p50/p95) and the frames the pipeline dropped.

Modes alternate (off, on, on, off, …) so a load change on a shared machine hits both alike; the
ratios on/off are what to read, not the absolute figures. Recording's own losses (frames left out
of the recording because the encoder was behind, or thinned to ``[recording] max_fps``) are
reported beside them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import resource
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
from gpiozero.pins.mock import MockFactory

from appliance import paths
from appliance.config import Config, load_appliance_config
from appliance.live.app import LiveAppliance, RunOptions
from appliance.ops import assets
from appliance.pose.engine import PoseEngine

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("live", help="live pipeline fps and capture → LED latency, recording on vs off")
    p.add_argument("clip", nargs="?", type=Path,
                   help="clip to replay (default: ../shared/data/sprint_starts/b2.mp4, else the demo clip)")
    p.add_argument("--rounds", type=int, default=2,
                   help="off/on pairs, alternated (default 2: off on on off)")
    p.add_argument("--no-latency", action="store_true", help="throughput runs only (skip the real-time runs)")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: the config's)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.set_defaults(func=run)


def default_clip() -> Path:
    b2 = paths.shared_data_dir() / "sprint_starts" / "b2.mp4"
    return b2 if b2.is_file() else assets.require("demo_clip", verify=False)


@contextlib.contextmanager
def _state_dir() -> Iterator[Path]:
    """A throwaway state dir: the bench's clips and rows must not land in the unit's own."""
    old = os.environ.get("LEANCAM_STATE_DIR")
    with tempfile.TemporaryDirectory(prefix="leancam-bench-live-") as d:
        os.environ["LEANCAM_STATE_DIR"] = d
        try:
            yield Path(d)
        finally:
            if old is None:
                os.environ.pop("LEANCAM_STATE_DIR", None)
            else:
                os.environ["LEANCAM_STATE_DIR"] = old


def _one_run(clip: Path, config: Config, engine: PoseEngine, recording: bool, realtime: bool) -> dict[str, object]:
    engine.reset()
    cfg = replace(config, recording=replace(config.recording, enabled=recording))
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    with _state_dir():
        app = LiveAppliance(RunOptions(source=f"file:{clip}", realtime=realtime, loop=False, web=False,
                                       measure_latency=True), config=cfg, pin_factory=MockFactory(), engine=engine)
        try:
            stats = app.run()
        finally:
            app.close()
        rec = app.recorder
        status = rec.status if rec is not None else None
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    lat = np.asarray(app.led_latency_s or [], float) * 1000.0
    out: dict[str, object] = {
        "recording": recording, "realtime": realtime,
        "frames_processed": stats.frames_processed, "pipeline_frames_dropped": stats.frames_dropped,
        "fps": round(stats.processed_fps, 2),
        "recording_frames_dropped": status.frames_dropped if status else 0,
        "recording_frames_thinned": status.frames_thinned if status else 0,
        "clips_written": status.clips_written if status else 0,
        # CPU of all threads (decode, pose, encoder, finisher) per processed frame: what recording
        # costs in CPU, independent of how the scheduler shared the machine during the run.
        "cpu_ms_per_frame": round(cpu_s * 1000.0 / max(1, stats.frames_processed), 2),
    }
    if realtime and lat.size:
        out["capture_to_led_ms"] = {"p50": round(float(np.percentile(lat, 50)), 2),
                                    "p95": round(float(np.percentile(lat, 95)), 2)}
    return out


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 2) if values else None


def _ratio(on: float | None, off: float | None) -> float | None:
    return round(on / off, 3) if on is not None and off else None


def measure(clip: Path, rounds: int = 2, latency: bool = True, threads: int | None = None) -> dict[str, object]:
    config = load_appliance_config()
    engine = PoseEngine.from_config(config.pose, num_threads=threads)
    order = [m for r in range(rounds) for m in ((False, True) if r % 2 == 0 else (True, False))]
    runs: list[dict[str, object]] = []
    for recording in order:
        runs.append(_one_run(clip, config, engine, recording, realtime=False))
        log.info("throughput, recording %s: %.1f fps", "on" if recording else "off", runs[-1]["fps"])
        if latency:
            runs.append(_one_run(clip, config, engine, recording, realtime=True))

    def pick(recording: bool, realtime: bool) -> list[dict[str, object]]:
        return [r for r in runs if r["recording"] is recording and r["realtime"] is realtime]

    summary: dict[str, dict[str, object]] = {}
    for name, recording in (("off", False), ("on", True)):
        thr, rt = pick(recording, False), pick(recording, True)
        p50 = [r["capture_to_led_ms"]["p50"] for r in rt if "capture_to_led_ms" in r]  # type: ignore[index]
        p95 = [r["capture_to_led_ms"]["p95"] for r in rt if "capture_to_led_ms" in r]  # type: ignore[index]
        summary[name] = {
            "fps": _mean([float(r["fps"]) for r in thr]),  # type: ignore[arg-type]
            "fps_runs": [r["fps"] for r in thr],
            "cpu_ms_per_frame": _mean([float(r["cpu_ms_per_frame"]) for r in thr]),  # type: ignore[arg-type]
            "capture_to_led_ms_p50": _mean(p50), "capture_to_led_ms_p95": _mean(p95),
            "pipeline_frames_dropped_realtime": sum(int(r["pipeline_frames_dropped"]) for r in rt),  # type: ignore[call-overload]
            "recording_frames_dropped": sum(int(r["recording_frames_dropped"]) for r in thr + rt),  # type: ignore[call-overload]
            "recording_frames_thinned": sum(int(r["recording_frames_thinned"]) for r in thr + rt),  # type: ignore[call-overload]
            "recording_frames_offered": sum(int(r["frames_processed"]) for r in thr + rt) if recording else 0,  # type: ignore[call-overload]
            "clips_written": sum(int(r["clips_written"]) for r in thr + rt),  # type: ignore[call-overload]
        }
    on, off = summary["on"], summary["off"]
    return {
        "clip": str(clip), "rounds": rounds, "order": ["on" if m else "off" for m in order],
        "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
        "off": off, "on": on,
        "fps_ratio_on_off": _ratio(on["fps"], off["fps"]),  # type: ignore[arg-type]
        "capture_to_led_p50_ratio_on_off": _ratio(on["capture_to_led_ms_p50"], off["capture_to_led_ms_p50"]),  # type: ignore[arg-type]
        "capture_to_led_p95_ratio_on_off": _ratio(on["capture_to_led_ms_p95"], off["capture_to_led_ms_p95"]),  # type: ignore[arg-type]
        "cpu_per_frame_ratio_on_off": _ratio(on["cpu_ms_per_frame"], off["cpu_ms_per_frame"]),  # type: ignore[arg-type]
        "runs": runs,
    }


def run(args: argparse.Namespace) -> int:
    clip = args.clip or default_clip()
    result = measure(clip, rounds=max(1, args.rounds), latency=not args.no_latency, threads=args.threads)
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"live pipeline on {Path(str(result['clip'])).name}, recording off/on alternated "
          f"({' '.join(result['order'])}); load average {result['load_avg_1m']} on {result['cpus']} CPUs")  # type: ignore[arg-type]
    print(f"{'':28s} {'off':>10s} {'on':>10s} {'on/off':>8s}")
    off, on = result["off"], result["on"]

    def row(label: str, key: str, ratio_key: str | None = None) -> None:
        a, b = off[key], on[key]  # type: ignore[index]
        ratio = result[ratio_key] if ratio_key else None
        cells = [f"{v:10.2f}" if isinstance(v, float) else f"{'-' if v is None else v:>10}" for v in (a, b)]
        print(f"{label:28s} {cells[0]} {cells[1]} {'' if ratio is None else f'{ratio:8.3f}'}")

    row("pipeline fps (as fast as)", "fps", "fps_ratio_on_off")
    row("CPU ms per frame (all)", "cpu_ms_per_frame", "cpu_per_frame_ratio_on_off")
    row("capture → LED p50 ms", "capture_to_led_ms_p50", "capture_to_led_p50_ratio_on_off")
    row("capture → LED p95 ms", "capture_to_led_ms_p95", "capture_to_led_p95_ratio_on_off")
    row("pipeline drops (real time)", "pipeline_frames_dropped_realtime")
    row("recording: frames offered", "recording_frames_offered")
    row("recording: dropped (behind)", "recording_frames_dropped")
    row("recording: thinned (max_fps)", "recording_frames_thinned")
    row("clips written", "clips_written")
    print(f"fps runs: off {off['fps_runs']}, on {on['fps_runs']}")  # type: ignore[index]
    return 0
