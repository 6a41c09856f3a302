"""Uploads through Flask's test client: accepted, too large, corrupt, not a video, analysis errors.

Every rejected upload must leave nothing behind in the recordings dir.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import av
import cv2
import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.sources.video_file import VideoFileSource
from appliance.store import Store
from appliance.web import create_app
from appliance.web.uploads import analyze_into_store


def make_short_clip(src: Path, dst: Path, frames: int, width_px: int = 640, fmt: str = "mp4",
                    codec: str = "libx264") -> Path:
    """The first ``frames`` frames of ``src`` scaled to ``width_px`` (a small test video)."""
    with VideoFileSource(src) as source, av.open(str(dst), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=round(source.info.fps))
        h = round(source.info.height_px * width_px / source.info.width_px) // 2 * 2
        stream.width, stream.height, stream.pix_fmt = width_px, h, "yuv420p"
        for i, f in enumerate(source.frames()):
            if i >= frames:
                break
            rgb = cv2.resize(f.rgb, (width_px, h), interpolation=cv2.INTER_AREA)
            for p in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(p)
        for p in stream.encode():
            out.mux(p)
    return dst


class FakeAnalyzer:
    """Stands in for pose + analysis: records the call, reports progress, returns run 7."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def __call__(self, video_path: Path, **kw: Any) -> int:
        self.calls.append({"path": video_path, "exists": video_path.is_file(), **kw})
        kw["progress"](5, 10)
        if self.fail is not None:
            raise self.fail
        return 7


@pytest.fixture
def analyzer() -> FakeAnalyzer:
    return FakeAnalyzer()


@pytest.fixture
def app(tmp_path: Path, analyzer: FakeAnalyzer) -> Flask:
    return create_app(state_dir=tmp_path / "state", analyze_upload=analyzer, max_upload_bytes=8 * 1024 * 1024)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory, demo_clip: Path) -> Path:
    return make_short_clip(demo_clip, tmp_path_factory.mktemp("clip") / "short.mp4", frames=20)


def _token(client: FlaskClient) -> str:
    html = client.get("/upload/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _post(client: FlaskClient, body: bytes, name: str = "run.mp4", query: str = "") -> Any:
    return client.post("/upload/" + query, data=body, headers={"X-CSRFToken": _token(client), "X-Filename": name,
                                                               "Content-Type": "application/octet-stream"})


def _wait(client: FlaskClient, url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        job = client.get(url).get_json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("upload job did not finish")


def _leftovers(app: Flask) -> list[Path]:
    rec = app.extensions["leancam"].recordings_dir
    return [p for p in rec.rglob("*") if p.is_file()] if rec.exists() else []


def test_upload_page_has_progress_bar_and_limit(client: FlaskClient) -> None:
    html = client.get("/upload/").get_data(as_text=True)
    assert "<progress" in html and 'data-limit="8388608"' in html and "8 MB" in html


def test_upload_accepted_analysed_and_linked_to_replay(client: FlaskClient, app: Flask, analyzer: FakeAnalyzer,
                                                       short_clip: Path) -> None:
    resp = _post(client, short_clip.read_bytes(), "My Run.mp4", "?capture_fps=240")
    assert resp.status_code == 202, resp.get_json()
    job = _wait(client, resp.get_json()["status_url"])
    assert job["state"] == "done" and job["run_id"] == 7 and job["run_url"] == "/replay/run/7"
    call = analyzer.calls[0]
    assert call["exists"] and call["original_name"] == "My Run.mp4" and call["capture_fps"] == 240.0
    assert _leftovers(app) == []  # the fake analyser kept nothing, and the upload's part file is gone


def test_multipart_upload_works_too(client: FlaskClient, short_clip: Path) -> None:
    with short_clip.open("rb") as fh:
        resp = client.post("/upload/", data={"video": (fh, "clip.mp4"), "csrf_token": _token(client)},
                           content_type="multipart/form-data")
    assert resp.status_code == 202
    assert _wait(client, resp.get_json()["status_url"])["state"] == "done"


def test_oversized_upload_refused_clearly(client: FlaskClient, app: Flask) -> None:
    resp = _post(client, b"\0" * (8 * 1024 * 1024 + 1))
    assert resp.status_code == 413
    assert "larger than this unit's 8 MB upload limit" in resp.get_json()["error"]
    assert _leftovers(app) == []


def test_not_a_video_refused(client: FlaskClient, app: Flask, analyzer: FakeAnalyzer) -> None:
    resp = _post(client, b"hello, I am a text file\n" * 100, "notes.txt")
    assert resp.status_code == 400
    assert resp.get_json()["error"].startswith("notes.txt is not a video this unit can read")
    assert analyzer.calls == [] and _leftovers(app) == []


def test_corrupt_video_refused(client: FlaskClient, app: Flask, short_clip: Path) -> None:
    data = short_clip.read_bytes()
    resp = _post(client, data[:2000], "cut.mp4")  # header only, no frames
    assert resp.status_code == 400 and "not a video this unit can read" in resp.get_json()["error"]
    resp = _post(client, data[:64] + bytes(len(data) - 64), "zeros.mp4")  # contents wiped
    assert resp.status_code == 400
    assert _leftovers(app) == []


def test_empty_upload_refused(client: FlaskClient, app: Flask) -> None:
    resp = _post(client, b"", "empty.mp4")
    assert resp.status_code == 400 and "empty" in resp.get_json()["error"]
    assert _leftovers(app) == []


def test_truncated_upload_says_it_ended_early(client: FlaskClient, app: Flask, running_demo: Path) -> None:
    """A phone upload cut off mid-transfer, with its MP4 index at the end: the page says why, naming
    the file once (the message used to repeat it: "cut.mp4 is not a video…: cut.mp4: not a…")."""
    resp = _post(client, running_demo.read_bytes()[:1_000_000], "cut.mp4")
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error.startswith("cut.mp4 is not a video this unit can read: the file ended early: 1000000 of the ")
    assert error.count("cut.mp4") == 1 and ".part" not in error
    assert _leftovers(app) == []


def test_upload_needs_csrf_token(client: FlaskClient, short_clip: Path) -> None:
    resp = client.post("/upload/", data=short_clip.read_bytes(), headers={"Content-Type": "application/octet-stream"})
    assert resp.status_code == 400


def test_bad_capture_fps(client: FlaskClient, short_clip: Path) -> None:
    assert _post(client, short_clip.read_bytes(), query="?capture_fps=fast").status_code == 400


def test_analysis_failure_reported_and_cleaned(tmp_path: Path, short_clip: Path) -> None:
    app = create_app(state_dir=tmp_path, analyze_upload=FakeAnalyzer(RuntimeError("model exploded")))
    client = app.test_client()
    job = _wait(client, _post(client, short_clip.read_bytes()).get_json()["status_url"])
    assert job["state"] == "failed" and "model exploded" in job["message"]
    assert _leftovers(app) == []
    assert client.get("/upload/jobs/nope").status_code == 404


def test_real_analysis_transcodes_and_fills_store(tmp_path: Path, demo_clip: Path) -> None:
    """The real pose + analysis path on a short MKV (not MP4: re-encoded to H.264 MP4)."""
    mkv = make_short_clip(demo_clip, tmp_path / "phone.mkv", frames=24, width_px=480, fmt="matroska",
                          codec="mpeg4")
    rec = tmp_path / "clips"
    (rec / ".uploads").mkdir(parents=True)
    part = rec / ".uploads" / "abc.part"
    part.write_bytes(mkv.read_bytes())
    seen: list[tuple[int, int | None]] = []
    run_id = analyze_into_store(part, recordings_dir=rec, db_path=tmp_path / "leancam.db", config_path=None,
                                original_name="phone.mkv", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == 24
    videos = list(rec.glob("upload-*.mp4"))
    assert len(videos) == 1 and videos[0].with_suffix(".json").is_file()
    with av.open(str(videos[0])) as c:
        assert c.streams.video[0].codec_context.name == "h264"
    with Store.open(tmp_path / "leancam.db", readonly=True) as store:
        (run,) = store.runs()
        assert run.id == run_id and run.trigger == "upload"
        (clip,) = store.clips()
        assert clip.run_id == run_id and clip.frames == 24 and clip.video_file == videos[0].name
        assert "upload: phone.mkv" in store.sessions()[0].source
