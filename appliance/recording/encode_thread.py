"""The recorder's encoder thread: frames in through a bounded queue, encoded off the pose loop.

libx264 at 720p costs about as much CPU per frame as the pose model's landmark stage, and it used
to run inside the pipeline sink, so every frame waited for its own encoding (issue 17: 0.61–0.64
of the throughput without recording). Here the sink only appends the frame to a queue; this thread
converts, scales and encodes it and hands the packets to the recorder.

When the encoder falls behind, the queue is full and the recorder decides what happens:

- live (``leancam run``): the frame is **dropped from the recording** and counted — the pose loop
  never waits for the encoder; the clip gets a lower frame rate, and says so in its sidecar;
- otherwise (tests, offline tools): the caller waits for room, so every frame is recorded.

Live, the thread runs at the lowest scheduling priority (``LIVE_NICE_INCREMENT``, per thread on
Linux): when the CPU is short, the pose model wins and the recording is thinned, never the other
way round. nice +5 still cost the pipeline throughput and latency on a loaded machine; +19 did not
(docs/performance.md, "Recording off the pose loop", which also has the GIL measurement). When the
caller waits for the encoder (not live), a lower priority would only slow the caller down, so
there the thread keeps its priority. The
thread holds the GIL only for Python glue per frame (libx264, swscale, OpenCV and the muxer run
without it; the frame is wrapped, not copied), which keeps the window in which a descheduled
encoder thread could hold up the pose loop short.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable

from appliance.sources.base import Frame

log = logging.getLogger(__name__)

# nice increment of a live recorder's encoder thread (19 = the lowest priority there is).
LIVE_NICE_INCREMENT = 19


def lower_thread_priority(nice_increment: int) -> bool:
    """Raise the calling thread's nice value (Linux: per thread). False where that is not possible."""
    if nice_increment <= 0:
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice_increment)
    except (AttributeError, OSError) as err:  # not Linux, or not permitted
        log.debug("encoder thread keeps its priority: %s", err)
        return False
    return True


class EncodeThread:
    """Runs ``encode(frame)`` on its own thread for each frame put in, in order.

    ``max_queued_frames`` bounds the raw frames waiting (a 720p RGB frame is 2.7 MB). ``put`` with
    ``wait=False`` returns False (and counts the frame in ``frames_dropped``) instead of waiting.
    """

    def __init__(self, encode: Callable[[Frame], None], max_queued_frames: int = 8, nice_increment: int = 0,
                 name: str = "recording-encoder") -> None:
        self._encode = encode
        self.max_queued_frames = max(1, max_queued_frames)
        self.nice_increment = nice_increment
        self._frames: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self.frames_encoded = 0
        self.frames_dropped = 0
        self.busy_s = 0.0  # time spent encoding, for the bench's encoder utilisation
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, frame: Frame, wait: bool) -> bool:
        """Queue ``frame``; False if it was dropped (queue full and ``wait`` False, or closed)."""
        with self._cond:
            while wait and len(self._frames) >= self.max_queued_frames and not self._closed:
                self._cond.wait(0.5)
            if self._closed or len(self._frames) >= self.max_queued_frames:
                self.frames_dropped += 1
                return False
            self._frames.append(frame)
            self._cond.notify_all()
            return True

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._frames)

    def _run(self) -> None:
        lower_thread_priority(self.nice_increment)
        while True:
            with self._cond:
                while not self._frames and not self._closed:
                    self._cond.wait()
                if not self._frames:
                    return  # closed and drained
                frame = self._frames.popleft()
                self._busy = True
                self._cond.notify_all()  # room for a waiting put
            t0 = time.perf_counter()
            try:
                self._encode(frame)
            except Exception:  # the encoder must outlive one bad frame; the recorder reports errors
                log.exception("encoding frame %d failed", frame.index)
            finally:
                self.busy_s += time.perf_counter() - t0
                self.frames_encoded += 1
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued frame is encoded (tests, shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._frames and not self._busy, timeout_s)

    def close(self, timeout_s: float = 30.0) -> None:
        """Encode what is queued, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("the recording encoder did not finish within %.0f s", timeout_s)
