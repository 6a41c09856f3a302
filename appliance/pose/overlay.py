"""Drawing on frames: skeleton, keypoints and text labels (OpenCV, in place on RGB images).

Shared by ``leancam pose --annotate``, ``leancam analyze --annotate`` and the web live view.
"""

from __future__ import annotations

import cv2
import numpy as np

from appliance.pose.types import SKELETON_EDGES, VISIBILITY, X, Y

# RGB colours.
WHITE = (255, 255, 255)
GREEN = (40, 200, 80)
RED = (230, 50, 50)
AMBER = (255, 176, 0)
LEFT_COLOUR = (80, 160, 255)
RIGHT_COLOUR = (255, 120, 80)

MIN_VISIBILITY = 0.5


def _thickness(img: np.ndarray) -> int:
    # Lines scale with the frame so a 480p clip and a 4K clip both read well.
    return max(1, round(min(img.shape[:2]) / 300))


def draw_skeleton(img: np.ndarray, landmarks: np.ndarray, min_visibility: float = MIN_VISIBILITY) -> None:
    """Draw BlazePose bones and joints; left side blue, right side orange, midline white."""
    t = _thickness(img)
    pts = np.round(landmarks[:, [X, Y]]).astype(np.int32)
    vis = landmarks[:, VISIBILITY]
    for a, b in SKELETON_EDGES:
        if vis[a] < min_visibility or vis[b] < min_visibility:
            continue
        both_left = a % 2 == 1 and b % 2 == 1 and a > 10
        both_right = a % 2 == 0 and b % 2 == 0 and a > 10
        colour = LEFT_COLOUR if both_left else RIGHT_COLOUR if both_right else WHITE
        cv2.line(img, tuple(pts[a]), tuple(pts[b]), colour, t, cv2.LINE_AA)
    for i, p in enumerate(pts):
        if vis[i] >= min_visibility and (i >= 11 or i == 0):
            cv2.circle(img, tuple(p), t + 1, WHITE, -1, cv2.LINE_AA)


def draw_label(img: np.ndarray, text: str, origin_px: tuple[int, int], colour: tuple[int, int, int] = WHITE,
               scale: float | None = None) -> None:
    """Text with a dark outline so it reads on any background."""
    s = scale or max(0.5, min(img.shape[:2]) / 600)
    t = _thickness(img)
    cv2.putText(img, text, origin_px, cv2.FONT_HERSHEY_SIMPLEX, s, (0, 0, 0), t + 2, cv2.LINE_AA)
    cv2.putText(img, text, origin_px, cv2.FONT_HERSHEY_SIMPLEX, s, colour, t, cv2.LINE_AA)
