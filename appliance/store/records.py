"""Typed rows of the store: frozen dataclasses going in and coming out of ``Store``.

Field names follow design.md §6 (the ``analyze --json`` contract) so an analyzer result maps onto
rows without renaming. ``id`` is ``None`` on a record that has not been written yet; the ``add_*``
methods return a copy with the id filled in. Times: ``*_at_s`` are wall-clock Unix seconds (when
something happened), ``*_t_s`` are capture times in seconds on the pipeline's clock (what the
video and the keypoints are timed by).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VERDICTS: tuple[str, ...] = ("go", "no_go", "unsure")


@dataclass(frozen=True)
class Session:
    """One power-on / ``leancam run`` of the appliance (or one drill session on the button)."""

    started_at_s: float
    source: str = ""
    ended_at_s: float | None = None
    id: int | None = None


@dataclass(frozen=True)
class Initiation:
    """The judged first step of a start (design §3); ``None`` on a run that starts already running."""

    t_s: float
    lean_deg: float | None = None
    pelvis_offset: float | None = None
    verdict: str = "unsure"
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Run:
    """One runner passing (or one start-stop drill): from the trigger to the end of its strides."""

    session_id: int
    started_at_s: float
    start_t_s: float
    trigger: str = "manual"  # what opened the run: "initiation", "stride", "manual", …
    end_t_s: float | None = None
    direction: int | None = None  # +1 / -1, design §1
    initiation: Initiation | None = None
    id: int | None = None


@dataclass(frozen=True)
class Stride:
    """One judged stride, the fields of design §6's ``strides[]`` entries."""

    run_id: int
    foot: str  # "left" | "right" | "unknown"
    contact_t_s: float
    midstance_t_s: float | None = None
    toe_off_t_s: float | None = None
    hip_over_foot: float | None = None
    lean_deg: float | None = None
    pelvis_offset: float | None = None
    trunk_deg: float | None = None
    cadence_spm: float | None = None
    overstride: float | None = None
    verdict: str = "unsure"
    reasons: tuple[str, ...] = ()
    id: int | None = None


@dataclass(frozen=True)
class Event:
    """A timed happening: gait events (``contact``, ``toe_off``…) and appliance events (``disk_full``)."""

    session_id: int
    kind: str
    t_s: float
    run_id: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # small JSON-able extras
    id: int | None = None


@dataclass(frozen=True)
class Clip:
    """A finished recording: ``video_file`` and ``sidecar_file`` are names inside the clips dir."""

    name: str
    video_file: str
    sidecar_file: str
    created_at_s: float
    start_t_s: float
    end_t_s: float
    frames: int
    width_px: int
    height_px: int
    size_bytes: int
    trigger: str = "manual"
    run_id: int | None = None
    session_id: int | None = None
    id: int | None = None

    @property
    def duration_s(self) -> float:
        return self.end_t_s - self.start_t_s
