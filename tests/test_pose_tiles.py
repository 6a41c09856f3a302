"""Tile search: a small or crouched runner the whole-frame detector misses is found on a tile."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import numpy as np
import pytest

from appliance.pose.engine import PoseEngine
from appliance.pose.roi import RotatedRect
from appliance.pose.tiles import MIN_TILE_PX, TileCheck, TileSearch, TileVerdict, tile_grid
from appliance.sources.base import Frame


def test_grid_covers_the_frame_with_half_tile_overlap() -> None:
    grid = tile_grid(1280, 720)
    side = grid[0][2]
    assert side == 480
    xs = sorted({x for x, _, _ in grid})
    ys = sorted({y for _, y, _ in grid})
    assert xs[0] == 0 and xs[-1] + side == 1280 and ys[0] == 0 and ys[-1] + side == 720
    # Neighbouring tiles overlap by at least half a tile: a person up to half a tile in size lies
    # wholly inside one of them wherever they stand.
    assert all(b - a <= side / 2 for a, b in itertools.pairwise(xs))
    assert all(b - a <= side / 2 for a, b in itertools.pairwise(ys))


def test_small_frames_have_no_tiles() -> None:
    assert tile_grid(320, 240) == []  # a tile would be under the detector's own input size
    assert tile_grid(1280, 3 * MIN_TILE_PX // 2) != []


class _FakeDetector:
    """Finds a 'person' only in the tile whose top-left corner is ``hit`` (records every call)."""

    def __init__(self, hit: tuple[int, int]) -> None:
        self.hit = hit
        self.calls: list[tuple[int, int]] = []
        self.frame: np.ndarray | None = None

    def detect(self, rgb: np.ndarray) -> list:
        assert self.frame is not None
        # Recover the tile's corner from its content (each pixel holds its own x, y).
        x0, y0 = int(rgb[0, 0, 0]) * 10, int(rgb[0, 0, 1]) * 10
        self.calls.append((x0, y0))
        if (x0, y0) != self.hit:
            return []

        class _D:
            score = 0.9
            keypoints = np.array([[0.5, 0.5], [0.5, 0.25]])

        return [_D()]


def _coded_frame(width: int, height: int) -> np.ndarray:
    """A frame whose pixel (y, x) holds (x // 10, y // 10): a tile knows where it was cut from."""
    ys, xs = np.mgrid[0:height, 0:width]
    return np.stack([xs // 10, ys // 10, np.zeros_like(xs)], axis=-1).astype(np.uint8)


def test_search_pays_tiles_per_frame_then_restarts_at_the_hit() -> None:
    frame = _coded_frame(1280, 720)
    grid = tile_grid(1280, 720)
    target = grid[-1][:2]
    fake = _FakeDetector(target)
    fake.frame = frame
    search = TileSearch(fake, tiles_per_frame=2)
    found = None
    frames = 0
    while found is None:
        found = search.search(frame)
        frames += 1
        assert frames <= len(grid)  # never more frames than tiles, at 2 tiles a frame
    assert frames == (len(grid) + 1) // 2
    side = grid[-1][2]
    np.testing.assert_allclose(found[0], [target[0] + side / 2, target[1] + side / 2])
    # Lost again: the next search starts with the tile that last found the person.
    fake.calls.clear()
    assert search.search(frame) is not None
    assert fake.calls == [target]


def test_search_starts_nearest_the_last_sighting() -> None:
    frame = _coded_frame(1280, 720)
    fake = _FakeDetector((-1, -1))
    fake.frame = frame
    search = TileSearch(fake, tiles_per_frame=1)
    search.seen(1270.0, 10.0)  # top-right corner
    search.search(frame)
    x0, y0 = fake.calls[0]
    assert x0 + 480 == 1280 and y0 == 0


def _sweep(check: TileCheck, frame: np.ndarray, roi: RotatedRect) -> tuple[TileVerdict, int]:
    steps = 0
    while True:
        steps += 1
        verdict = check.step(frame, roi)
        if verdict is not None:
            return verdict, steps
        assert steps <= 10


def test_check_moves_the_track_to_the_tiles_person_when_none_is_where_it_was() -> None:
    frame = _coded_frame(1280, 720)
    grid = tile_grid(1280, 720)
    target = grid[-1]  # bottom right: the runner in the blocks
    fake = _FakeDetector(target[:2])
    fake.frame = frame
    check = TileCheck(fake, tiles_per_frame=2)
    phantom = RotatedRect(300.0, 200.0, 800.0, 800.0, 0.0)  # the "person" in the trees, top left
    assert check.start(1280, 720, phantom)
    verdict, steps = _sweep(check, frame, phantom)
    assert steps == (len(grid) + 1) // 2 and not check.active  # every tile once, 2 a frame
    assert verdict.switch_to is not None and verdict.score == pytest.approx(0.9)
    np.testing.assert_allclose(verdict.switch_to[0], [target[0] + target[2] / 2, target[1] + target[2] / 2])


def test_check_keeps_a_person_the_tiles_see_and_ends_at_once() -> None:
    frame = _coded_frame(1280, 720)
    target = tile_grid(1280, 720)[-1]
    fake = _FakeDetector(target[:2])
    fake.frame = frame
    check = TileCheck(fake, tiles_per_frame=2)
    tracked = RotatedRect(target[0] + target[2] / 2 + 20, target[1] + target[2] / 2, 300.0, 300.0, 0.0)
    assert check.start(1280, 720, tracked)
    verdict, steps = _sweep(check, frame, tracked)
    # Nearest tile first: confirmed on the first frame, no more tiles paid.
    assert steps == 1 and verdict.switch_to is None and fake.calls[0] == target[:2] and not check.active


def test_check_keeps_the_track_when_the_tiles_find_nobody() -> None:
    frame = _coded_frame(1280, 720)
    fake = _FakeDetector((-1, -1))
    fake.frame = frame
    check = TileCheck(fake, tiles_per_frame=2)
    tracked = RotatedRect(640.0, 360.0, 900.0, 900.0, 0.0)  # too large for any tile: nothing found
    assert check.start(1280, 720, tracked)
    verdict, _ = _sweep(check, frame, tracked)
    assert verdict.switch_to is None
    assert not TileCheck(fake, tiles_per_frame=0).start(1280, 720, tracked)  # tiles off: no check


def test_engine_leaves_a_phantom_in_the_trees_for_the_runner_in_the_blocks(shared_data: Path) -> None:
    """a5: kneeling and set in the blocks for ~4 s, the runner ~100 px tall. The whole-frame
    detector scores a patch of trees 0.58-0.77 and misses the runner; the landmark model then
    follows the trees (presence 0.7-0.99). The tile check moves the track to the runner within its
    first sweep (frame 7 here: found at frame 2, 10 tiles at 2 a frame)."""
    from appliance.config import Config
    from appliance.sources.video_file import VideoFileSource

    clip = shared_data / "sprint_starts_rtl" / "a5.mp4"
    if not clip.is_file():
        pytest.skip(f"{clip} not present")
    engine = PoseEngine.from_config(Config().pose)
    hips = []
    with VideoFileSource(clip) as src:
        for f in src.frames():
            if f.index >= 115:  # the set position ends here
                break
            pose = engine.process(f)
            if pose.landmarks is not None and f.index >= 15:
                hips.append(float(pose.landmarks[23:25, 1].mean()))
    on_track = sum(y > 450 for y in hips)  # the track's lanes; the trees are above y 400
    assert len(hips) >= 80 and on_track >= 0.95 * len(hips), (len(hips), on_track)


def test_finds_the_set_sprinter_the_whole_frame_misses(shared_data: Path) -> None:
    """a11: a right-to-left sprinter ~100 px tall kneels and sets in the blocks for ~7 s. The
    whole-frame detector finds nobody there; with the tile search the engine tracks them."""
    clip = shared_data / "sprint_starts_rtl" / "a11.mp4"
    whole = PoseEngine.from_assets()
    whole.tiles.tiles_per_frame = whole.tile_check.tiles_per_frame = 0
    tiled = PoseEngine.from_assets()
    n = with_whole = with_tiles = 0
    with av.open(str(clip)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= 60:
                break
            frame = Frame(i, i / 30, f.to_ndarray(format="rgb24"), 0.0)
            with_whole += whole.process(frame).landmarks is not None
            with_tiles += tiled.process(frame).landmarks is not None
            n += 1
    assert with_whole <= n // 10, f"whole-frame detector found the set runner on {with_whole}/{n} frames"
    # Found within the first scan of the grid (5 frames at 2 tiles a frame), then tracked.
    assert with_tiles >= n - 6, f"tile search tracked the runner on only {with_tiles}/{n} frames"


@pytest.mark.parametrize("tiles", [0, 2])
def test_config_sets_tiles_per_frame(tiles: int) -> None:
    from appliance.config import PoseConfig

    engine = PoseEngine.from_config(PoseConfig(detector_tiles_per_frame=tiles))
    assert engine.tiles.tiles_per_frame == engine.tile_check.tiles_per_frame == tiles
