"""Replay through Flask's test client: sessions → runs → strides, frames, markers, exports, path safety."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.store import Clip, Initiation, Run, Session, Store, Stride
from appliance.web import create_app
from appliance.web.frames import ClipFrames


@pytest.fixture
def state(tmp_path: Path, demo_clip: Path) -> Path:
    """A state dir with one session, one run with 3 strides and its clip (a copy of the demo clip)."""
    d = tmp_path / "state"
    clips = d / "clips"
    clips.mkdir(parents=True)
    shutil.copy(demo_clip, clips / "run1.mp4")
    kp = [[[800.0 + i, 300.0 + 10 * j, 0.0, 0.9, 0.9] for j in range(33)] for i in range(3)]
    sidecar = {"kind": "leancam-clip", "clip": {}, "events": [],
               "keypoints": [{"i": i, "t_s": 100.0 + i / 30, "w": 1768, "h": 994, "score": 0.9, "landmarks": kp[i]}
                             for i in range(3)]}
    (clips / "run1.json").write_text(json.dumps(sidecar))
    (tmp_path / "secret.txt").write_text("not a clip")
    with Store.open(d / "leancam.db") as store:
        s = store.add_session(Session(started_at_s=1.7e9, source="file:demo.mp4"))
        r = store.add_run(Run(session_id=s.id, started_at_s=1.7e9, start_t_s=100.0, trigger="initiation",
                              end_t_s=107.0, direction=1, initiation=Initiation(100.5, 12.0, -0.01, "go")))
        for k, (t, verdict, reasons) in enumerate([(101.0, "go", ()), (101.5, "no_go", ("sitting_back",)),
                                                   (102.0, "unsure", ())]):
            store.add_stride(Stride(run_id=r.id, foot="left" if k % 2 == 0 else "right", contact_t_s=t,
                                    midstance_t_s=t + 0.1, toe_off_t_s=t + 0.2, hip_over_foot=-0.2 + 0.1 * k,
                                    lean_deg=8.0 + k, cadence_spm=170.0, verdict=verdict, reasons=reasons))
        store.add_clip(Clip(name="run1", video_file="run1.mp4", sidecar_file="run1.json", created_at_s=1.7e9,
                            start_t_s=100.0, end_t_s=107.7, frames=230, width_px=1768, height_px=994,
                            size_bytes=(clips / "run1.mp4").stat().st_size, run_id=r.id, session_id=s.id))
        store.add_clip(Clip(name="evil", video_file="../secret.txt", sidecar_file="../secret.txt", created_at_s=1.7e9,
                            start_t_s=0.0, end_t_s=1.0, frames=1, width_px=1, height_px=1, size_bytes=1))
    return d


@pytest.fixture
def app(state: Path) -> Flask:
    return create_app(state_dir=state)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_sessions_list_runs(client: FlaskClient) -> None:
    html = client.get("/replay/").get_data(as_text=True)
    assert "Session 1" in html and "/replay/run/1" in html and "file:demo.mp4" in html


def test_empty_state_says_so(tmp_path: Path) -> None:
    html = create_app(state_dir=tmp_path).test_client().get("/replay/").get_data(as_text=True)
    assert "No recordings on this unit yet" in html


def test_run_json_has_markers_on_frames(client: FlaskClient) -> None:
    data = client.get("/replay/run/1.json").get_json()
    assert data["summary"] == {"strides": 3, "go": 1, "no_go": 1, "unsure": 1}
    assert data["strides"][1]["reason_text"] == "hips behind your foot"
    kinds = [m["kind"] for m in data["markers"]]
    assert kinds[0] == "initiation" and kinds.count("contact") == 3 and kinds.count("toe_off") == 3
    # Event at capture time 101.0 = 1.0 s into the clip = frame 30 at 30 fps.
    assert data["strides"][0]["contact_frame"] == 30
    assert data["strides"][0]["toe_off_frame"] == 36
    assert data["markers"][0]["frame"] == 15  # initiation at 100.5
    assert data["clip"]["frames"] == 230 and data["clip"]["has_keypoints"] is True


def test_run_page_and_missing_run(client: FlaskClient) -> None:
    html = client.get("/replay/run/1").get_data(as_text=True)
    assert 'id="slider"' in html and 'max="229"' in html and "Export CSV" in html
    assert client.get("/replay/run/99").status_code == 404
    assert client.get("/replay/run/99.json").status_code == 404


def test_csv_export(client: FlaskClient) -> None:
    resp = client.get("/replay/run/1.csv")
    assert resp.mimetype == "text/csv" and "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))
    assert [r["verdict"] for r in rows] == ["go", "no_go", "unsure"]
    assert rows[1]["reasons"] == "sitting_back" and float(rows[0]["lean_deg"]) == 8.0


def test_frames_json_maps_keypoints_to_frames(client: FlaskClient) -> None:
    data = client.get("/replay/clip/1/frames.json").get_json()
    assert data["frames"] == 230 and len(data["times_s"]) == 230
    assert data["keypoints"][1][0] == [pytest.approx(801 / 1768, abs=1e-4), pytest.approx(300 / 994, abs=1e-4), 0.9]
    assert data["keypoints"][3] is None


def test_frame_jpegs_exact_and_in_range(client: FlaskClient) -> None:
    a = client.get("/replay/clip/1/frame/100.jpg")
    assert a.status_code == 200 and a.data[:2] == b"\xff\xd8"
    assert client.get("/replay/clip/1/frame/101.jpg").data != a.data
    assert client.get("/replay/clip/1/frame/100.jpg").data == a.data  # cached
    assert client.get("/replay/clip/1/frame/230.jpg").status_code == 404


def test_frame_reader_matches_sequential_decode(demo_clip: Path) -> None:
    """Random access returns exactly frame i: it matches decoded frame i better than its neighbours."""
    import cv2
    import numpy as np

    from appliance.sources.video_file import VideoFileSource

    targets = (150, 77, 229, 1)  # out of order: seeks back and forth
    near = {j for i in targets for j in (i - 1, i, i + 1)}
    with VideoFileSource(demo_clip) as src:
        decoded = {i: f.rgb for i, f in enumerate(src.frames()) if i in near}
    frames = ClipFrames(demo_clip, width_px=320)
    for i in targets:
        got = cv2.imdecode(np.frombuffer(frames.jpeg(i), np.uint8), cv2.IMREAD_COLOR)[..., ::-1].astype(int)

        def err(j: int, got: np.ndarray = got) -> float:
            ref = cv2.resize(decoded[j], (got.shape[1], got.shape[0]), interpolation=cv2.INTER_AREA)
            return float(np.abs(got - ref.astype(int)).mean())

        candidates = [j for j in (i - 1, i, i + 1) if j in decoded]
        assert min(candidates, key=err) == i, (i, {j: err(j) for j in candidates})
    frames.close()


def test_download_clip(client: FlaskClient, state: Path) -> None:
    resp = client.get("/replay/clip/1/download")
    assert resp.status_code == 200 and "attachment" in resp.headers["Content-Disposition"]
    assert resp.data == (state / "clips" / "run1.mp4").read_bytes()
    ranged = client.get("/replay/clip/1/download", headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and len(ranged.data) == 10


def test_never_serves_outside_recordings(client: FlaskClient, state: Path, tmp_path: Path) -> None:
    assert client.get("/replay/clip/2/download").status_code == 404  # ../secret.txt in the database
    assert client.get("/replay/clip/2/frame/0.jpg").status_code == 404
    # A symlink inside the recordings dir pointing outside is refused too.
    (state / "clips" / "link.mp4").symlink_to(tmp_path / "secret.txt")
    with Store.open(state / "leancam.db") as store:
        store.add_clip(Clip(name="link", video_file="link.mp4", sidecar_file="link.json", created_at_s=1.7e9,
                            start_t_s=0.0, end_t_s=1.0, frames=1, width_px=1, height_px=1, size_bytes=1))
    assert client.get("/replay/clip/3/download").status_code == 404
    for path in ("/replay/clip/..%2F..%2Fsecret.txt/download", "/static/../../secret.txt"):
        assert client.get(path).status_code == 404
