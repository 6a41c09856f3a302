"""Data passed from the pose stage to the analysis: one ``PoseFrame`` per video frame.

Landmarks follow BlazePose's 33-point topology (see ``LANDMARK_NAMES``). Coordinates are in pixels
of the *source* frame (x right, y down); ``z`` is BlazePose's relative depth scaled like x.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LANDMARK_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)
N_LANDMARKS = 33

# Indices into LANDMARK_NAMES of the points the analysis and the web overlay use (design §1).
NOSE, L_EAR, R_EAR = 0, 7, 8
L_SHOULDER, R_SHOULDER = 11, 12
L_HIP, R_HIP = 23, 24
L_KNEE, R_KNEE = 25, 26
L_ANKLE, R_ANKLE = 27, 28
L_HEEL, R_HEEL = 29, 30
L_TOE, R_TOE = 31, 32  # "foot index" in BlazePose's names

# Column indices of PoseFrame.landmarks.
X, Y, Z, VISIBILITY, PRESENCE = range(5)

# Skeleton edges for drawing (MediaPipe's POSE_CONNECTIONS, body part only).
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31), (24, 26), (26, 28), (28, 30), (30, 32), (28, 32),
    (0, 7), (0, 8),
)


@dataclass(frozen=True, eq=False)
class PoseFrame:
    """Pose of one frame.

    ``landmarks`` is a float32 array of shape (33, 5): x_px, y_px, z_px, visibility, presence
    (visibility/presence are probabilities 0..1), or ``None`` when no person was found.
    ``score`` is the landmark model's pose-presence probability (0 when nobody was found).
    """

    index: int
    t_s: float
    width_px: int
    height_px: int
    landmarks: np.ndarray | None
    score: float

    @property
    def has_pose(self) -> bool:
        return self.landmarks is not None
