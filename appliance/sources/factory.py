"""Turn a source spec from the CLI or config into a frame source.

Specs: ``auto`` (Pi camera if present, else the bundled running demo looped in real time), ``picamera``,
``webcam`` / ``webcam:N``, ``demo`` (the running demo, bundled in the repository), ``demo:walk`` (the
Sports2D walking clip: the negative case, walking is never judged), ``file:PATH``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from appliance.errors import BadInputError
from appliance.ops import assets
from appliance.sources.base import FrameSource
from appliance.sources.picamera import CameraRecording, PicameraConfig, PicameraSource, picamera2_available
from appliance.sources.replay import ReplaySource
from appliance.sources.webcam import WebcamSource

log = logging.getLogger(__name__)

# ``demo`` / ``demo:NAME`` → the asset (models/manifest.json) it replays. The running demo is the
# default because it is what the product is for: a newcomer sees go / no-go on the first run.
DEMO_ASSETS = {"": "demo_run_clip", "walk": "demo_clip"}
SOURCE_SPECS = "auto, picamera, webcam[:N], demo, demo:walk or file:PATH"


def open_source(spec: str, realtime: bool = True, loop: bool | None = None,
                camera: PicameraConfig | None = None, camera_recording: CameraRecording | None = None) -> FrameSource:
    """Open the source named by ``spec``.

    ``loop`` defaults to True for the demo clip (the appliance keeps running) and False for files.
    ``camera`` sets the Pi camera's frame rate and stream sizes; ``camera_recording`` starts the
    camera's own H.264 encoder on its main stream (other sources ignore it: the recorder encodes
    their frames in software).
    """
    kind, _, arg = spec.partition(":")
    if kind == "auto":
        if picamera2_available():
            try:
                return PicameraSource(camera, camera_recording)
            except BadInputError as err:
                log.warning("Pi camera unavailable (%s); falling back to the bundled demo clip", err)
        else:
            log.info("no Pi camera on this machine; running on the bundled running demo clip")
        kind, arg = "demo", ""
    if kind == "demo":
        if arg not in DEMO_ASSETS:
            raise BadInputError(f"unknown demo {arg!r}: use demo (the running demo) or demo:walk")
        return ReplaySource(assets.require(DEMO_ASSETS[arg]), realtime=realtime,
                            loop=True if loop is None else loop, demo=True)
    if kind == "file":
        if not arg:
            raise BadInputError("file source needs a path: --source file:PATH")
        return ReplaySource(Path(arg), realtime=realtime, loop=bool(loop))
    if kind == "webcam":
        try:
            index = int(arg or 0)
        except ValueError as err:
            raise BadInputError(f"webcam index must be a number, got {arg!r}") from err
        return WebcamSource(index)
    if kind == "picamera":
        return PicameraSource(camera, camera_recording)
    raise BadInputError(f"unknown source {spec!r}: use {SOURCE_SPECS}")
