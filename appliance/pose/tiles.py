"""Searching a frame tile by tile when the whole-frame detector finds nobody.

BlazePose's detector sees the whole frame letterboxed to 224 px. A sprinter 90-120 px tall in a
1280x720 frame shrinks to ~30 px there, crouched in the blocks even less, and is not detected at
all (on the right-to-left sprint clips the whole-frame detector missed the set runner on every
frame of the set-up); on a tile of 2/3 of the frame's height the same runner scores 0.95 and more.

Tiles are squares of ``TILE_FRACTION`` of the frame's shorter side, overlapping by half a tile so
every person of up to half a tile in size lies wholly inside one. Searching all of them costs one
detector run per tile, so a frame pays for at most ``tiles_per_frame`` of them in turn; the scan
starts with the tiles around where the person was last seen (a runner lost for a few frames is
found again on the next frame). The search only runs while nobody is tracked: once a person is
found the landmark model follows them, as in MediaPipe.

The whole-frame detector also finds people who are not there: on the right-to-left sprint clips it
scores a patch of trees 0.58-0.77 on every frame of the set-up, the landmark model then follows the
"person" in the trees with a presence of 0.7-0.99, and the runner in the blocks is never looked
for (no start seen on a2, a4 and a5). On the tiles the trees score nothing and the runner 0.96+.
So a person found by the whole-frame detector is checked once on the tiles (``TileCheck``): if
the sweep finds someone and none of it inside the tracked ROI, the track moves to the best tile
detection. A person too large for any tile is seen by none: kept, unless a tile sees someone else.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from appliance.pose.roi import RotatedRect

log = logging.getLogger(__name__)

# Tile side as a share of the frame's shorter side: 480 px on 720p, where the set sprinters of the
# sprint_starts_rtl clips are found at 0.95+ (at 720 px, the whole height, they mostly are not).
TILE_FRACTION = 2 / 3
# Below this the tiles would be smaller than the detector's input: no gain over the whole frame.
MIN_TILE_PX = 224
# A tile detection is the tracked person if its hip centre is this share of the ROI's side from the
# ROI's centre (the tracked hip centre).
NEAR_ROI = 0.25


class _Detector(Protocol):
    def detect(self, rgb: np.ndarray) -> list: ...


def tile_grid(width_px: int, height_px: int) -> list[tuple[int, int, int]]:
    """Overlapping square tiles ``(x0, y0, side)`` covering the frame, row by row; [] if too small."""
    side = round(TILE_FRACTION * min(width_px, height_px))
    if side < MIN_TILE_PX:
        return []

    def starts(length: int) -> list[int]:
        if length <= side:
            return [0]
        n = math.ceil((length - side) / (side / 2)) + 1  # steps of at most half a tile
        return [round(i * (length - side) / (n - 1)) for i in range(n)]

    return [(x0, y0, side) for y0 in starts(height_px) for x0 in starts(width_px)]


def nearest_first(grid: list[tuple[int, int, int]], x_px: float, y_px: float) -> list[int]:
    """Indices of ``grid``, nearest tile centre to (x, y) first; ties keep grid order, so the order
    is the same on every CPU."""
    return sorted(range(len(grid)), key=lambda i: (
        round(math.hypot(grid[i][0] + grid[i][2] / 2 - x_px, grid[i][1] + grid[i][2] / 2 - y_px)), i))


class TileSearch:
    """Round-robin tile detection, nearest tiles to the last sighting first."""

    def __init__(self, detector: _Detector, tiles_per_frame: int) -> None:
        self.detector = detector
        self.tiles_per_frame = tiles_per_frame
        self._grid: list[tuple[int, int, int]] = []
        self._size_px: tuple[int, int] | None = None
        self._order: list[int] = []
        self._next = 0
        self.last_seen_px: tuple[float, float] | None = None

    def reset(self) -> None:
        self._size_px = None
        self._order = []
        self._next = 0
        self.last_seen_px = None

    def seen(self, x_px: float, y_px: float) -> None:
        """Where the tracked person was (the next search starts from the tiles around it)."""
        self.last_seen_px = (x_px, y_px)
        self._order = []

    def _ensure_order(self, width_px: int, height_px: int) -> None:
        if self._size_px != (width_px, height_px):
            self._grid = tile_grid(width_px, height_px)
            self._size_px = (width_px, height_px)
            self._order = []
        if not self._order and self._grid:
            if self.last_seen_px is None:
                self._order = list(range(len(self._grid)))
            else:
                self._order = nearest_first(self._grid, *self.last_seen_px)
            self._next = 0

    def search(self, rgb: np.ndarray) -> np.ndarray | None:
        """The best detection's alignment keypoints in frame pixels, from this frame's share of tiles."""
        if self.tiles_per_frame <= 0:
            return None
        height_px, width_px = rgb.shape[:2]
        self._ensure_order(width_px, height_px)
        if not self._grid:
            return None
        for _ in range(min(self.tiles_per_frame, len(self._grid))):
            x0, y0, side = self._grid[self._order[self._next % len(self._order)]]
            self._next += 1
            detections = self.detector.detect(np.ascontiguousarray(rgb[y0:y0 + side, x0:x0 + side]))
            if detections:
                log.debug("tile (%d, %d, %d): person at %.2f", x0, y0, side, detections[0].score)
                # Found here: the next search starts from this tile again.
                self._next -= 1
                return detections[0].keypoints.astype(np.float64) * side + [x0, y0]
        return None


@dataclass(frozen=True)
class TileVerdict:
    """Outcome of a finished check: ``switch_to`` (alignment keypoints in frame pixels) or None (keep)."""

    switch_to: np.ndarray | None
    score: float = 0.0


class TileCheck:
    """One sweep of the tiles after the whole-frame detector started a track: is it a person there?

    ``start()`` when a track begins from a whole-frame detection; then ``step()`` on each tracked
    frame, ``tiles_per_frame`` tiles at a time, nearest the tracked person first. It ends as soon
    as a tile detection's hip centre lies inside the tracked ROI (confirmed: keep), or when every
    tile was searched: keep if nobody was found on any, else switch to the best detection found
    (highest score; ties broken by position, so the choice is the same on every CPU).
    """

    def __init__(self, detector: _Detector, tiles_per_frame: int) -> None:
        self.detector = detector
        self.tiles_per_frame = tiles_per_frame
        self._todo: list[tuple[int, int, int]] = []
        self._best: tuple[float, float, float, np.ndarray] | None = None  # (score, -x, -y, keypoints)

    @property
    def active(self) -> bool:
        return bool(self._todo)

    def cancel(self) -> None:
        self._todo = []
        self._best = None

    def start(self, width_px: int, height_px: int, roi: RotatedRect) -> bool:
        """Begin a sweep for the person in ``roi``; False (no sweep) if the frame has no tiles."""
        self.cancel()
        grid = tile_grid(width_px, height_px) if self.tiles_per_frame > 0 else []
        if not grid:
            return False
        self._todo = [grid[i] for i in nearest_first(grid, roi.x_center_px, roi.y_center_px)]
        return True

    def step(self, rgb: np.ndarray, roi: RotatedRect) -> TileVerdict | None:
        """Search this frame's share of tiles; the verdict once the check ends, else None."""
        near = NEAR_ROI * roi.width_px
        for _ in range(min(self.tiles_per_frame, len(self._todo))):
            x0, y0, side = self._todo.pop(0)
            for det in self.detector.detect(np.ascontiguousarray(rgb[y0:y0 + side, x0:x0 + side])):
                kps = det.keypoints.astype(np.float64) * side + [x0, y0]
                hx, hy = float(kps[0][0]), float(kps[0][1])
                if math.hypot(hx - roi.x_center_px, hy - roi.y_center_px) <= near:
                    self.cancel()
                    return TileVerdict(None)
                key = (round(float(det.score), 4), -round(hx), -round(hy), kps)
                if self._best is None or key[:3] > self._best[:3]:
                    self._best = key
        if self._todo:
            return None
        best, self._best = self._best, None
        return TileVerdict(None) if best is None else TileVerdict(best[3], best[0])
