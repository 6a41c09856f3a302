"""The live pipeline: a capture thread feeds a bounded queue, the processing loop runs pose and sinks.

One stop event is shared by all threads. Capture never waits for inference (the queue drops the
oldest frame and counts it), so a slow model shows up as counted drops, not as growing latency or
memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from appliance.live.frame_queue import DropOldestQueue
from appliance.pose.types import PoseFrame
from appliance.sources.base import Frame, FrameSource

log = logging.getLogger(__name__)

# A sink receives each processed frame with its pose; it must be quick (LEDs, a latest-state slot).
Sink = Callable[[Frame, PoseFrame], None]


@dataclass(frozen=True)
class PipelineStats:
    frames_captured: int
    frames_processed: int
    frames_dropped: int
    elapsed_s: float

    @property
    def processed_fps(self) -> float:
        return self.frames_processed / self.elapsed_s if self.elapsed_s > 0 else 0.0


class Pipeline:
    """Runs ``source`` → pose ``process`` → ``sinks`` until the source ends or ``stop`` is set."""

    def __init__(self, source: FrameSource, process: Callable[[Frame], PoseFrame], sinks: list[Sink],
                 stop: threading.Event | None = None, queue_size: int = 1, log_every_s: float = 5.0,
                 on_tick: Callable[[], None] | None = None, lossless: bool = False) -> None:
        self.source = source
        self.process = process
        self.sinks = sinks
        self.stop = stop or threading.Event()
        # One frame waits at most: when pose is slower than the camera, a second waiting frame only
        # adds a frame time to every light's latency (capture → LED p50 35 → 70 ms once the loop
        # saturates, 720p clip on the 2-core dev machine), and the older one would be dropped anyway.
        self.queue: DropOldestQueue[Frame] = DropOldestQueue(queue_size)
        self.log_every_s = log_every_s
        # Called on every loop turn, frame or not: the systemd watchdog heartbeat lives here so a
        # hung loop stops it, while a camera that merely delivers nothing does not.
        self.on_tick = on_tick
        # Lossless: capture waits for the consumer instead of dropping (offline replay of a file).
        self.lossless = lossless
        self._captured = 0
        self._processed = 0
        self.recent_fps = 0.0  # processed frames per second over the last log interval
        self._capture_error: BaseException | None = None

    def _capture(self) -> None:
        try:
            for frame in self.source.frames():
                if self.stop.is_set():
                    break
                self.queue.put(frame, block=self.lossless)
                self._captured += 1
        except BaseException as err:  # handed to the main thread, which reports it
            self._capture_error = err
        finally:
            self.queue.close()

    def run(self, max_frames: int | None = None, duration_s: float | None = None) -> PipelineStats:
        t_start = time.monotonic()
        capture = threading.Thread(target=self._capture, name="capture", daemon=True)
        capture.start()
        last_log_t = fps_t = t_start
        fps_n = 0
        try:
            while not self.stop.is_set():
                frame = self.queue.get(timeout_s=0.5)
                if self.on_tick is not None:
                    self.on_tick()
                if frame is None:
                    if not capture.is_alive() and len(self.queue) == 0:
                        break
                    continue
                pose = self.process(frame)
                for sink in self.sinks:
                    sink(frame, pose)
                self._processed += 1
                now = time.monotonic()
                if now - fps_t >= 1.0:
                    self.recent_fps = (self._processed - fps_n) / (now - fps_t)
                    fps_t, fps_n = now, self._processed
                if now - last_log_t >= self.log_every_s:
                    log.info("%.1f fps processed, %d dropped so far, person %s",
                             self.recent_fps, self.queue.dropped, "found" if pose.has_pose else "not found")
                    last_log_t = now
                if max_frames is not None and self._processed >= max_frames:
                    break
                if duration_s is not None and now - t_start >= duration_s:
                    break
        finally:
            self.stop.set()
            self.queue.close()  # wakes a capture thread blocked on a full lossless queue
            capture.join(timeout=5.0)
        if self._capture_error is not None:
            raise self._capture_error
        return PipelineStats(self._captured, self._processed, self.queue.dropped, time.monotonic() - t_start)
