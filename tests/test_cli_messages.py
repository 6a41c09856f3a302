"""What a newcomer reads when an input is wrong: one line that names the real cause, and the
README's exit codes (2 bad input or config, 3 model, 4 output).

A truncated copy is made the way it happens in practice, with ``head -c`` (an interrupted copy):
the Sports2D clip has its MP4 index at the front, so its first frames still decode; the running
demo has it at the end, so nothing can be read at all. Both must say the file ended early.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from appliance.cli import main

SPORTS2D_FRAMES = 230  # what demo.mp4's container declares


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def leancam_lines(err: str) -> list[str]:
    """The CLI's own lines on stderr (``leancam: error: …`` / ``leancam: warning: …``), not log lines."""
    return [ln for ln in err.splitlines() if ln.startswith("leancam:")]


def head_c(src: Path, dst: Path, n_bytes: int) -> Path:
    subprocess.run(["head", "-c", str(n_bytes), str(src)], stdout=dst.open("wb"), check=True)
    return dst


def test_analyze_truncated_file_says_it_ended_early(demo_clip: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    cut = head_c(demo_clip, tmp_path / "cut.mp4", 600_000)  # ~35 of 230 frames' worth of data
    code, out, err = run(capsys, "analyze", str(cut), "--json")
    assert code == 0, err  # the frames before the cut are analysed …
    import json

    frames = json.loads(out)["video"]["frames"]
    assert 0 < frames < SPORTS2D_FRAMES
    # … and the user is told, with frames read against frames declared, on one line.
    (line,) = leancam_lines(err)
    assert line.startswith("leancam: warning: ") and "ended early" in line
    assert f"{frames} frames read of the {SPORTS2D_FRAMES} the container declares" in line


def test_analyze_truncated_before_the_index_says_it_ended_early(running_demo: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    cut = head_c(running_demo, tmp_path / "cut_run.mp4", 1_000_000)  # its 'moov' index is at the end
    code, _, err = run(capsys, "analyze", str(cut))
    assert code == 2
    (line,) = leancam_lines(err)
    assert "ended early" in line and "1000000 of the" in line and "moov" in line, line


def test_analyze_directory_says_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    code, _, err = run(capsys, "analyze", str(folder))
    assert code == 2
    (line,) = leancam_lines(err)
    assert line == f"leancam: error: {folder}: is a directory, not a video file"


def test_analyze_missing_file_still_says_no_such_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "analyze", str(tmp_path / "missing.mp4"))
    assert code == 2 and leancam_lines(err) == [f"leancam: error: {tmp_path / 'missing.mp4'}: no such video file"]


def test_every_command_says_directory(tmp_path: Path, demo_clip: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each command given a folder where it needs a file: exit 2 and "is a directory", before any
    slow work (no model run, no traceback, never the output-error exit code 4)."""
    folder = tmp_path / "a_folder"
    folder.mkdir()
    labels = tmp_path / "labels.csv"
    labels.write_text("frame,event,foot\n10,contact,left\n")
    cases = {
        "pose": ["pose", str(folder), "--no-progress"],
        "eval video": ["eval", str(folder), str(labels)],
        "analyze keypoints": ["analyze", str(demo_clip), "--keypoints", str(folder)],
        "run file:": ["run", "--source", f"file:{folder}", "--no-realtime", "--no-web", "--max-frames", "1"],
        "bench pose": ["bench", "pose", str(folder), "--mediapipe-python", "none", "--frames", "2"],
        "config --check": ["config", "--check", str(folder)],
    }
    for what, argv in cases.items():
        code, _, err = run(capsys, *argv)
        lines = leancam_lines(err)
        assert code == 2, (what, code, err)
        assert len(lines) == 1 and f"{folder}: is a directory" in lines[0], (what, err)
    # `leancam eval` takes folders of clips (a set to pool): a folder after a video is one more
    # input, and an empty one says so.
    code, _, err = run(capsys, "eval", str(demo_clip), str(folder))
    lines = leancam_lines(err)
    assert code == 2 and len(lines) == 1 and f"{folder}: no video files in this folder" in lines[0], err


def test_outputs_that_are_directories_are_refused_up_front(tmp_path: Path, demo_clip: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for argv in (["pose", str(demo_clip), "--out", str(folder), "--no-progress"],
                 ["pose", str(demo_clip), "--annotate", str(folder), "--no-progress"],
                 ["analyze", str(demo_clip), "--annotate", str(folder)]):
        code, _, err = run(capsys, *argv)
        lines = leancam_lines(err)
        assert code == 2 and len(lines) == 1 and f"{folder}: is a directory; give a file name" in lines[0], err


def test_unknown_demo_names_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "run", "--source", "demo:jump", "--no-web", "--max-frames", "1")
    assert code == 2
    assert leancam_lines(err) == ["leancam: error: unknown demo 'jump': use demo (the running demo) or demo:walk"]


def test_web_state_dir_that_is_a_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_dir = tmp_path / "state"
    not_a_dir.write_text("")
    code, _, err = run(capsys, "web", "--state-dir", str(not_a_dir), "--port", "0")
    assert code == 2  # a wrong argument, not an output error (it was "…/web_secret_key: Not a directory", 4)
    (line,) = leancam_lines(err)
    assert f"{not_a_dir}: is a file, not a directory" in line
