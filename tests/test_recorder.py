"""The recorder on the real demo clip: pre-roll from the encoded ring, post-roll, sidecars,
registration after the rename, recovery and retention — real libx264, real files, real SQLite."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from appliance.config import config_from_dict
from appliance.errors import ConfigError
from appliance.pose.types import N_LANDMARKS, PoseFrame
from appliance.recording import EncodedPacket, PacketRing, Recorder, RecorderConfig, recover
from appliance.recording.clip import clip_from_sidecar
from appliance.recording.recorder import TRIGGER_LOOKBACK_S
from appliance.recording.retention import RetentionConfig, apply_retention, disk_space
from appliance.sources.base import Frame
from appliance.sources.replay import ReplaySource
from appliance.store import Clip, Run, Session, open_state_dir


@pytest.fixture(scope="module")
def demo_frames(demo_clip: Path) -> list[Frame]:
    """The demo clip decoded once and scaled to 320 px wide (what the recorder would scale it to)."""
    out = []
    with ReplaySource(demo_clip, realtime=False) as src:
        for f in src.frames():
            h = round(f.height_px * 320 / f.width_px)
            out.append(Frame(f.index, f.t_s, cv2.resize(f.rgb, (320, h), interpolation=cv2.INTER_AREA)))
    return out


def _pose(frame: Frame) -> PoseFrame:
    lms = np.zeros((N_LANDMARKS, 5), np.float32)
    lms[:, 0] = frame.index
    return PoseFrame(frame.index, frame.t_s, frame.width_px, frame.height_px, lms, 0.9)


def _decode(path: Path) -> tuple[int, list[float]]:
    with av.open(str(path)) as c:
        times = [float(f.time) for f in c.decode(video=0)]
    return len(times), times


@pytest.fixture
def state(tmp_path: Path):
    store, clips = open_state_dir(tmp_path / "state")
    session = store.add_session(Session(time.time(), "test"))
    yield store, clips, session.id
    store.close()


def test_clip_has_pre_roll_post_roll_sidecar_and_row(state, demo_frames: list[Frame]) -> None:
    store, clips, session_id = state
    cfg = RecorderConfig(pre_roll_s=1.0, post_roll_s=0.5, gop_s=0.5, max_width_px=320)
    run = store.add_run(Run(session_id, time.time(), 3.0, "initiation"))
    rec = Recorder(clips, cfg, store, session_id, fps=30)
    names = []
    for f in demo_frames:
        rec(f, _pose(f))
        if f.index == 90:  # t = 3.0 s
            names.append(rec.trigger("initiation", f.t_s, run_id=run.id))
            assert rec.status.state == "recording" and rec.status.clip_name == names[0]
        if f.index == 100:
            rec.note_event("contact", f.t_s, foot="left")
        if f.index == 150:  # t = 5.0 s
            rec.end(f.t_s)
    assert rec.wait_idle()
    rec.close()
    (clip,) = store.clips()
    assert clip.name == names[0] and clip.run_id == run.id and clip.session_id == session_id
    # Starts on the last keyframe at or before trigger − pre-roll (2.0 s; keyframes every 0.5 s).
    assert clip.start_t_s == pytest.approx(2.0, abs=1e-3)
    assert clip.end_t_s == pytest.approx(5.5, abs=1 / 30 + 1e-3)  # end + post-roll, to the frame
    n, times = _decode(clips / clip.video_file)
    assert n == clip.frames == round((clip.end_t_s - clip.start_t_s) * 30) + 1
    assert times[0] == pytest.approx(0.0) and times[-1] == pytest.approx(clip.duration_s, abs=1e-3)
    assert clip.size_bytes == (clips / clip.video_file).stat().st_size
    assert (clip.width_px, clip.height_px) == (320, 180)
    side = json.loads((clips / clip.sidecar_file).read_text())
    assert side["kind"] == "leancam-clip" and side["trigger"] == {"reason": "initiation", "t_s": 3.0}
    assert [e["kind"] for e in side["events"]] == ["contact"] and side["events"][0]["foot"] == "left"
    kp = side["keypoints"]
    assert len(kp) == clip.frames and kp[0]["t_s"] == pytest.approx(clip.start_t_s)
    assert kp[0]["landmarks"][0][0] == 60  # frame 60 = 2.0 s
    assert clip_from_sidecar(clips / clip.sidecar_file, clips / clip.video_file) == Clip(
        **{**clip.__dict__, "id": None})
    assert sorted(p.name for p in clips.iterdir()) == sorted([clip.video_file, clip.sidecar_file])


def test_ring_stays_bounded_and_starts_on_a_keyframe(demo_frames: list[Frame], tmp_path: Path) -> None:
    rec = Recorder(tmp_path, RecorderConfig(pre_roll_s=1.0, gop_s=0.5, max_width_px=320), fps=30)
    for f in demo_frames:
        rec(f)
        # Keeps pre-roll + one GOP + the trigger look-back (a run's start is named when its first
        # stride is decided), plus up to one GOP.
        assert rec.ring.span_s <= 1.0 + 2 * 0.5 + TRIGGER_LOOKBACK_S + 1e-6
    assert rec.ring.span_s >= 1.0 + 0.5 + TRIGGER_LOOKBACK_S - 1e-6
    assert rec.ring.since(-10)[0].keyframe
    assert rec.ring.size_bytes < 300_000, "encoded packets only: 2.5 s of 320 px video"
    rec.close()


def test_packet_ring_unit() -> None:
    ring = PacketRing(keep_s=1.0)
    ring.push(EncodedPacket(b"x", 0.0, False))  # before any keyframe: undecodable, dropped
    assert len(ring) == 0 and ring.dropped_before_keyframe == 1
    for i in range(40):  # 10 fps, keyframe every 0.5 s
        ring.push(EncodedPacket(bytes(10), i / 10, i % 5 == 0))
    assert ring.since(3.2)[0].t_s == pytest.approx(3.0)  # last keyframe at or before 3.2
    assert ring.since(0.0)[0].t_s == pytest.approx(2.5)  # older than the ring: its oldest keyframe
    assert ring.span_s == pytest.approx(1.4)
    assert ring.size_bytes == 10 * len(ring)
    ring.clear()
    assert len(ring) == 0 and ring.since(0) == []


def test_max_clip_length_and_retrigger_and_close(state, demo_frames: list[Frame]) -> None:
    store, clips, session_id = state
    cfg = RecorderConfig(pre_roll_s=0.5, post_roll_s=0.5, gop_s=0.5, max_width_px=320, max_clip_s=2.0)
    rec = Recorder(clips, cfg, store, session_id, fps=30)
    assert rec.trigger("too_early", 0.0) is None  # nothing encoded yet
    first = second = None
    for f in demo_frames:
        rec(f)
        if f.index == 30:
            first = rec.trigger("a", f.t_s)
        if f.index == 45:
            assert rec.trigger("a_again", f.t_s) == first  # a trigger while recording extends the clip
        if f.index == 200:
            second = rec.trigger("b", f.t_s)  # never ended: close() finishes it
    rec.close()
    a, b = store.clips()
    assert (a.name, b.name) == (first, second)
    assert a.duration_s == pytest.approx(2.0, abs=1 / 30 + 1e-3)  # cut at max_clip_s
    assert b.end_t_s == pytest.approx(demo_frames[-1].t_s)
    for c in (a, b):
        assert _decode(clips / c.video_file)[0] == c.frames


def test_disabled_recorder_records_nothing(tmp_path: Path, demo_frames: list[Frame]) -> None:
    rec = Recorder(tmp_path, RecorderConfig(enabled=False), fps=30)
    for f in demo_frames[:20]:
        rec(f)
    assert rec.trigger("x") is None and rec.status.state == "disabled"
    rec.close()
    assert not any(tmp_path.iterdir())


def test_capture_clock_going_back_starts_a_new_ring(tmp_path: Path, demo_frames: list[Frame]) -> None:
    rec = Recorder(tmp_path, RecorderConfig(pre_roll_s=1.0, gop_s=0.5, max_width_px=320), fps=30)
    for f in demo_frames[:90]:
        rec(f)
    for f in demo_frames[:20]:  # the replay restarted at t = 0
        rec(Frame(1000 + f.index, f.t_s, f.rgb))
    assert rec.ring.since(-1)[0].t_s == pytest.approx(0.0)
    rec.close()


def _write_pair(clips: Path, name: str, created: float, run_id: int | None = None, frames: int = 4) -> Clip:
    path = clips / f"{name}.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height = 64, 48
        for i in range(frames):
            for p in s.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 30, np.uint8), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    clip = Clip(name, path.name, f"{name}.json", created, 0.0, 0.3, frames, 64, 48, path.stat().st_size,
                "t", run_id)
    from appliance.recording.clip import clip_to_sidecar_dict
    (clips / clip.sidecar_file).write_text(json.dumps({"kind": "leancam-clip", "schema": 1,
                                                       "clip": clip_to_sidecar_dict(clip)}))
    return clip


def test_recover_makes_files_and_rows_agree(state) -> None:
    store, clips, _ = state
    kept = store.add_clip(_write_pair(clips, "kept", 1.0))
    unregistered = _write_pair(clips, "unregistered", 2.0)  # killed between rename and insert
    gone = store.add_clip(_write_pair(clips, "gone", 3.0))
    (clips / gone.video_file).unlink()  # removed by hand
    (clips / "partial.mp4.part").write_bytes(b"\0" * 100)
    (clips / "partial.json.part").write_bytes(b"{")
    _write_pair(clips, "orphan", 4.0)
    (clips / "orphan.mp4").unlink()  # retention killed between the two unlinks
    (clips / "someone_elses.mp4").write_bytes(b"not ours")
    report = recover(clips, store)
    assert report.parts_removed == ("partial.json.part", "partial.mp4.part")
    assert report.registered == ("unregistered",)
    assert report.rows_dropped == ("gone",)
    assert set(report.sidecars_removed) == {"orphan.json", "gone.json"}
    assert [c.name for c in store.clips()] == [kept.name, unregistered.name]
    assert (clips / "someone_elses.mp4").exists(), "files that are not LeanCam clips are left alone"
    assert recover(clips, store).clean


def test_retention_age_quota_and_protected_run(state) -> None:
    store, clips, session_id = state
    run = store.add_run(Run(session_id, time.time(), 0.0))
    now = 1_000_000.0
    old = store.add_clip(_write_pair(clips, "old", now - 40 * 86400))
    a = store.add_clip(_write_pair(clips, "a", now - 3000))
    b = store.add_clip(_write_pair(clips, "b", now - 2000))
    current = store.add_clip(_write_pair(clips, "current", now - 4000, run_id=run.id))
    c = store.add_clip(_write_pair(clips, "c", now - 1000))
    size_mb = max(x.size_bytes for x in (a, b, c, current)) / 2**20
    cfg = RetentionConfig(quota_mb=size_mb * 3.5, max_age_days=30, min_free_mb=0)
    report = apply_retention(store, clips, cfg, now_s=now, protect_run_ids={run.id})
    # "old" is past max age; then over quota (4 left > 3.5): the oldest unprotected ("a") goes,
    # never "current", although it is older still.
    assert report.deleted == ("old", "a")
    assert [x.name for x in store.clips()] == ["current", "b", "c"]
    assert not (clips / old.video_file).exists() and not (clips / a.sidecar_file).exists()
    # Even a tiny quota never deletes the current run's clip.
    report = apply_retention(store, clips, RetentionConfig(quota_mb=1e-6, min_free_mb=0), now_s=now,
                             protect_run_ids={run.id})
    assert report.deleted == ("b", "c") and report.kept_protected == 1
    assert [x.name for x in store.clips()] == ["current"]
    space = disk_space(clips, store, cfg)
    assert space.clips == 1 and space.clips_mb == pytest.approx(current.size_bytes / 2**20)
    assert 0 < space.free_mb <= space.total_mb and not space.low


def test_retention_keeps_min_free_space(state) -> None:
    store, clips, _ = state
    store.add_clip(_write_pair(clips, "x", 1.0))
    store.add_clip(_write_pair(clips, "y", 2.0))
    huge = RetentionConfig(min_free_mb=1e9)  # more than any disk: everything unprotected goes
    assert apply_retention(store, clips, huge).deleted == ("x", "y")


@pytest.mark.parametrize("bad", [
    {"pre_roll_s": -1}, {"post_roll_s": float("nan")}, {"max_clip_s": float("inf")}, {"gop_s": 0},
    {"crf": 99}, {"crf": 1.5}, {"max_width_px": 8}, {"enabled": "yes"}, {"resume_free_mb": -3},
    {"pre_roll_s": True}, {"pre_roll": 3.0},
])
def test_recorder_config_rejects_bad_values(bad: dict) -> None:
    with pytest.raises(ConfigError):
        config_from_dict({"recording": bad})


@pytest.mark.parametrize("bad", [
    {"quota_mb": 0}, {"quota_mb": -5}, {"max_age_days": float("nan")}, {"min_free_mb": -1},
    {"quota_mb": "big"}, {"quota": 10},
])
def test_retention_config_rejects_bad_values(bad: dict) -> None:
    with pytest.raises(ConfigError):
        config_from_dict({"retention": bad})


def _golden_poses(name: str = "demo") -> list[PoseFrame]:
    """MediaPipe's keypoints of a real clip (tests/data/golden), as PoseFrames at 30 fps."""
    doc = json.loads((Path(__file__).parent / "data" / "golden" / f"{name}_mediapipe.json").read_text())
    out = []
    for i, fr in enumerate(doc["frames"]):
        lms = None
        if fr is not None:
            a = np.asarray(fr, np.float32)
            lms = np.zeros((N_LANDMARKS, 5), np.float32)
            lms[:, :2], lms[:, 3], lms[:, 4] = a[:, :2], a[:, 2], a[:, 2]
        out.append(PoseFrame(i, i / 30, doc["width_px"], doc["height_px"], lms, 0.9 if lms is not None else 0.0))
    return out


def test_run_logger_turns_analysis_into_runs_strides_and_a_clip(state, demo_frames: list[Frame]) -> None:
    """Real analysis of the demo clip's keypoints drives the store and the recorder (the live wiring)."""
    from appliance.analysis.analyzer import StreamingAnalyzer
    from appliance.recording.runs import RunLogger

    store, clips, session_id = state
    poses = _golden_poses()
    rec = Recorder(clips, RecorderConfig(pre_roll_s=1.0, post_roll_s=0.5, gop_s=0.5, max_width_px=320), store,
                   session_id, fps=30)
    logger = RunLogger(store, session_id, rec, idle_end_s=1.0)
    analyzer = StreamingAnalyzer()
    n_strides = 0
    for frame, pose in zip(demo_frames, poses, strict=True):
        rec(frame, pose)
        update = analyzer.push(pose)
        n_strides += len(update.strides)
        logger.on_update(frame.t_s, update)
    logger.end()
    rec.close()
    assert n_strides > 0, "the demo's keypoints must give strides for this test to mean anything"
    runs = store.runs(session_id)
    assert len(runs) == logger.runs_started >= 1
    stored = [s for r in runs for s in store.strides(r.id or 0)]
    assert len(stored) == n_strides
    assert all(s.verdict in ("go", "no_go", "unsure") for s in stored)
    assert store.events(session_id), "gait events of the runs are stored"
    clips_rows = store.clips()
    assert clips_rows and {c.run_id for c in clips_rows} <= {r.id for r in runs}
    first = clips_rows[0]
    # The pre-roll shows the runner before the run: the run starts at the walker's first contact
    # (3.67 s), named only when that stride is decided, and the clip still starts 1 s before it, on
    # a keyframe (2.5 s). This loop feeds frames faster than real time, so the encoder may drop one
    # and start a GOP later (3.0 s, seen 1 run in 6): at least pre-roll − one GOP before the run.
    assert first.start_t_s <= runs[0].start_t_s - (1.0 - 0.5) + 1e-6, (first.start_t_s, runs[0].start_t_s)
    side = json.loads((clips / first.sidecar_file).read_text())
    assert any(e["kind"] == "stride" for e in side["events"])


def test_keyframes_follow_capture_time_when_frames_are_dropped() -> None:
    from appliance.recording.h264 import SoftwareH264Encoder

    enc = SoftwareH264Encoder(64, 48, fps=30, gop_s=1.0)
    keys = []
    for i in range(0, 300, 3):  # a 30 fps camera, but only every third frame gets through
        keys += [round(p.t_s, 2) for p in enc.encode(Frame(i, i / 30, np.full((48, 64, 3), i % 255, np.uint8)))
                 if p.keyframe]
    enc.close()
    assert keys == [float(s) for s in range(10)]  # one per second, not one per 30 frames (3 s)


class _GatedEncoder:
    """Real libx264, but frame ``gate_index`` waits for ``release``: an encoder that fell behind."""

    def __init__(self, frame: Frame, gate_index: int) -> None:
        from appliance.recording.h264 import SoftwareH264Encoder

        self._enc = SoftwareH264Encoder(frame.width_px, frame.height_px, 30.0, gop_s=0.5)
        self.format = self._enc.format
        self.gate_index = gate_index
        self.entered = threading.Event()
        self.release = threading.Event()

    def encode(self, frame: Frame) -> list[EncodedPacket]:
        if frame.index == self.gate_index:
            self.entered.set()
            assert self.release.wait(60), "test gate never released"
        return self._enc.encode(frame)

    def close(self) -> None:
        self._enc.close()


def test_live_recorder_drops_frames_when_the_encoder_is_behind_and_says_so(
        state, caplog: pytest.LogCaptureFixture) -> None:
    """Live, the pose loop never waits for the encoder: a full queue leaves frames out of the
    recording, counted in the status, logged, and in the sidecar of the clip they belong to."""
    store, clips, session_id = state
    encoders: list[_GatedEncoder] = []

    def factory(frame: Frame) -> _GatedEncoder:
        encoders.append(_GatedEncoder(frame, gate_index=30))
        return encoders[-1]

    cfg = RecorderConfig(pre_roll_s=1.0, post_roll_s=0.5, gop_s=0.5, encode_queue_frames=8)
    rec = Recorder(clips, cfg, store, session_id, fps=30, encoder_factory=factory, live=True)
    frames = [Frame(i, i / 30, np.full((48, 64, 3), (i * 7) % 255, np.uint8)) for i in range(90)]

    def feed_one(f: Frame) -> None:  # one frame at a time: no drops but the ones the gate causes
        rec(f)
        assert rec.wait_idle()

    for f in frames[:30]:
        feed_one(f)
    rec(frames[30])
    assert encoders[0].entered.wait(60)  # the encoder is now stuck on frame 30
    done = threading.Event()

    def pose_loop() -> None:  # must run through without waiting for the stuck encoder
        for f in frames[31:51]:
            rec(f, _pose(f))
        done.set()

    t = threading.Thread(target=pose_loop)
    with caplog.at_level("WARNING", logger="appliance.recording.recorder"):
        t.start()
        finished = done.wait(60)
        encoders[0].release.set()
        t.join()
    assert finished, "the pose loop waited for the encoder"
    # 31..38 fill the queue (8 frames); 39..50 find it full and are left out of the recording.
    assert rec.status.frames_dropped == 12
    assert any("encoder is behind" in r.getMessage() for r in caplog.records)
    assert rec.wait_idle()
    name = rec.trigger("initiation", frames[45].t_s)  # t = 1.5 s: pre-roll from the keyframe at 0.5 s
    for f in frames[51:55]:
        feed_one(f)
    rec.end(frames[54].t_s)  # closes at 1.8 + 0.5 = 2.3 s
    for f in frames[55:]:
        feed_one(f)
    assert rec.wait_idle()
    rec.close()
    (clip,) = store.clips()
    assert clip.name == name and clip.start_t_s == pytest.approx(0.5) and clip.end_t_s == pytest.approx(2.3)
    expected = round((2.3 - 0.5) * 30) + 1 - 12
    assert clip.frames == expected == _decode(clips / clip.video_file)[0]
    side = json.loads((clips / clip.sidecar_file).read_text())
    assert side["recording"] == {"frames_dropped": 12, "max_fps": 30.0, "encoder": "libx264"}
    # The keypoints of frames left out of the video are still in the sidecar (the pose ran on them).
    assert {round(k["t_s"] * 30) for k in side["keypoints"]} >= set(range(39, 51))


def test_max_fps_thins_a_faster_source(state) -> None:
    store, clips, session_id = state
    rec = Recorder(clips, RecorderConfig(pre_roll_s=0.5, post_roll_s=0.2, gop_s=0.5, max_fps=30.0), store,
                   session_id, fps=60)
    for i in range(120):  # a 60 fps camera, 2 s
        rec(Frame(i, i / 60, np.full((48, 64, 3), (i * 3) % 255, np.uint8)))
        if i == 60:
            rec.trigger("t", i / 60)
        if i == 90:
            rec.end(i / 60)
    rec.close()
    assert rec.status.frames_thinned == 60 and rec.status.frames_dropped == 0
    (clip,) = store.clips()
    n, times = _decode(clips / clip.video_file)
    assert n == clip.frames and np.allclose(np.diff(times), 1 / 30, atol=1e-3)  # every other frame


def test_a_trigger_after_the_end_starts_a_new_clip_while_the_encoder_lags(state) -> None:
    """The pose loop is ahead of the encoder thread: a trigger after the open clip's end (in capture
    time) is a new clip, as it was when encoding ran in the pose loop — not an extension."""
    store, clips, session_id = state
    encoders: list[_GatedEncoder] = []

    def factory(frame: Frame) -> _GatedEncoder:
        encoders.append(_GatedEncoder(frame, gate_index=41))
        return encoders[-1]

    rec = Recorder(clips, RecorderConfig(pre_roll_s=0.5, post_roll_s=0.2, gop_s=0.5), store, session_id, fps=30,
                   encoder_factory=factory)
    frames = [Frame(i, i / 30, np.full((48, 64, 3), (i * 7) % 255, np.uint8)) for i in range(90)]
    for f in frames[:41]:
        rec(f)
        if f.index == 35:
            first = rec.trigger("a", f.t_s)
        if f.index == 39:
            rec.end(f.t_s)  # the clip ends at 1.3 + 0.2 = 1.5 s (frame 45)
    assert rec.wait_idle()
    rec(frames[41])
    assert encoders[0].entered.wait(60)  # the encoder is stuck on frame 41 (1.37 s)
    for f in frames[42:49]:
        rec(f)  # queued (7 of 8 places)
    second = rec.trigger("b", frames[48].t_s)  # 1.6 s: after the first clip's end
    assert second is not None and second != first
    assert rec.status.clip_name == first  # still being written
    encoders[0].release.set()
    for f in frames[49:]:
        rec(f)
        if f.index == 60:
            rec.end(f.t_s)
    rec.close()
    a, b = store.clips()
    assert (a.name, b.name) == (first, second)
    assert a.end_t_s == pytest.approx(1.5) and b.start_t_s == pytest.approx(1.0)  # keyframe ≤ 1.6 − 0.5
    assert b.end_t_s == pytest.approx(2.2)
    for c in (a, b):
        assert _decode(clips / c.video_file)[0] == c.frames
