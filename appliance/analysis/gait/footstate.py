"""The ground state machine of one foot track: its per-frame decisions and what its stance is.

``GaitTracker`` decides per frame whether each foot is "planted" (low and moving with the ground)
and whether it has "left its place"; a foot's ``FootState`` keeps those decisions for the
confirmation window (``confirmed_change``: a change that holds is a contact or a toe-off) and the
state of its current stance (its contact, whether it is a phantom, a landing still to place).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from appliance.analysis.gait.events import GaitEvent


@dataclass
class FootState:
    """Ground state machine of one foot track, fed with one "planted" decision per frame."""

    grounded: bool | None = None  # None until the first decided frame
    # Recent per-frame decisions (frame index, planted, left its place), for the confirmation window.
    history: deque[tuple[int, bool, bool]] = field(default_factory=lambda: deque(maxlen=256))
    stance_contact: GaitEvent | None = None  # contact that opened the current stance
    last_change: int = -1  # frame of the last contact / toe-off: the next one must come after it
    last_contact: GaitEvent | None = None
    running_contact: bool = True
    recent_contacts_t_s: deque[float] = field(default_factory=lambda: deque(maxlen=8))
    last_toe_off_t_s: float | None = None
    last_toe_off_index: int | None = None
    # ... and the first frame it was up, as reported (last_toe_off_t_s is where it left its place).
    lifted_t_s: float | None = None
    # The last toe-off reported as an event for this foot (s).
    reported_toe_off_t_s: float | None = None
    # The current "stance" opened with a landing on the other foot's spot (the model's feet points,
    # not a step): its end is no toe-off either.
    phantom: bool = False
    # A confirmed landing not placed yet (GaitConfig.contact_settle_s): the frame it was confirmed at.
    pending_contact: int | None = None
    # When the current stance's landing was placed (GaitConfig.min_stance_s).
    landed_t_s: float | None = None
    # The frame the state machine found the current stance planted from (its landing may be carried
    # back before it: GaitTracker._carried_from).
    planted_from: int = -1
    # ... and the other track, if its points were the ones at the (carried) landing (None: its own).
    landing_track: int | None = None
    # ... and the frame those points showed the foot at its landing, if the landing was placed inside
    # a loss of the points (GaitTracker._across_loss: the last low sighting before it).
    landing_seen_index: int | None = None
    # A departure too soon after the landing was ignored: no new one until the foot stays put again.
    settling: bool = False
    up_frames: int = 0  # frames running the settling foot has been above plant_height_ll


# Fields of a FootState.history entry (frame index, planted, left its place).
PLANTED, LEFT = 1, 2


def confirmed_change(st: FootState, flag: int, w: int, need: int) -> int | None:
    """Frame at which ``flag`` turned on and then held in ``need`` of the ``w`` frames from there.

    The frame before must not have had it: a change must start there, else a stance that is both
    "moving" and "staying" at one frame would toe off and land again at once. Marks the change as
    this foot's last (``last_change``) so it is reported once.
    """
    if len(st.history) <= w:
        return None
    before, *window = list(st.history)[-w - 1:]
    first = window[0]
    if (first[flag] and not before[flag] and sum(x[flag] for x in window) >= need
            and first[0] > st.last_change):
        st.last_change = first[0]
        return first[0]
    return None


def left_at(st: FootState, index: int, unknown: bool) -> bool:
    """Had the foot left its place at frame ``index`` (its last decided frame up to then)?
    ``unknown`` when no frame up to ``index`` was decided."""
    return next((x[LEFT] for x in reversed(st.history) if x[0] <= index), unknown)
