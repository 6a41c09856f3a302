"""Write a montage PNG of consecutive video frames (or a crop of them) for labelling.

Used to make and re-check the ground-truth event labels in ``tests/data/labels``
(see ``docs/labelling.md``). Frame numbers are 0-based indices in decoded order,
the same convention as the label files.

Examples::

    # frames 100..111 of the treadmill clip, foot region, upscaled x2, 4 columns
    python scripts/label_montage.py ../shared/data/treadmill_slowmo.mp4 100 111 \
        --crop 100,250,300,110 --scale 2 --cols 4 -o /tmp/labelwork/tm_100.png

    # every 5th frame of a whole clip at half size, to find the steps
    python scripts/label_montage.py clip.mp4 0 270 --step 5 --scale 0.5 -o /tmp/overview.png

Write the PNGs outside the repository: frames of the real clips must not be committed.
Each tile is annotated with its frame index and, with ``--ground Y``, a horizontal
line at image row Y (the belt / track surface) to judge contact and toe-off.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import av
import cv2
import numpy as np


def read_frames(path: Path, first: int, last: int, step: int = 1) -> list[tuple[int, np.ndarray]]:
    """Return ``(index, BGR image)`` for decoded frames ``first..last`` (inclusive) every ``step``."""
    frames: list[tuple[int, np.ndarray]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for index, frame in enumerate(container.decode(stream)):
            if index > last:
                break
            if index >= first and (index - first) % step == 0:
                frames.append((index, frame.to_ndarray(format="bgr24")))
    return frames


def make_tile(
    image: np.ndarray,
    index: int,
    crop: tuple[int, int, int, int] | None,
    scale: float,
    ground_y: int | None,
) -> np.ndarray:
    """Crop, draw the optional ground line, scale, and stamp the frame index on one frame."""
    tile = image
    offset_y = 0
    if crop is not None:
        x, y, w, h = crop
        tile = image[y : y + h, x : x + w]
        offset_y = y
    tile = tile.copy()
    if ground_y is not None:
        row = ground_y - offset_y
        cv2.line(tile, (0, row), (tile.shape[1] - 1, row), (0, 255, 255), 1)
    if scale != 1.0:
        interp = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
        tile = cv2.resize(tile, None, fx=scale, fy=scale, interpolation=interp)
    label = str(index)
    cv2.putText(tile, label, (6, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 4, cv2.LINE_AA)
    cv2.putText(tile, label, (6, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    return tile


def montage(tiles: list[np.ndarray], cols: int, gap: int = 4) -> np.ndarray:
    """Arrange equally sized tiles in a grid, row by row, separated by grey gaps."""
    h, w = tiles[0].shape[:2]
    rows = (len(tiles) + cols - 1) // cols
    sheet = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), 128, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        sheet[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = tile
    return sheet


def parse_crop(text: str) -> tuple[int, int, int, int]:
    """Parse ``x,y,w,h`` (pixels of the full frame)."""
    parts = [int(p) for p in text.split(",")]
    if len(parts) != 4:
        raise argparse.ArgumentTypeError("crop must be x,y,w,h")
    return parts[0], parts[1], parts[2], parts[3]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", type=Path, help="video file")
    parser.add_argument("first", type=int, help="first frame (0-based decoded index)")
    parser.add_argument("last", type=int, help="last frame, inclusive")
    parser.add_argument("--step", type=int, default=1, help="take every STEP-th frame (default 1)")
    parser.add_argument("--crop", type=parse_crop, help="x,y,w,h region of the full frame (default: whole frame)")
    parser.add_argument("--scale", type=float, default=1.0, help="resize factor for each tile (default 1)")
    parser.add_argument("--cols", type=int, default=4, help="tiles per row (default 4)")
    parser.add_argument("--ground", type=int, help="draw a line at this image row (full-frame y)")
    parser.add_argument("-o", "--out", type=Path, required=True, help="output PNG (keep it outside the repo)")
    args = parser.parse_args(argv)

    frames = read_frames(args.clip, args.first, args.last, args.step)
    if not frames:
        parser.error(f"no frames in {args.first}..{args.last} of {args.clip}")
    tiles = [make_tile(img, idx, args.crop, args.scale, args.ground) for idx, img in frames]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), montage(tiles, args.cols))
    print(f"{args.out}: frames {frames[0][0]}..{frames[-1][0]} ({len(frames)} tiles)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
