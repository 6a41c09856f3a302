"""The web shows recording state and free space; a stopped recorder (disk full) is a visible warning."""

from __future__ import annotations

import json
from pathlib import Path

from appliance.live.state import LatestSlot
from appliance.recording.recorder import RecorderStatus
from appliance.web import create_app


def test_live_status_reports_disk_full_and_free_space(tmp_path: Path) -> None:
    status = {"now": RecorderStatus("recording", None, "clip-1", 3, 0)}
    slot = LatestSlot()
    slot.publish(source="file:demo.mp4", t_s=1.0, frame_rgb=None, landmarks=None, verdict=None, fps=30.0,
                 dropped_frames=0, person_in_view=True)
    app = create_app(state_dir=tmp_path, slot=slot, recorder_status=lambda: status["now"])
    client = app.test_client()
    s = json.loads(client.get("/api/live").data)["status"]
    assert s["recording"] == {"state": "recording", "reason": None}
    assert s["disk_free_mb"] > 0
    status["now"] = RecorderStatus("stopped", "disk_full", None, 3, 1)
    s = json.loads(client.get("/api/live").data)["status"]
    assert s["recording"] == {"state": "stopped", "reason": "disk_full"}
    page = client.get("/").get_data(as_text=True)
    assert 'id="recwarn"' in page  # the page has the place the warning is shown in (live.js fills it)


def test_without_recorder_no_recording_field(tmp_path: Path) -> None:
    app = create_app(state_dir=tmp_path, slot=LatestSlot())
    s = json.loads(app.test_client().get("/api/live").data)["status"]
    assert s["recording"] is None and s["disk_free_mb"] > 0


def test_sessions_page_shows_storage(tmp_path: Path) -> None:
    app = create_app(state_dir=tmp_path)
    page = app.test_client().get("/replay/").get_data(as_text=True)
    assert "Storage:" in page and "GB free" in page and "quota" in page
