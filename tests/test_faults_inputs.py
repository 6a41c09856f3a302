"""Bad inputs: broken and non-video files to ``VideoFileSource`` and the CLI, fuzzed parsers.

Every bad file must give one clear line (``leancam: error: …``), exit code 2 and no traceback,
and must not touch anything else (no output files appear). The parsers (keypoints JSONL, clip
sidecars, recording/retention config tables) are fuzzed with hypothesis: they either accept the
input or raise their documented error, nothing else.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.config import config_from_dict
from appliance.errors import BadInputError, ConfigError
from appliance.pose import keypoints_io
from appliance.recording.clip import clip_from_sidecar, recover
from appliance.sources.video_file import VideoFileSource
from appliance.store import Store

ROOT = Path(__file__).resolve().parent.parent
LEANCAM = ROOT / ".venv" / "bin" / "leancam"


def _audio_only(path: Path) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("pcm_s16le", rate=16000)
        s.layout = "mono"
        t = np.arange(16000) / 16000
        samples = (np.sin(2 * np.pi * 440 * t) * 10000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 16000
        frame.time_base = Fraction(1, 16000)
        frame.pts = 0
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)


def _eight_k(path: Path) -> None:
    """One 7680×4320 H.264 frame: a real 8K file, refused before any frame is decoded."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=1, options={"preset": "ultrafast"})
        s.width, s.height = 7680, 4320
        frame = av.VideoFrame.from_ndarray(np.zeros((4320, 7680, 3), np.uint8), format="rgb24")
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, demo_clip: Path) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad_inputs")
    files = {
        "zero_byte": d / "zero.mp4",
        "truncated_header": d / "truncated_header.mp4",
        "wrong_container": d / "zip_named.mp4",
        "audio_only": d / "audio.wav",
        "huge_8k": d / "eight_k.mp4",
        "text_file": d / "notes.mp4",
        "random_bytes": d / "random.mov",
        "directory": d / "a_directory.mp4",
        "missing": d / "does_not_exist.mp4",
    }
    files["zero_byte"].write_bytes(b"")
    files["truncated_header"].write_bytes(demo_clip.read_bytes()[:20])  # cut inside the ftyp box
    import zipfile
    with zipfile.ZipFile(files["wrong_container"], "w") as z:
        z.writestr("video.txt", "not a video")
    _audio_only(files["audio_only"])
    _eight_k(files["huge_8k"])
    files["text_file"].write_text("this is not a video\n" * 100)
    files["random_bytes"].write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    files["directory"].mkdir()
    return files


CASES = ["zero_byte", "truncated_header", "wrong_container", "audio_only", "huge_8k", "text_file",
         "random_bytes", "directory", "missing"]


@pytest.mark.parametrize("case", CASES)
def test_video_file_source_refuses_bad_files(bad_files: dict[str, Path], case: str) -> None:
    with pytest.raises(BadInputError) as info, VideoFileSource(bad_files[case]) as src:
        for _ in src.frames():
            pass
    assert "\n" not in str(info.value) and str(info.value)


def test_truncated_body_keeps_the_frames_before_the_damage(tmp_path: Path, demo_clip: Path) -> None:
    """Cut in the middle of the media data: the index (moov is at the front) still opens; frames
    up to the cut decode, then a warning, not an exception."""
    data = demo_clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with VideoFileSource(cut) as src:
        n = sum(1 for _ in src.frames())
    assert 0 < n < 230


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LEANCAM), *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def _error_lines(stderr: str) -> list[str]:
    """stderr without log lines and the TFLite runtime's own "INFO: Created … delegate" notice."""
    return [ln for ln in stderr.splitlines()
            if ln.strip() and not ln.startswith("INFO:") and " WARNING " not in ln and " INFO " not in ln]


# Each CLI run loads the pose model (seconds on a shared machine): one file per kind of damage.
CLI_CASES = ["zero_byte", "truncated_header", "wrong_container", "audio_only", "huge_8k", "random_bytes"]


@pytest.mark.parametrize("case", CLI_CASES)
def test_leancam_pose_on_bad_files_is_one_line_exit_2(bad_files: dict[str, Path], case: str, tmp_path: Path) -> None:
    if not LEANCAM.exists():
        pytest.skip(f"{LEANCAM} not installed (run ./setup.sh)")
    out = tmp_path / "out"
    out.mkdir()
    res = _cli("pose", str(bad_files[case]), "--out", str(out / "kp.jsonl"), "--annotate", str(out / "a.mp4"),
               "--no-progress", cwd=tmp_path)
    if "model" in res.stderr.lower() and res.returncode == 3:
        pytest.skip(f"pose models not fetched: {res.stderr.strip()}")
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    lines = _error_lines(res.stderr)
    assert len(lines) == 1 and lines[0].startswith("leancam: error: "), res.stderr
    assert not any(out.iterdir()), "nothing may be written for a bad input"


@pytest.mark.parametrize("case", ["zero_byte", "audio_only"])
def test_leancam_analyze_on_bad_files_is_one_line_exit_2(bad_files: dict[str, Path], case: str,
                                                         tmp_path: Path) -> None:
    if not LEANCAM.exists():
        pytest.skip(f"{LEANCAM} not installed (run ./setup.sh)")
    res = _cli("analyze", str(bad_files[case]), "--json", cwd=tmp_path)
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr and res.stdout == ""
    lines = _error_lines(res.stderr)
    assert len(lines) == 1 and lines[0].startswith("leancam: error: "), res.stderr


# -- fuzzed parsers ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
frame_like = st.fixed_dictionaries({}, optional={
    "i": json_values, "t_s": json_values, "w": json_values, "h": json_values, "score": json_values,
    "landmarks": json_values | st.lists(st.lists(st.floats(allow_nan=False), min_size=5, max_size=5),
                                        min_size=33, max_size=33)})
line = st.one_of(frame_like.map(json.dumps), json_values.map(json.dumps), st.text(max_size=40))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.one_of(json_values.map(json.dumps), st.just('{"kind": "leancam-keypoints", "schema": 1}')),
       lines=st.lists(line, max_size=5))
def test_fuzz_keypoints_reader(tmp_path: Path, header: str, lines: list[str]) -> None:
    path = tmp_path / "kp.jsonl"
    path.write_text("\n".join([header, *lines]) + "\n")
    try:
        _, frames = keypoints_io.read(path)
        for frame in frames:
            assert frame.landmarks is None or frame.landmarks.shape == (33, 5)
    except BadInputError as err:
        assert "\n" not in str(err)


def test_keypoints_reader_round_trip(tmp_path: Path) -> None:
    """The well-formed side of the fuzz: what ``write`` writes, ``read`` reads back."""
    from appliance.pose.types import PoseFrame

    lms = np.arange(33 * 5, dtype=np.float32).reshape(33, 5) / 100
    frames = [PoseFrame(0, 0.0, 64, 48, lms, 0.9), PoseFrame(1, 1 / 30, 64, 48, None, 0.0)]
    path = tmp_path / "kp.jsonl"
    with path.open("w") as fh:
        keypoints_io.write(fh, frames, {"video": {"fps": 30}})
    header, got = keypoints_io.read(path)
    got = list(got)
    assert header["video"] == {"fps": 30} and len(got) == 2 and got[1].landmarks is None
    assert np.allclose(got[0].landmarks, lms, atol=0.01)


config_values = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(), st.text(max_size=6),
                          st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(table=st.dictionaries(st.sampled_from(["pre_roll_s", "post_roll_s", "max_clip_s", "gop_s", "max_width_px",
                                              "crf", "enabled", "resume_free_mb", "unknown_key"]),
                             config_values, max_size=5))
def test_fuzz_recording_config(table: dict) -> None:
    try:
        cfg = config_from_dict({"recording": table}).recording
    except ConfigError as err:
        assert "\n" not in str(err) and "recording" in str(err)
        return
    for name in ("pre_roll_s", "post_roll_s", "max_clip_s", "gop_s", "resume_free_mb"):
        value = getattr(cfg, name)
        assert math.isfinite(value) and value >= 0


@settings(max_examples=300, deadline=None)
@given(table=st.dictionaries(st.sampled_from(["quota_mb", "max_age_days", "min_free_mb", "quota"]), config_values,
                             max_size=4))
def test_fuzz_retention_config(table: dict) -> None:
    try:
        cfg = config_from_dict({"retention": table}).retention
    except ConfigError as err:
        assert "\n" not in str(err) and "retention" in str(err)
        return
    assert cfg.quota_mb > 0 and cfg.max_age_days > 0 and cfg.min_free_mb >= 0
    assert all(math.isfinite(v) for v in (cfg.quota_mb, cfg.max_age_days, cfg.min_free_mb))


@pytest.fixture(scope="module")
def tiny_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "tiny.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height = 32, 32
        for p in s.encode(av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), np.uint8), format="rgb24")):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


sidecar_clip = st.fixed_dictionaries({}, optional={
    k: json_values for k in ("name", "video_file", "sidecar_file", "created_at_s", "start_t_s", "end_t_s",
                             "frames", "width_px", "height_px", "trigger", "run_id", "session_id")})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.one_of(json_values, st.fixed_dictionaries({"kind": st.just("leancam-clip"), "clip": sidecar_clip})),
       raw=st.none() | st.binary(max_size=30))
def test_fuzz_sidecar_parser_and_recovery(tmp_path: Path, tiny_mp4: Path, doc: object, raw: bytes | None) -> None:
    """A garbage sidecar next to an unregistered clip: the parser raises only what recover() handles,
    and recover() never crashes, never registers a clip it cannot describe."""
    clips = tmp_path / "clips"
    shutil.rmtree(clips, ignore_errors=True)
    clips.mkdir()
    shutil.copy(tiny_mp4, clips / "c.mp4")
    (clips / "c.json").write_bytes(raw if raw is not None else json.dumps(doc).encode())
    with contextlib.suppress(ValueError, KeyError, TypeError, OSError):
        clip_from_sidecar(clips / "c.json", clips / "c.mp4")
    db = tmp_path / "fuzz.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with Store.open(db) as store:
        report = recover(clips, store)
        for clip in store.clips():
            assert clip.video_file == "c.mp4" and report.registered == (clip.name,)
    assert (clips / "c.mp4").exists(), "recovery never deletes a video it cannot describe"
