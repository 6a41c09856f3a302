"""Frame sources behind one protocol: video files, USB webcams and the Pi camera."""

from appliance.sources.base import Frame, FrameSource, SourceInfo

__all__ = ["Frame", "FrameSource", "SourceInfo"]
