"""The frame-source seam: every camera, file or stream yields ``Frame`` objects the same way.

Downstream code (pose, analysis, sinks) only sees this protocol, so replaying a file on a laptop
exercises exactly the code that runs on the Pi.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured image.

    ``rgb`` is HxWx3 uint8 RGB (already rotated upright). ``t_s`` is the capture time in seconds:
    sensor time on the Pi, presentation time for files (relative to the first frame).
    """

    index: int
    t_s: float
    rgb: np.ndarray
    # Host monotonic clock (time.monotonic()) when the frame became available to LeanCam: the start
    # of the latency budget (capture → decision → LED). None for offline decoding.
    captured_mono_s: float | None = None
    # The first frame of a new, unrelated sequence: a replayed file's next pass (``--loop``). Nothing
    # before it (pose tracking, the runner being analysed) belongs with it; a camera never sets it.
    starts_sequence: bool = False

    @property
    def width_px(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height_px(self) -> int:
        return int(self.rgb.shape[0])


@dataclass(frozen=True)
class SourceInfo:
    """What a source knows about itself before the first frame."""

    name: str
    width_px: int
    height_px: int
    fps: float
    frame_count: int | None  # None for live sources


@runtime_checkable
class FrameSource(Protocol):
    """A context manager that yields frames in capture order."""

    info: SourceInfo

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(self, *exc: object) -> None: ...
