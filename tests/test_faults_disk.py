"""Disk full and unwritable state dirs, on real (small) filesystems mounted by the test.

Needs root (mount); skipped with the reason otherwise. The disk-full test runs the real pipeline
(``Pipeline`` with the demo clip, the recorder as a sink) on a 3 MB tmpfs holding the whole state
dir: recording must stop with ``disk_full``, every frame must still reach the other sinks, earlier
clips must survive intact, and recording must resume once space is freed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from appliance.bench import pose as bench_pose
from appliance.bench.clip_schedule import ClipSchedule
from appliance.errors import LeanCamError
from appliance.live.pipeline import Pipeline
from appliance.pose.types import PoseFrame
from appliance.recording import Recorder, RecorderConfig
from appliance.recording.retention import RetentionConfig
from appliance.sources.base import Frame
from appliance.sources.replay import ReplaySource
from appliance.store import Store, open_state_dir


def _mount_tmpfs(target: Path, size: str, readonly: bool = False) -> None:
    target.mkdir(parents=True, exist_ok=True)
    opts = f"size={size}" + (",ro" if readonly else "")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(target)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode}); needs root")


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "small"
    _mount_tmpfs(mnt, "3m")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _decodes(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_disk_full_stops_recording_not_the_pipeline(small_fs: Path, demo_clip: Path) -> None:
    store, clips_dir = open_state_dir(small_fs / "state")
    # Big packets (crf 10, 320 px: ~0.4 MB per clip) fill 3 MB within two passes of the 7.7 s demo.
    cfg = RecorderConfig(pre_roll_s=0.5, post_roll_s=0.2, gop_s=0.5, max_width_px=320, crf=10, resume_free_mb=0.3)
    recorder = Recorder(clips_dir, cfg, store, session_id=None, fps=30,
                        retention=RetentionConfig(quota_mb=1000, min_free_mb=0))
    schedule = ClipSchedule(recorder, every_s=1.2, length_s=0.6)
    seen: list[int] = []
    states: list[str] = []

    def feedback(frame: Frame, _pose: PoseFrame) -> None:  # stands in for the LEDs / web slot
        seen.append(frame.index)
        states.append(recorder.status.state)

    def no_pose(frame: Frame) -> PoseFrame:
        return PoseFrame(frame.index, frame.t_s, frame.width_px, frame.height_px, None, 0.0)

    with ReplaySource(demo_clip, realtime=False, loop=True) as source:
        pipeline = Pipeline(source, no_pose, sinks=[recorder, schedule, feedback], queue_size=10_000)
        stats = pipeline.run(max_frames=460)  # two passes of the clip
    recorder.wait_idle()
    status = recorder.status
    assert status.state == "stopped" and status.reason == "disk_full", status
    assert stats.frames_processed == 460 and len(seen) == 460, "feedback must go on after the disk fills"
    assert "stopped" in states
    kept = store.clips()
    assert kept, "some clips must have been written before the disk filled"
    assert store.integrity_check() == "ok"
    for clip in kept:
        assert _decodes(clips_dir / clip.video_file) == clip.frames
    assert not list(clips_dir.glob("*.part")), "the aborted clip's partial file must be removed"

    # Space comes back (the user deletes the two oldest clips): the next trigger resumes recording.
    assert len(kept) >= 3, [c.size_bytes for c in kept]
    for oldest in kept[:2]:
        assert oldest.id is not None
        store.delete_clip(oldest.id)
        (clips_dir / oldest.video_file).unlink()
        (clips_dir / oldest.sidecar_file).unlink()
    with ReplaySource(demo_clip, realtime=False) as source:
        frames = source.frames()
        for frame in frames:
            recorder(frame)
            if frame.index == 30:
                recorder.trigger("after_cleanup", frame.t_s)
            if frame.index == 40:
                recorder.end(frame.t_s)
            if frame.index == 60:
                break
    recorder.close()
    names = [c.name for c in store.clips()]
    assert any("after_cleanup" in n for n in names), (names, recorder.status)
    assert {c.name for c in kept[2:]} <= set(names), "nothing older may be lost"
    store.close()


def test_low_free_space_refuses_to_start_a_clip(tmp_path: Path, small_fs: Path) -> None:
    store, clips_dir = open_state_dir(small_fs / "state")
    recorder = Recorder(clips_dir, RecorderConfig(max_width_px=64), store, fps=30,
                        retention=RetentionConfig(min_free_mb=100))  # more than the 3 MB there are
    import numpy as np
    for i in range(10):
        recorder(Frame(i, i / 30, np.zeros((48, 64, 3), np.uint8)))
    assert recorder.trigger("stride") is None
    assert recorder.status.state == "stopped" and recorder.status.reason == "disk_full"
    recorder.close()
    assert not any(clips_dir.iterdir())
    store.close()


def test_read_only_state_dir_is_a_clear_error(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    _mount_tmpfs(ro, "1m", readonly=True)
    try:
        with pytest.raises(LeanCamError, match=r"not writable|cannot be created") as info:
            open_state_dir(ro / "state")
        assert "\n" not in str(info.value) and "LEANCAM_STATE_DIR" in str(info.value)
        with pytest.raises(LeanCamError, match="not writable"):
            open_state_dir(ro)
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_state_dir_below_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    with pytest.raises(LeanCamError, match="cannot be created"):
        open_state_dir(blocker / "state")
    with pytest.raises(LeanCamError):
        Store.open(blocker / "leancam.db")


def test_disk_full_while_finishing_keeps_the_files_for_recovery(tmp_path: Path) -> None:
    """The recorder's reaction to an error it cannot provoke on demand is still real: the
    database on a full filesystem. Here the store's filesystem is full when a clip is registered."""
    mnt = tmp_path / "dbfs"
    _mount_tmpfs(mnt, "200k")
    try:
        store = Store.open(mnt / "leancam.db")
        filler = mnt / "filler"
        with filler.open("wb", buffering=0) as fh, contextlib.suppress(OSError):  # fill every byte left
            while True:
                fh.write(b"\0" * 4096)
        clips_dir = tmp_path / "clips"
        clips_dir.mkdir()
        import numpy as np
        rec = Recorder(clips_dir, RecorderConfig(max_width_px=64, pre_roll_s=0.2, gop_s=0.2), store, fps=30,
                       retention=RetentionConfig(min_free_mb=0))
        # Enough inserts to outgrow the WAL's preallocated pages.
        for i in range(40):
            rec(Frame(i, i / 30, np.full((48, 64, 3), i * 5 % 255, np.uint8)))
            if i % 8 == 7:
                rec.trigger("t")
            if i % 8 == 3:
                rec.end()
        rec.close()
        mp4s = sorted(p.name for p in clips_dir.glob("*.mp4"))
        registered = {c.video_file for c in store.clips()}
        # Every finished file is either registered or will be by recovery — none is half-written.
        assert not list(clips_dir.glob("*.part"))
        assert set(mp4s) >= registered
        assert rec.status.state == "stopped" and rec.status.reason == "disk_full", rec.status
        assert mp4s and set(mp4s) != registered, "the insert must have failed on the full filesystem"
        filler.unlink()
        from appliance.recording.clip import recover
        report = recover(clips_dir, store)
        assert {c.video_file for c in store.clips()} == set(mp4s), report
        assert store.integrity_check() == "ok"
        store.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


LEANCAM = [sys.executable, "-m", "appliance"]


@pytest.fixture
def full_fs(tmp_path: Path) -> Iterator[Path]:
    """A 150 kB tmpfs holding an earlier output of each name: too small for any new output."""
    mnt = tmp_path / "full"
    _mount_tmpfs(mnt, "150k")
    try:
        for name in ("k.jsonl", "a.mp4"):
            (mnt / name).write_text("earlier\n")
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("command", [
    ["pose", "{clip}", "--no-progress", "--out", "{fs}/k.jsonl"],
    ["pose", "{clip}", "--no-progress", "--annotate", "{fs}/a.mp4"],
    ["analyze", "{clip}", "--annotate", "{fs}/a.mp4"],
], ids=["pose-out", "pose-annotate", "analyze-annotate"])
def test_cli_output_on_a_full_disk(full_fs: Path, demo_clip: Path, command: list[str]) -> None:
    """One clear line and exit 4; the earlier file is untouched, no partial file, the analysis printed."""
    args = [a.format(clip=demo_clip, fs=full_fs) for a in command]
    res = subprocess.run([*LEANCAM, *args], capture_output=True, text=True, timeout=300)
    assert res.returncode == 4, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("leancam: error:")]
    assert len(errors) == 1 and "the disk is full" in errors[0], res.stderr
    assert sorted(p.name for p in full_fs.iterdir()) == ["a.mp4", "k.jsonl"]  # no .part left
    assert all((full_fs / n).read_text() == "earlier\n" for n in ("a.mp4", "k.jsonl"))
    if args[0] == "analyze":  # the result comes before the video: the full disk costs only the video
        assert "stride" in res.stdout.lower(), res.stdout


def test_bench_refuses_raw_frames_that_cannot_fit(full_fs: Path, demo_clip: Path) -> None:
    env = {**os.environ, "TMPDIR": str(full_fs)}
    res = subprocess.run([*LEANCAM, "bench", "pose", str(demo_clip), "--mediapipe-python", "none", "--frames", "5"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 4, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    assert "MB needed for the decoded frames" in res.stderr and "set TMPDIR" in res.stderr, res.stderr
    assert f"{full_fs} 0 MB free" in res.stderr
    assert sorted(p.name for p in full_fs.iterdir()) == ["a.mp4", "k.jsonl"]


def test_bench_puts_raw_frames_where_there_is_room(full_fs: Path, tmp_path: Path) -> None:
    """A RAM-disk /tmp (a Pi's, often) is skipped for the next candidate with room; none: one error."""
    roomy = tmp_path / "roomy"
    assert bench_pose.choose_raw_dir(10_000_000, [full_fs, roomy]) == roomy
    with pytest.raises(LeanCamError, match=r"100000 MB needed .* 0 MB free; .* MB free; the bench keeps"):
        bench_pose.choose_raw_dir(100_000_000_000, [full_fs, roomy])
