"""The recorder: pre-trigger ring + post-roll clips, registered in the store, robust to a full disk.

Frames are encoded continuously and the packets of the last ``pre_roll_s`` seconds wait in a
``PacketRing``. Two ways in:

- software (``recorder(frame, pose)``): the frame goes into a bounded queue and is encoded by
  ``SoftwareH264Encoder`` on the recorder's own thread (``encode_thread``), never in the pose loop.
  ``live=True`` (``leancam run``): a full queue drops the frame from the recording instead of
  waiting, counted in ``status.frames_dropped`` and in the clip's sidecar. ``[recording] max_fps``
  thins the recording to a CPU budget before the queue.
- camera encoder (``push_packet``): the Pi camera's H.264 encoder, on picamera2's thread
  (``picamera_output``); the pose sink then only calls ``push_pose``.

``trigger(reason, t_s)`` opens a clip that starts on the last keyframe at or before
``t_s - pre_roll_s``; ``end(t_s)`` closes it ``post_roll_s`` later (on the capture clock, so it
works the same for a replayed file and a camera). A clip is finished — MP4 closed, sidecar with
keypoints and events written, both renamed, row added to the store, retention applied — on a
background thread so a slow SD card never stalls the pipeline.

Failures never stop the pipeline: a full disk (ENOSPC, SQLite's "database or disk is full") or any
other write error aborts the clip being written, logs one warning and sets ``status`` to
``stopped`` with a reason the web and the LEDs read. The next ``trigger`` resumes recording once
there is room again (``retention.min_free_mb``).

Wiring (``leancam run``)::

    store, clips_dir = open_state_dir()
    session = store.add_session(Session(time.time(), source.info.name))
    recorder = Recorder(clips_dir, RecorderConfig(), store, session.id, fps=source.info.fps, live=True)
    pipeline = Pipeline(source, engine.process, sinks=[..., recorder])   # a Sink: (frame, pose)
    # analyzer callbacks: recorder.trigger("initiation", t_s, run_id=run.id) on initiation or the
    # first stride, recorder.note_event("contact", t_s, foot="left") for the sidecar,
    # recorder.end(t_s) when the runner has gone; recorder.close() on shutdown.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av

from appliance.config.sections import RecorderConfig
from appliance.errors import is_no_room
from appliance.pose.types import PoseFrame
from appliance.recording.clip import ClipWriter, recover, sidecar_document
from appliance.recording.encode_thread import LIVE_NICE_INCREMENT, EncodeThread
from appliance.recording.h264 import EncodedPacket, PacketEncoder, SoftwareH264Encoder, StreamFormat
from appliance.recording.retention import RetentionConfig, apply_retention, free_space_mb
from appliance.recording.ring import PacketRing
from appliance.sources.base import Frame
from appliance.store import Clip, Store

log = logging.getLogger(__name__)

# How far in the past a trigger may name its moment (s). A run starts at its first contact, but the
# analysis names it when that stride is decided: a running stance (at most 0.45 s, [lean]
# max_running_stance_s) and the decision lag later, and the encoder thread may be a few frames
# behind the pose loop. The pre-roll is kept behind that moment, not behind the trigger call: with
# one GOP of slack the demo walker's first run (contact 3.67 s, decided ~0.5 s later) got a clip
# starting after its first contact.
TRIGGER_LOOKBACK_S = 1.0


@dataclass(frozen=True)
class RecorderStatus:
    """What the web page and the LEDs show about recording."""

    state: str  # "idle" | "recording" | "stopped" (disk full / write error) | "disabled"
    reason: str | None = None  # why stopped: "disk_full", "write_error: …"
    clip_name: str | None = None  # the clip being written
    clips_written: int = 0
    clips_failed: int = 0
    # Frames left out of the recording because the encoder was behind (live: the pose loop never
    # waits for it), and frames left out by design to keep to [recording] max_fps.
    frames_dropped: int = 0
    frames_thinned: int = 0

    @property
    def ok(self) -> bool:
        return self.state != "stopped"


def _is_disk_full(err: BaseException) -> bool:
    if is_no_room(err):
        return True
    return isinstance(err, sqlite3.OperationalError) and "full" in str(err).lower()


@dataclass
class _OpenClip:
    name: str
    reason: str
    trigger_t_s: float
    created_at_s: float
    run_id: int | None
    session_id: int | None  # the session at the trigger: a long press may start a new one meanwhile
    end_at_t_s: float | None = None  # set by end(): close once a packet this late arrives
    # Opened by the first packet after the trigger: the encoder thread may still be behind the
    # trigger, and the ring holds the pre-roll either way (see TRIGGER_LOOKBACK_S).
    writer: ClipWriter | None = None


@dataclass(frozen=True)
class _Finished:
    writer: ClipWriter
    clip: Clip
    sidecar: dict[str, Any]


class Recorder:
    """Pre-trigger ring + post-roll clip recorder; use as a pipeline sink ``recorder(frame, pose)``."""

    def __init__(self, clips_dir: Path, config: RecorderConfig | None = None, store: Store | None = None,
                 session_id: int | None = None, fps: float = 30.0,
                 retention: RetentionConfig | None = None,
                 encoder_factory: Callable[[Frame], PacketEncoder] | None = None,
                 on_clip: Callable[[Clip], None] | None = None, run_recovery: bool = True,
                 live: bool = False) -> None:
        self.clips_dir = Path(clips_dir)
        self.config = config or RecorderConfig()
        self.store = store
        self.session_id = session_id
        self.fps = fps
        self.retention = retention or RetentionConfig()
        self.on_clip = on_clip
        # Which encoder made the packets (for the sidecar): libx264 here; the Pi camera's output
        # names its own when it attaches (recording.picamera_output).
        self.encoder_name = "libx264"
        self._encoder_factory = encoder_factory or self._software_encoder
        self._encoder: PacketEncoder | None = None
        self._format: StreamFormat | None = None
        # live: never make the caller (the pose loop) wait for the encoder; drop from the recording.
        self.live = live
        self._encode_thread: EncodeThread | None = None  # started by the first software frame
        self._frames_in = 0
        self._input_t_s: float | None = None  # newest frame handed in (software path)
        self._kept_t_s: float | None = None  # newest frame kept by the max_fps thinning
        self._thinned = 0
        self._dropped_t_s: deque[float] = deque()  # capture times of dropped frames, for the sidecars
        self._dropped_logged_at_s = -1e9
        # The ring holds pre_roll_s + one GOP + TRIGGER_LOOKBACK_S: a trigger names a moment in the
        # past (a run starts at its first contact, named when that stride is decided at its toe-off).
        self.ring = PacketRing(self.config.pre_roll_s + self.config.gop_s + TRIGGER_LOOKBACK_S)
        keep_s = self.config.pre_roll_s + 2 * self.config.gop_s + TRIGGER_LOOKBACK_S
        self._poses: deque[PoseFrame] = deque()
        self._events: deque[dict[str, Any]] = deque()
        self._keep_s = keep_s
        # _lock: the open clip and its file (the encoder and finisher threads write under it).
        # _meta_lock: poses, events and counters — all the pose loop touches per frame, so a slow
        # SD-card write holding _lock never holds up the pose loop.
        self._lock = threading.RLock()
        self._meta_lock = threading.Lock()
        self._open: _OpenClip | None = None
        # A clip triggered after the open one's end (in capture time) while the encoder thread has
        # not reached that end yet: it opens as soon as the open clip closes.
        self._next: _OpenClip | None = None
        self._clip_poses: list[PoseFrame] = []
        self._clip_events: list[dict[str, Any]] = []
        self._state = "idle" if self.config.enabled else "disabled"
        self._reason: str | None = None
        self._written = 0
        self._failed = 0
        self._seq = 0
        self._free_at_stop_mb = 0.0
        self.last_t_s = 0.0
        self._finish_q: queue.Queue[_Finished | None] = queue.Queue()
        self._finisher = threading.Thread(target=self._finish_loop, name="clip-finisher", daemon=True)
        self._finisher.start()
        if store is not None and run_recovery:
            self.recovery = recover(self.clips_dir, store)
            self._retain()

    # -- status ----------------------------------------------------------------------------------

    @property
    def status(self) -> RecorderStatus:
        """Read without the clip lock (plain attribute reads): the pose loop and the web read this
        every frame and must not wait for a clip being written."""
        oc = self._open
        enc = self._encode_thread
        return RecorderStatus(self._state, self._reason, oc.name if oc else None, self._written, self._failed,
                              enc.frames_dropped if enc is not None else 0, self._thinned)

    @property
    def current_run_id(self) -> int | None:
        oc = self._open
        return oc.run_id if oc else None

    def _stop(self, err: BaseException, where: str) -> None:
        """Abort the open clip and enter the stopped state (caller holds the lock)."""
        reason = "disk_full" if _is_disk_full(err) else f"write_error: {err}"
        if self._open is not None:
            if self._open.writer is not None:
                self._open.writer.abort()
            self._open = None
            self._failed += 1
        if self._next is not None:
            self._next = None
            self._failed += 1
        if self._state != "stopped":
            log.warning("recording stopped (%s while %s); feedback continues without recording", reason, where)
        if reason == "disk_full":
            try:
                self._free_at_stop_mb = free_space_mb(self.clips_dir)
            except OSError:
                self._free_at_stop_mb = 0.0
        self._state, self._reason = "stopped", reason

    # -- input -----------------------------------------------------------------------------------

    def _software_encoder(self, frame: Frame) -> PacketEncoder:
        return SoftwareH264Encoder(frame.width_px, frame.height_px, self.fps, self.config.gop_s,
                                   self.config.max_width_px, self.config.crf)

    def __call__(self, frame: Frame, pose: PoseFrame | None = None) -> None:
        """Pipeline sink: queue ``frame`` for the encoder thread and keep ``pose`` for the sidecar.

        Quick by design: the encoding happens on the recorder's thread. Live, a frame that finds
        the queue full is dropped from the recording (counted); otherwise this waits for room.
        """
        if not self.config.enabled:
            return
        if pose is not None:
            self.push_pose(pose)
        with self._meta_lock:
            if self._thin(frame.t_s):
                return
            self._frames_in += 1
            self._input_t_s = frame.t_s
            if self._encode_thread is None:
                self._encode_thread = EncodeThread(self._encode, self.config.encode_queue_frames,
                                                   nice_increment=LIVE_NICE_INCREMENT if self.live else 0)
        if not self._encode_thread.put(frame, wait=not self.live):
            self._note_dropped(frame.t_s)

    push = __call__

    def _thin(self, t_s: float) -> bool:
        """True if the frame at ``t_s`` is left out to keep to ``max_fps`` (caller holds _meta_lock).

        A frame is kept once 0.9 of the period has passed since the last kept one, so a source at
        the cap keeps every frame and a 50 fps camera capped at 30 records a steady 25 fps.
        """
        max_fps = self.config.max_fps
        kept = self._kept_t_s
        if max_fps > 0 and kept is not None and kept <= t_s < kept + 0.9 / max_fps:
            self._thinned += 1
            return True
        self._kept_t_s = t_s
        return False

    def _note_dropped(self, t_s: float) -> None:
        with self._meta_lock:
            self._dropped_t_s.append(t_s)
            while self._dropped_t_s and self._dropped_t_s[0] < t_s - self.config.max_clip_s - self._keep_s:
                self._dropped_t_s.popleft()
            now = time.monotonic()
            if now - self._dropped_logged_at_s >= 10.0:
                self._dropped_logged_at_s = now
                total = self._encode_thread.frames_dropped if self._encode_thread is not None else 0
                log.warning("recording: the encoder is behind; %d frame(s) left out of the recording so far "
                            "(the pose loop does not wait for it)", total)

    def _encode(self, frame: Frame) -> None:
        """Encoder thread: frame → packets → ring (and the open clip)."""
        try:
            if self._encoder is None:
                self._encoder = self._encoder_factory(frame)
                self._format = self._encoder.format
            packets = self._encoder.encode(frame)
        except (av.error.FFmpegError, ValueError) as err:
            with self._lock:
                self._stop(err, f"encoding frame {frame.index}")
            return
        for packet in packets:
            self.push_packet(packet)

    def set_format(self, fmt: StreamFormat) -> None:
        """Hardware path: the stream format of the packets ``push_packet`` will receive."""
        self._format = fmt

    def push_pose(self, pose: PoseFrame) -> None:
        with self._meta_lock:
            self._poses.append(pose)
            while self._poses and self._poses[0].t_s < pose.t_s - self._keep_s:
                self._poses.popleft()
            if self._open is not None:
                self._clip_poses.append(pose)

    def note_event(self, kind: str, t_s: float, **detail: Any) -> None:
        """An analysis event for the sidecar (gait events, verdicts): ``detail`` must be JSON-able."""
        event = {"kind": kind, "t_s": round(float(t_s), 6), **detail}
        with self._meta_lock:
            self._events.append(event)
            while self._events and self._events[0]["t_s"] < t_s - self._keep_s:
                self._events.popleft()
            if self._open is not None:
                self._clip_events.append(event)

    def push_packet(self, packet: EncodedPacket) -> None:
        """Add one encoded packet: to the ring always, to the open clip if there is one."""
        with self._lock:
            if packet.t_s < self.last_t_s - 1.0:
                # The capture clock went back (camera reopened, a new replay): older packets belong
                # to another timeline and cannot share a clip with these.
                log.info("capture time went back %.2f s → %.2f s; starting a new ring", self.last_t_s, packet.t_s)
                if self._open is not None:
                    self._close_open_clip()
                if self._next is not None:
                    log.info("clip %s dropped: its trigger belongs to the old timeline", self._next.name)
                    self._next = None
                self.ring.clear()
                with self._meta_lock:
                    self._poses.clear()
                    self._events.clear()
            self.last_t_s = packet.t_s
            self.ring.push(packet)
            clip = self._open
            if clip is None:
                return
            try:
                if clip.writer is None:
                    self._start_writer(clip)
                    if clip.writer is None:
                        return
                else:
                    clip.writer.write(packet)
            except (OSError, av.error.FFmpegError, ValueError) as err:
                self._stop(err, f"writing {clip.name}")
                return
            writer = clip.writer
            too_long = packet.t_s - (writer.start_t_s or packet.t_s) >= self.config.max_clip_s
            if too_long:
                log.info("clip %s reached max_clip_s=%.0f s; closing it", clip.name, self.config.max_clip_s)
            if too_long or (clip.end_at_t_s is not None and packet.t_s >= clip.end_at_t_s):
                self._close_open_clip()
                self._open_next()

    def _open_next(self) -> None:
        """The open clip just closed: the clip triggered after its end opens now, from the ring
        (which holds the packet that closed the other one), as a trigger at this point would have."""
        if self._next is None:
            return
        self._open, self._next = self._next, None
        self._state, self._reason = "recording", None
        try:
            self._start_writer(self._open)
        except (OSError, av.error.FFmpegError, ValueError) as err:
            self._stop(err, f"starting {self._open.name}")

    def _start_writer(self, clip: _OpenClip) -> None:
        """Open the clip's file with the ring from ``trigger_t_s − pre_roll_s`` (the ring already
        holds the newest packet); caller holds the lock. Without a keyframe yet, waits for one."""
        assert self._format is not None
        packets = self.ring.since(clip.trigger_t_s - self.config.pre_roll_s)
        if not packets or not packets[0].keyframe:
            return
        writer = ClipWriter(self.clips_dir, clip.name, self._format)
        clip.writer = writer
        writer.write_all(packets)
        start = writer.start_t_s if writer.start_t_s is not None else clip.trigger_t_s
        with self._meta_lock:
            self._clip_poses = [p for p in self._poses if p.t_s >= start]
            self._clip_events = [e for e in self._events if e["t_s"] >= start]
        log.info("recording clip %s (%s at %.2f s, %.1f s pre-roll)", clip.name, clip.reason, clip.trigger_t_s,
                 clip.trigger_t_s - start)

    # -- triggers --------------------------------------------------------------------------------

    def _new_name(self, reason: str, created_at_s: float) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created_at_s))
        ms = int((created_at_s % 1) * 1000)
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in reason)[:24] or "clip"
        while True:
            self._seq += 1
            name = f"{stamp}.{ms:03d}-{self._seq:03d}-{safe}"
            if not (self.clips_dir / f"{name}.mp4").exists():
                return name

    def start_session(self, session_id: int | None) -> None:
        """Clips triggered from now on belong to ``session_id`` (the long press started a new one)."""
        with self._lock:
            self.session_id = session_id

    def trigger(self, reason: str, t_s: float | None = None, run_id: int | None = None) -> str | None:
        """Start a clip ``pre_roll_s`` before ``t_s`` (default: the newest frame); returns its name.

        A trigger while a clip is open keeps that clip going (cancels a pending ``end``). Returns
        ``None`` when recording is disabled, stopped for lack of space, or nothing was recorded yet.
        The file itself is opened by the next encoded packet (the encoder may be a few frames
        behind the pose loop); its pre-roll comes from the ring all the same.
        """
        with self._lock:
            if t_s is None:
                t_s = self._newest_t_s()
            if self._state == "disabled":
                return None
            latest = self._next or self._open
            if latest is not None and (latest is self._next or latest.end_at_t_s is None
                                       or t_s < latest.end_at_t_s):
                # The clip still covers t_s: keep it going. (An open clip whose end has passed in
                # capture time is over; the encoder thread just has not reached that end yet.)
                latest.end_at_t_s = None
                if run_id is not None and latest.run_id is None:
                    latest.run_id = run_id
                return latest.name
            if self._frames_in == 0 and (self._format is None or len(self.ring) == 0):
                log.debug("trigger %r at %.2f s ignored: nothing recorded yet", reason, t_s)
                return None
            if not self._room_to_record():
                return None
            created = time.time()
            name = self._new_name(reason, created)
            clip = _OpenClip(name, reason, t_s, created, run_id, self.session_id)
            if self._open is None:
                self._open = clip
            else:
                self._next = clip
            self._state, self._reason = "recording", None
            return name

    def _newest_t_s(self) -> float:
        """The newest capture time handed in: a frame given to the encoder thread (software), else
        the newest packet (camera encoder)."""
        return self._input_t_s if self._input_t_s is not None else self.last_t_s

    def end(self, t_s: float | None = None) -> None:
        """The run is over at ``t_s``: the clip closes ``post_roll_s`` later."""
        with self._lock:
            latest = self._next or self._open
            if latest is not None:
                if t_s is None:
                    t_s = self._newest_t_s()
                latest.end_at_t_s = t_s + self.config.post_roll_s

    def _room_to_record(self) -> bool:
        """Free space check before a clip; resumes after a disk-full stop once there is room."""
        try:
            free_mb = free_space_mb(self.clips_dir)
            if free_mb < self.retention.min_free_mb and self.store is not None:
                self._retain()
                free_mb = free_space_mb(self.clips_dir)
        except (OSError, sqlite3.Error) as err:
            self._stop(err, "checking free space")
            return False
        if free_mb < self.retention.min_free_mb:
            if self._state != "stopped" or self._reason != "disk_full":
                log.warning("recording stopped: %.0f MB free, below retention.min_free_mb=%.0f MB",
                            free_mb, self.retention.min_free_mb)
                self._free_at_stop_mb = free_mb
            self._state, self._reason = "stopped", "disk_full"
            return False
        if self._reason == "disk_full" and free_mb < self._free_at_stop_mb + self.config.resume_free_mb:
            return False  # still stopped: not enough room freed since the disk filled
        if self._state == "stopped":
            log.info("recording resumed (%.0f MB free)", free_mb)
            self._state, self._reason = "idle", None
        return True

    # -- finishing -------------------------------------------------------------------------------

    def _close_open_clip(self) -> None:
        """Hand the open clip to the finisher thread (caller holds the lock)."""
        oc = self._open
        assert oc is not None
        self._open = None
        if self._state == "recording":
            self._state = "idle"
        w = oc.writer
        if w is None:  # closed before its first packet (shutdown right after the trigger)
            log.info("clip %s closed before any video reached it; nothing written", oc.name)
            return
        assert self._format is not None
        start = w.start_t_s if w.start_t_s is not None else oc.trigger_t_s
        end = w.end_t_s if w.end_t_s is not None else start
        clip = Clip(name=w.name, video_file=w.video_path.name, sidecar_file=w.sidecar_path.name,
                    created_at_s=oc.created_at_s, start_t_s=start, end_t_s=end, frames=w.frames,
                    width_px=self._format.width_px, height_px=self._format.height_px, size_bytes=0,
                    trigger=oc.reason, run_id=oc.run_id, session_id=oc.session_id)
        with self._meta_lock:
            poses = [p for p in self._clip_poses if start <= p.t_s <= end]
            events = [e for e in self._clip_events if start - 1e-6 <= e["t_s"] <= end + self.config.post_roll_s]
            dropped = sum(1 for t in self._dropped_t_s if start <= t <= end)
            self._clip_poses, self._clip_events = [], []
        # Frames of this clip's time span left out of the recording: the encoder was behind (live,
        # the pose loop never waits for it) — the video has gaps there, the keypoints not.
        sidecar = sidecar_document(clip, oc.reason, oc.trigger_t_s, events, poses, recording={
            "frames_dropped": dropped, "max_fps": self.config.max_fps, "encoder": self.encoder_name})
        self._finish_q.put(_Finished(w, clip, sidecar))

    def _finish_loop(self) -> None:
        while True:
            item = self._finish_q.get()
            try:
                if item is None:
                    return
                self._finish(item)
            except Exception:  # never let the finisher die: later clips still need it
                log.exception("finishing clip %s failed", item.writer.name if item else "?")
                with self._lock:
                    self._failed += 1
            finally:
                self._finish_q.task_done()

    def _finish(self, item: _Finished) -> None:
        try:
            size = item.writer.finish(item.sidecar)
        except (OSError, av.error.FFmpegError, ValueError) as err:
            item.writer.abort()
            with self._lock:
                self._failed += 1
                self._stop(err, f"finishing {item.writer.name}")
            return
        clip = replace(item.clip, size_bytes=size)
        if self.store is not None:
            try:
                clip = self.store.add_clip(clip)
            except sqlite3.Error as err:
                # The files are complete; the next start's recovery registers them from the sidecar.
                with self._lock:
                    self._stop(err, f"registering {clip.name}")
                return
        with self._lock:
            self._written += 1
        log.info("clip %s finished: %d frames, %.1f s, %.1f MB", clip.name, clip.frames, clip.duration_s,
                 size / 1e6)
        if self.on_clip is not None:
            self.on_clip(clip)
        self._retain()

    def _retain(self) -> None:
        if self.store is None:
            return
        run = self.current_run_id
        try:
            apply_retention(self.store, self.clips_dir, self.retention,
                            protect_run_ids={run} if run is not None else ())
        except (OSError, sqlite3.Error) as err:
            log.warning("retention failed: %s", err)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued frame is encoded and every handed-over clip finished (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        if self._encode_thread is not None and not self._encode_thread.wait_idle(timeout_s):
            return False
        while time.monotonic() < deadline:
            if self._finish_q.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        """Encode the queued frames, finish the open clip (complete up to the last frame), stop."""
        if self._encode_thread is not None:
            self._encode_thread.close()
        with self._lock:
            for _ in range(2):  # the open clip, then one triggered after its end
                if self._open is None:
                    break
                try:
                    self._close_open_clip()
                    self._open_next()
                except Exception as err:
                    log.warning("closing the open clip failed: %s", err)
                    break
        self._finish_q.put(None)
        self._finisher.join(timeout=30.0)
        if self._encoder is not None:
            self._encoder.close()
            self._encoder = None

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
