"""Match detected gait events to hand labels and summarise the timing error per event type.

Labels are CSV ``frame,event,foot`` with 0-based frame indices (``tests/data/labels``, and the
sprint-start authors' files in ``../shared/data``). Per event type, detections and labels are
paired one-to-one by minimum total frame distance (Hungarian assignment, scipy) within a
tolerance; unpaired labels are *missed*, unpaired detections *extra*. Errors are reported in frames
and in milliseconds of real time: for slow-motion clips pass the capture rate, so 1 frame of a
240 fps clip played at 30 fps counts as 4.2 ms, not 33 ms.

A label the causal analysis could not have decided is *undecidable*, not missed: contact and
toe-off are decided a motion window plus the confirmation frames after they happen (11 frames of a
300 fps slow-motion clip, 2 at 30 fps), so an event closer than that to the clip's end, or to the
runner leaving the picture (no pose in the frames that follow), cannot be seen yet. Midstance is
decided with its stance's toe-off. Such labels are reported apart (``n/a``) unless something was
detected for them anyway.

Labels may cover only part of a clip (the sprint-start authors label the first steps, and one foot
only); ``extra`` counts every unpaired detection inside the labelled span (first label − tolerance
to last label + tolerance), so detections after the labeller stopped do not count against us.

**One-foot labels** (``one_foot=True``: the sprint authors follow the push foot only: clearance, its
landing, its take-off, …). The other foot's steps are real and fall between them, so an unpaired
detection is *extra* only where no other foot's event can be: strictly inside a labelled stance of
the followed foot (between its labelled contact and the toe-off that ends it: the other foot is in
the air then, running has no double support), or beyond the first unpaired detection of its type
in one swing of the followed foot (from a labelled toe-off to the next labelled contact the other
foot lands and leaves once: one contact, one toe-off, one midstance). The first such detection per
swing is counted as ``other_foot``, not extra. So a stance split in two, or a fragment in the air,
still counts against the detector; the other foot's one real step does not.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

from appliance.analysis.gait.events import EVENT_KINDS, GaitEvent
from appliance.errors import BadInputError, check_input_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Label:
    frame: int
    event: str
    foot: str


@dataclass(frozen=True)
class EventScore:
    """Scores of one event type."""

    event: str
    labels: int
    detected: int  # inside the labelled span
    matched: int
    missed: int
    extra: int
    undecidable: int  # unmatched labels too close to the end of the pose data (see module doc)
    median_error_frames: float | None  # of |detected − label|
    p95_error_frames: float | None
    median_error_ms: float | None
    p95_error_ms: float | None
    mean_signed_error_frames: float | None  # + = detected late
    # One-foot labels: unpaired detections taken as the other foot's step (not extra; module doc).
    other_foot: int = 0
    # Per matched pair, detected − label in the clip's frames: pooled medians over many clips.
    signed_errors_frames: tuple[float, ...] = ()
    # Matched pairs whose label names the foot, and of those, the detections naming the same foot.
    feet_labelled: int = 0
    feet_named: int = 0

    @property
    def decidable(self) -> int:
        """Labels the causal analysis could have decided (labels − n/a)."""
        return self.labels - self.undecidable


def read_labels(path: Path | str, first_row_initiation: bool = False) -> list[Label]:
    """Read a ``frame,event,foot`` CSV. ``first_row_initiation`` also counts the first row as the
    initiation (the sprint-start authors' convention: their first row is the block clearance)."""
    path = Path(path)
    check_input_file(path, "labels file")
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = [c.strip() for c in reader.fieldnames or []]
    except (UnicodeDecodeError, csv.Error) as err:
        raise BadInputError(f"{path}: not a CSV labels file ({err})") from err
    except OSError as err:
        raise BadInputError(f"{path}: cannot read the labels file ({err.strerror or err})") from err
    # Checked before the (long) analysis runs: a wrong file must not cost a whole pass and then
    # print an empty table.
    if "frame" not in columns or "event" not in columns:
        raise BadInputError(f"{path}: not a labels file (its header is {','.join(columns) or 'empty'}; "
                            "expected frame,event,foot)")
    if not rows:
        raise BadInputError(f"{path}: no labels below the header")
    labels: list[Label] = []
    for n, row in enumerate(rows, start=2):
        try:
            frame = int(str(row["frame"]).strip())
            event = str(row["event"]).strip()
        except (KeyError, ValueError, TypeError) as err:
            raise BadInputError(f"{path}:{n}: expected columns frame,event,foot with an integer frame") from err
        if event not in EVENT_KINDS:
            raise BadInputError(f"{path}:{n}: unknown event {event!r} (expected one of {', '.join(EVENT_KINDS)})")
        labels.append(Label(frame, event, str(row.get("foot") or "").strip()))
    if first_row_initiation and labels and not any(lb.event == "initiation" for lb in labels):
        labels.insert(0, Label(labels[0].frame, "initiation", labels[0].foot))
    return labels


def match(detected: Sequence[int], labelled: Sequence[int], tolerance_frames: int) -> list[tuple[int, int]]:
    """One-to-one pairs (detected index, label index) minimising the total |frame difference|."""
    if not detected or not labelled:
        return []
    d = np.asarray(detected, dtype=float)[:, None]
    lb = np.asarray(labelled, dtype=float)[None, :]
    cost = np.abs(d - lb)
    big = 1e6
    cost = np.where(cost <= tolerance_frames, cost, big)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < big]


def undecidable_labels(labels: Sequence[Label], pose_frames: Collection[int], lag_frames: int,
                       every: int = 1, contact_lag_frames: int | None = None) -> set[Label]:
    """Labels whose decision needs pose frames that do not exist (``lag_frames`` after the event,
    ``contact_lag_frames`` after a contact when given: its frame is placed from more of the stance).

    ``every``: only every N-th source frame is analysed (``leancam eval --every``); the lag is
    counted in those frames. Midstance is decided with the toe-off that ends its stance: it is
    undecidable when the next toe-off label is (or there is none).
    """
    def needs_missing(frame: int, lag: int = lag_frames) -> bool:
        first = (frame // every + 1) * every
        return any(first + i * every not in pose_frames for i in range(lag))

    toe_offs = sorted(lb.frame for lb in labels if lb.event == "toe_off")
    out: set[Label] = set()
    for lb in labels:
        if lb.event == "midstance":
            nxt = next((f for f in toe_offs if f > lb.frame), None)
            if nxt is None or needs_missing(nxt):
                out.add(lb)
        elif needs_missing(lb.frame, contact_lag_frames if lb.event == "contact" and contact_lag_frames
                           else lag_frames):
            out.add(lb)
    return out


def one_foot_extras(unpaired: Sequence[int], labels: Sequence[Label]) -> tuple[int, int]:
    """(extra, other_foot) among ``unpaired`` detection frames of one type, for one-foot labels.

    Stances of the followed foot are its labelled contact → the next labelled toe-off; an unpaired
    detection strictly inside one is extra; elsewhere, the first per swing (the stretch between two
    stances) is the other foot's, the rest are extra (module doc).
    """
    events = sorted((lb.frame, lb.event) for lb in labels if lb.event in ("contact", "toe_off"))
    stances: list[tuple[int, int]] = []
    for i, (frame, kind) in enumerate(events):
        if kind != "contact":
            continue
        nxt = next((f for f, k in events[i + 1:] if k == "toe_off"), None)
        if nxt is not None:
            stances.append((frame, nxt))
    extra = other = 0
    seen_swings: set[int] = set()
    for f in sorted(unpaired):
        if any(c < f < t for c, t in stances):
            extra += 1
            continue
        swing = sum(1 for _, t in stances if t <= f)  # stances ended before it: which swing it is in
        if swing in seen_swings:
            extra += 1
        else:
            seen_swings.add(swing)
            other += 1
    return extra, other


def detections_of(events: Iterable[GaitEvent]) -> tuple[list[tuple[str, int]], dict[tuple[str, int], str]]:
    """An analysis's events as ``score`` takes them: ``(event, frame)`` pairs, and the foot each names."""
    events = list(events)
    return [(e.kind, e.frame_index) for e in events], {(e.kind, e.frame_index): e.foot for e in events}


class FeetScored(Protocol):
    """Per-clip or pooled scores of one event type with their foot names counted."""

    @property
    def event(self) -> str: ...
    @property
    def feet_labelled(self) -> int: ...
    @property
    def feet_named(self) -> int: ...


def feet_line(scores: Iterable[FeetScored]) -> str | None:
    """``feet: contact 79/81, …`` over scores (per clip or pooled) that carry ``feet_named`` /
    ``feet_labelled``; None where no matched label names a foot."""
    named = [f"{s.event} {s.feet_named}/{s.feet_labelled}" for s in scores if s.feet_labelled]
    return f"feet: {', '.join(named)} matched events name the labelled foot" if named else None


def score(detections: Sequence[tuple[str, int]], labels: Sequence[Label], frame_ms: float,
          tolerance_frames: int, undecidable: Collection[Label] = (), one_foot: bool = False,
          feet: Mapping[tuple[str, int], str] | None = None) -> list[EventScore]:
    """Score ``(event, frame)`` detections against labels for each event type that has labels.

    ``undecidable``: labels (from ``undecidable_labels``) that count as ``n/a`` when unmatched.
    ``one_foot``: the labels follow one foot only; the other foot's steps are not extra (module doc).
    ``feet``: the foot each detection names, by ``(event, frame)``; matched pairs whose label names
    a foot then count whether the detection named the same one.
    """
    out: list[EventScore] = []
    for kind in EVENT_KINDS:
        kind_labels = sorted((lb for lb in labels if lb.event == kind), key=lambda lb: lb.frame)
        lab = [lb.frame for lb in kind_labels]
        if not lab:
            continue
        lo, hi = lab[0] - tolerance_frames, lab[-1] + tolerance_frames
        det = sorted(f for e, f in detections if e == kind and lo <= f <= hi)
        pairs = match(det, lab, tolerance_frames)
        signed = np.array([det[i] - lab[j] for i, j in pairs], dtype=float)
        err = np.abs(signed)
        has = len(err) > 0
        paired = {j for _, j in pairs}
        na = sum(1 for j, lb in enumerate(kind_labels) if j not in paired and lb in undecidable)
        named = [feet.get((kind, det[i])) == kind_labels[j].foot for i, j in pairs
                 if feet is not None and kind_labels[j].foot in ("left", "right")]
        extra, other = len(det) - len(pairs), 0
        if one_foot and kind != "initiation":
            used = {i for i, _ in pairs}
            extra, other = one_foot_extras([f for i, f in enumerate(det) if i not in used], labels)
        out.append(EventScore(
            kind, len(lab), len(det), len(pairs), len(lab) - len(pairs) - na, extra, na,
            float(np.median(err)) if has else None, float(np.percentile(err, 95)) if has else None,
            float(np.median(err) * frame_ms) if has else None,
            float(np.percentile(err, 95) * frame_ms) if has else None,
            float(np.mean(signed)) if has else None, other, tuple(float(x) for x in signed),
            len(named), sum(named)))
    return out


def format_table(scores: Sequence[EventScore]) -> str:
    def f(x: float | None, nd: int = 1) -> str:
        return "-" if x is None else f"{x:.{nd}f}"

    lines = [f"{'event':11s} {'labels':>6s} {'matched':>7s} {'missed':>6s} {'n/a':>3s} {'extra':>5s} "
             f"{'med fr':>6s} {'p95 fr':>6s} {'med ms':>6s} {'p95 ms':>6s} {'bias fr':>7s}"]
    for s in scores:
        lines.append(f"{s.event:11s} {s.labels:6d} {s.matched:7d} {s.missed:6d} {s.undecidable:3d} {s.extra:5d} "
                     f"{f(s.median_error_frames):>6s} {f(s.p95_error_frames):>6s} {f(s.median_error_ms, 0):>6s} "
                     f"{f(s.p95_error_ms, 0):>6s} {f(s.mean_signed_error_frames, 2):>7s}")
    return "\n".join(lines)
