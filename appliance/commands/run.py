"""``leancam run``: the appliance — camera (or the demo clip) → pose → verdict → LEDs, until stopped."""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

from appliance.config import load_appliance_config
from appliance.live.app import LiveAppliance, RunOptions
from appliance.live.signals import stop_on_signals

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the appliance (Pi camera if present, else the bundled running demo)",
                       description="Run the live appliance until Ctrl-C / SIGTERM.")
    p.add_argument("--source", default=None,
                   help="auto, picamera, webcam[:N], demo (the bundled running demo), demo:walk (a walking "
                        "sample: never judged) or file:PATH (default: the config's, i.e. auto)")
    p.add_argument("--realtime", action=argparse.BooleanOptionalAction, default=True,
                   help="pace file sources at their real frame rate (default on)")
    p.add_argument("--loop", action=argparse.BooleanOptionalAction, default=None,
                   help="loop a file source (default: loop the demo clips only)")
    p.add_argument("--config", help="config file (default: $LEANCAM_CONFIG or the user config dir)")
    p.add_argument("--threads", type=int, default=None,
                   help="inference threads (default: the config's pose.num_threads, 2)")
    p.add_argument("--max-frames", type=int, help="stop after this many processed frames")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument("--web", action=argparse.BooleanOptionalAction, default=None,
                   help="serve the web display (default: on, from the config)")
    p.add_argument("--web-port", type=int, help="web display port (default 8080; 0 picks a free one)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stop = stop_on_signals()
    options = RunOptions(source=args.source, realtime=args.realtime, loop=args.loop, threads=args.threads,
                         max_frames=args.max_frames, duration_s=args.duration, web=args.web,
                         web_port=args.web_port)
    config_path = Path(args.config) if args.config else None
    appliance = LiveAppliance(options, config=load_appliance_config(config_path), stop=stop, config_path=config_path)
    try:
        stats = appliance.run()
    finally:
        appliance.close()
    changes = [c.light.value for c in appliance.lights.changes]
    # Counts over the whole run (a looped demo changes lights hundreds of times), then the latest ones.
    counts = ", ".join(f"{light} {n}" for light, n in Counter(changes).most_common())
    log.info("stopped: %d frames processed in %.1f s (%.1f fps), %d dropped; LED changes: %d (%s); last: %s",
             stats.frames_processed, stats.elapsed_s, stats.processed_fps, stats.frames_dropped,
             len(changes), counts or "none", " ".join(changes[-12:]) or "none")
    return 0
