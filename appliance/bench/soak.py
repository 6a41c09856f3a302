"""``leancam bench soak --minutes N``: run the live chain for N minutes and watch for leaks.

The demo clip (or ``--clip``) is replayed in a loop, in real time like a camera, through
source → pose → analysis → feedback (mock LEDs) → recorder + store + retention, exactly the parts
``leancam run`` uses. Clips are triggered by the analysis (runs) and, because a looped demo has
few runs, also every ``--every`` seconds. Retention runs with a small quota so deleting is
exercised too. Every ``--interval`` seconds one line: resident memory (RSS), open files and file
descriptors, threads, frames, clips. At the end: growth of RSS and descriptors from the end of
the warm-up (when caches, the model and the encoder are all allocated) to the end.

State goes to a temporary directory (removed afterwards) unless ``--state-dir`` is given, so a
soak never fills the appliance's real recordings.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.config import load_appliance_config
from appliance.errors import BadInputError, LeanCamError
from appliance.ops import assets

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("soak", help="replay a clip for N minutes through pose, analysis and the recorder; "
                                    "print memory and open files over time")
    p.add_argument("--minutes", type=float, default=10.0, help="how long to run (default 10)")
    p.add_argument("--clip", type=Path,
                   help="clip to replay in a loop (default: the walking demo clip, models/demo/demo.mp4)")
    p.add_argument("--every", type=float, default=15.0, metavar="S",
                   help="also start a clip every S seconds of video (default 15; 0 = only on runs)")
    p.add_argument("--interval", type=float, metavar="S", help="seconds between samples (default: 1/20 of the run, ≥2)")
    p.add_argument("--warmup", type=float, metavar="S",
                   help="seconds before the baseline sample (default: a quarter of the run, at most 60)")
    p.add_argument("--quota-mb", type=float, default=50.0, help="retention quota for the soak's clips (default 50)")
    p.add_argument("--state-dir", type=Path, help="keep the database and clips here (default: a temporary dir)")
    p.add_argument("--threads", type=int, default=2, help="inference threads (default 2)")
    p.add_argument("--max-growth-pct", type=float, default=5.0,
                   help="exit 1 if RSS grows more than this after warm-up (default 5)")
    p.add_argument("--json", action="store_true", help="print the samples and the summary as one JSON object")
    p.set_defaults(func=run)


@dataclass(frozen=True)
class Sample:
    t_s: float
    rss_mb: float
    open_files: int
    fds: int
    threads: int
    frames: int
    dropped: int
    clips_written: int
    clips_on_disk: int
    recorder_state: str


def _psutil() -> Any:
    try:
        import psutil
    except ImportError as err:
        raise LeanCamError("leancam bench soak needs psutil: pip install 'leancam[bench]'") from err
    return psutil


def summarize(samples: list[Sample], warmup_s: float) -> dict[str, Any]:
    """Growth after the warm-up: mean of the last quarter of the samples against the first quarter.

    Means, not single samples: RSS moves by a few percent as clips open and close (encoder and
    muxer buffers, the finisher's sidecar), which is not growth. The point values are reported too.
    """
    after = [s for s in samples if s.t_s >= warmup_s] or samples[-1:]
    k = max(1, len(after) // 4)
    head, tail = after[:k], after[-k:]
    base, last = after[0], samples[-1]

    def avg(xs: list[Sample], attr: str) -> float:
        return float(statistics.fmean(getattr(x, attr) for x in xs))

    rss0, rss1 = avg(head, "rss_mb"), avg(tail, "rss_mb")
    return {
        "baseline_t_s": round(base.t_s, 1), "samples_per_quarter": k,
        "rss_baseline_mb": round(rss0, 1), "rss_end_mb": round(rss1, 1),
        "rss_first_after_warmup_mb": round(base.rss_mb, 1), "rss_last_mb": round(last.rss_mb, 1),
        "rss_max_after_warmup_mb": round(max(s.rss_mb for s in after), 1),
        "rss_growth_pct": round(100.0 * (rss1 - rss0) / rss0, 2),
        "open_files_growth": round(avg(tail, "open_files") - avg(head, "open_files")),
        "fds_growth": round(avg(tail, "fds") - avg(head, "fds")),
        "threads_growth": round(avg(tail, "threads") - avg(head, "threads")),
        "frames": last.frames, "dropped": last.dropped,
        "fps": round(last.frames / last.t_s, 1) if last.t_s > 0 else 0.0,
        "clips_written": last.clips_written, "clips_on_disk": last.clips_on_disk,
    }


def run(args: argparse.Namespace) -> int:
    from gpiozero.pins.mock import MockFactory

    from appliance.analysis.analyzer import LIVE_KEEP, StreamingAnalyzer
    from appliance.bench.clip_schedule import ClipSchedule
    from appliance.feedback.controller import FeedbackController
    from appliance.feedback.leds import FeedbackLights
    from appliance.live.pipeline import Pipeline
    from appliance.pose.engine import PoseEngine
    from appliance.pose.types import PoseFrame
    from appliance.recording import Recorder, RecorderConfig
    from appliance.recording.retention import RetentionConfig
    from appliance.recording.runs import RunLogger
    from appliance.sources.base import Frame
    from appliance.sources.replay import ReplaySource
    from appliance.store import Session, open_state_dir

    if not args.minutes > 0:
        raise BadInputError("--minutes must be positive")
    psutil = _psutil()
    proc = psutil.Process()
    duration_s = args.minutes * 60.0
    interval_s = args.interval or max(2.0, duration_s / 20.0)
    warmup_s = args.warmup if args.warmup is not None else min(60.0, duration_s / 4.0)
    clip = args.clip or assets.require("demo_clip", verify=False)
    tmp = None if args.state_dir else Path(tempfile.mkdtemp(prefix="leancam-soak-"))
    state_dir = args.state_dir or tmp
    assert state_dir is not None
    samples: list[Sample] = []
    try:
        store, clips_dir = open_state_dir(state_dir)
        session = store.add_session(Session(time.time(), f"soak:{clip.name}"))
        engine = PoseEngine.from_config(load_appliance_config().pose, num_threads=args.threads)
        lights = FeedbackLights(None, pin_factory=MockFactory())
        feedback = FeedbackController(lights)
        stop = threading.Event()
        with ReplaySource(clip, realtime=True, loop=True) as source:
            recorder = Recorder(clips_dir, RecorderConfig(), store, session.id, fps=source.info.fps,
                                retention=RetentionConfig(quota_mb=args.quota_mb, min_free_mb=0.0))
            analyzer = StreamingAnalyzer(source_fps=source.info.fps or None, keep=LIVE_KEEP)
            runs = RunLogger(store, session.id, recorder)
            sinks: list[Any] = [recorder]
            if args.every > 0:
                sinks.append(ClipSchedule(recorder, args.every, min(5.0, args.every / 2)))

            def analyze(frame: Frame, pose: PoseFrame) -> None:
                update = analyzer.push(pose)
                feedback.on_frame(frame, pose, update)
                runs.on_update(frame.t_s, update)

            sinks.insert(0, analyze)
            pipeline = Pipeline(source, engine.process, sinks=sinks, stop=stop, log_every_s=interval_s)
            result: dict[str, Any] = {}

            def work() -> None:
                try:
                    result["stats"] = pipeline.run(duration_s=duration_s)
                except BaseException as err:  # reported by the main thread
                    result["error"] = err

            worker = threading.Thread(target=work, name="soak-pipeline", daemon=True)
            t0 = time.monotonic()
            worker.start()
            if not args.json:
                print(f"soak: {clip.name} looped in real time for {args.minutes:g} min; sample every "
                      f"{interval_s:.0f} s, warm-up {warmup_s:.0f} s; state in {state_dir}")
                print(f"{'t_s':>7} {'rss_mb':>8} {'files':>6} {'fds':>5} {'thr':>4} {'frames':>7} "
                      f"{'dropped':>7} {'clips':>6} {'on_disk':>7}  recorder")
            while True:
                worker.join(timeout=max(0.0, t0 + (len(samples) + 1) * interval_s - time.monotonic()))
                if not worker.is_alive():
                    break  # sample only while the pipeline runs: shutdown frees memory and threads
                st = recorder.status
                s = Sample(time.monotonic() - t0, proc.memory_info().rss / 2**20, len(proc.open_files()),
                           proc.num_fds(), proc.num_threads(), pipeline._processed, pipeline.queue.dropped,
                           st.clips_written, len(list(clips_dir.glob("*.mp4"))), st.state)
                samples.append(s)
                if not args.json:
                    print(f"{s.t_s:7.1f} {s.rss_mb:8.1f} {s.open_files:6d} {s.fds:5d} {s.threads:4d} "
                          f"{s.frames:7d} {s.dropped:7d} {s.clips_written:6d} {s.clips_on_disk:7d}  "
                          f"{s.recorder_state}", flush=True)
            runs.end()
            recorder.close()
        lights.close()
        store.close()
        if "error" in result:
            raise result["error"]
        if not samples:
            raise BadInputError("the soak ended before the first sample: use a longer --minutes or --interval")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    summary = summarize(samples, warmup_s)
    ok = summary["rss_growth_pct"] <= args.max_growth_pct
    summary["max_growth_pct"] = args.max_growth_pct
    summary["ok"] = ok
    if args.json:
        print(json.dumps({"summary": summary, "samples": [asdict(s) for s in samples]}))
    else:
        print(f"after warm-up ({summary['baseline_t_s']:.0f} s → end, means of {summary['samples_per_quarter']} "
              f"sample(s) at each end): RSS {summary['rss_baseline_mb']} → "
              f"{summary['rss_end_mb']} MB ({summary['rss_growth_pct']:+.2f} %, limit {args.max_growth_pct:g} %), "
              f"max {summary['rss_max_after_warmup_mb']} MB; open files {summary['open_files_growth']:+d}, "
              f"fds {summary['fds_growth']:+d}, "
              f"threads {summary['threads_growth']:+d}; {summary['frames']} frames ({summary['fps']} fps, "
              f"{summary['dropped']} dropped), {summary['clips_written']} clips written, "
              f"{summary['clips_on_disk']} kept by retention — {'OK' if ok else 'TOO MUCH GROWTH'}")
    return 0 if ok else 1
