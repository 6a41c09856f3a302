"""H.264 MP4 writing with PyAV, written to a temporary name and renamed when complete.

A crash mid-write therefore never leaves a half-written file under the final name, and a failed
write (disk full, quota) is an ``OutputError`` naming the file; callers ``abort()`` on it, which
removes the partial file and leaves any earlier file of that name as it was.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from appliance.errors import BadInputError, output_error

log = logging.getLogger(__name__)


_DROPPED = "; the partial video was removed and an earlier file of that name is left as it was"


class Mp4Writer:
    """Encode RGB frames to ``path`` (yuv420p H.264, even dimensions enforced)."""

    def __init__(self, path: Path | str, fps: float, width_px: int, height_px: int) -> None:
        self.path = Path(path)
        self._tmp = self.path.with_name(self.path.name + ".part")
        if not self.path.parent.is_dir():
            raise BadInputError(f"{self.path.parent}: output folder does not exist")
        self._w = width_px - width_px % 2
        self._h = height_px - height_px % 2
        try:
            self._container = av.open(str(self._tmp), mode="w", format="mp4")
        except OSError as err:
            raise output_error(self.path, err) from err
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width = self._w
        self._stream.height = self._h
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"preset": "veryfast", "crf": "23"}
        self.frames_written = 0

    def write(self, rgb: np.ndarray) -> None:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[: self._h, : self._w]), format="rgb24")
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except OSError as err:  # PyAV's errors subclass OSError: ENOSPC, EDQUOT, EFBIG, EIO
            raise output_error(self.path, err, _DROPPED) from err
        self.frames_written += 1

    def close(self) -> None:
        """Flush and move the finished file into place (on failure the partial file is removed)."""
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            os.replace(self._tmp, self.path)
        except OSError as err:
            self._tmp.unlink(missing_ok=True)
            raise output_error(self.path, err, _DROPPED) from err

    def abort(self) -> None:
        """Drop a partial file (on error), leaving any earlier file at ``path`` untouched."""
        try:
            self._container.close()
        except OSError as err:  # the disk that failed the write may fail the trailer too
            log.debug("closing the partial %s: %s", self._tmp, err)
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
