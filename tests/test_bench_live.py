"""``leancam bench live``: one run, recording off and on alternated, on a short real clip.

Checks the report's shape and that each mode did what it says (recording on offered frames to the
recorder and wrote clips into a throwaway state dir; off did not). No figure is asserted: they
depend on the machine's load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from appliance.bench import live as bench_live
from appliance.recording.h264 import Mp4Writer
from appliance.sources.replay import ReplaySource


@pytest.fixture(scope="module")
def short_clip(demo_clip: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clip") / "short.mp4"
    with ReplaySource(demo_clip, realtime=False) as src:
        w = None
        for f in src.frames():
            if w is None:
                w = Mp4Writer(out, src.info.fps, f.width_px, f.height_px)
            w.write(f.rgb)
            if f.index == 44:
                break
        assert w is not None
        w.close()
    return out


def test_bench_live_alternates_and_reports_ratios(short_clip: Path, capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEANCAM_STATE_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("LEANCAM_POSE_NUM_THREADS", "1")
    parser_args = type("A", (), {"clip": short_clip, "rounds": 1, "no_latency": False, "threads": 1,
                                 "json": True})()
    assert bench_live.run(parser_args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["order"] == ["off", "on"]
    assert {r["recording"] for r in result["runs"]} == {False, True}
    assert {r["realtime"] for r in result["runs"]} == {False, True}
    off, on = result["off"], result["on"]
    assert off["recording_frames_offered"] == 0 and off["clips_written"] == 0
    assert on["recording_frames_offered"] > 0
    for key in ("fps_ratio_on_off", "capture_to_led_p95_ratio_on_off", "cpu_per_frame_ratio_on_off"):
        assert key in result
    assert on["fps"] > 0 and off["fps"] > 0 and off["capture_to_led_ms_p95"] is not None
    # The bench's clips went to a throwaway dir, not the unit's state dir, which is restored.
    assert os.environ["LEANCAM_STATE_DIR"] == str(tmp_path / "mine")
    assert not (tmp_path / "mine").exists()
