"""Score one analysed clip against its labels and truth, and pool many clips into one table.

Why: a change to the event detector or the verdicts is kept only if the *validation* clips improve
or hold (issue 14). One clip's table hides what happens on the others, so ``leancam eval`` runs a
set of clips (tests/data/labels/sets.json) and prints one pooled table plus one line per clip:

- per event type: recall over *decidable* labels (labels − n/a, see ``evaluation``), extra
  (unpaired detections; one-foot labels by ``evaluation.one_foot_extras``), median |error| in
  frames **of the analysed rate** (a 300 fps clip seen ``every`` 6th frame counts 1 frame = 20 ms)
  and in ms of real time;
- initiation: hit (within ``init_tolerance_frames``), early (fired more than that *before* the
  labelled start: a failure, the runner was still set), late, miss, or a false start (fired on a
  clip whose labels have no initiation: the runner entered already running);
- cadence (median of the strides' cadence) against the clip's truth where one is given;
- strides judged (go / no_go) against unsure, the agreement of the judged verdicts (share of the
  clip's most common judged verdict) and the sd of hip_over_foot over judged strides: what a coach
  sees of a steady runner (issue 14, "done when").

Pure: no I/O. The clip list, labels and keypoints are found by ``appliance.analysis.clip_sets``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from appliance.analysis.analyzer import AnalysisResult
from appliance.analysis.evaluation import EventScore, Label, detections_of, feet_line, score

log = logging.getLogger(__name__)

JUDGED = ("go", "no_go")
UNLABELLED = "unlabelled"  # initiation outcome of a clip without labels (not pooled)
SCORED_EVENTS = ("contact", "toe_off", "midstance")


@dataclass(frozen=True)
class ClipSpec:
    """One clip of a set and how to view it (sets.json entry, or a clip given on the command line)."""

    name: str  # shown in the tables (e.g. "treadmill_slowmo@50fps")
    path: str  # the video file
    every: int = 1  # analyse every N-th frame only (a slower camera's view)
    capture_fps: float | None = None  # real capture rate of a slow-motion clip
    # Label-file conventions; None = as the label source says (clip_sets.resolve_conventions).
    one_foot: bool | None = None  # the labels follow one foot only (sprint authors' files)
    first_row_initiation: bool | None = None  # the first label row is also the initiation (block clearance)
    cadence_truth_spm: float | None = None  # measured independently (e.g. male_side.groundtruth.json)
    cadence_from_labels: bool = False  # truth = median interval of consecutive labelled contacts (two-footed)
    notes: str = ""


@dataclass(frozen=True)
class InitiationScore:
    """The clip's first detected initiation against its labelled start (if any)."""

    outcome: str  # hit / early / late / miss / false_start / none (no start labelled, none fired) / unlabelled
    labelled_frame: int | None
    detected_frame: int | None
    error_frames: float | None  # detected − labelled, in frames of the analysed rate (+ = late)
    fired: int  # initiations detected in the clip


@dataclass(frozen=True)
class RunScore:
    """What the strides of one clip say to a coach."""

    strides: int
    judged: int  # go or no_go
    go: int
    no_go: int
    agreement: float | None  # share of judged strides with the clip's most common judged verdict
    hip_over_foot_sd_ll: float | None  # sd over judged strides (leg lengths)
    cadence_spm: float | None  # median over strides with a cadence
    cadence_truth_spm: float | None
    unsure_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def judged_share(self) -> float | None:
        return self.judged / self.strides if self.strides else None

    @property
    def cadence_error_pct(self) -> float | None:
        if self.cadence_spm is None or not self.cadence_truth_spm:
            return None
        return 100.0 * (self.cadence_spm - self.cadence_truth_spm) / self.cadence_truth_spm


@dataclass(frozen=True)
class ClipReport:
    spec: ClipSpec
    status: str  # "ok", "no labels", or "error: <message>"
    analysed_fps: float | None  # real frames per second the analysis saw
    frame_ms: float | None  # real ms per clip frame
    tolerance_frames: int | None  # clip frames
    events: tuple[EventScore, ...] = ()
    initiation: InitiationScore | None = None
    run: RunScore | None = None

    @property
    def labelled(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        s = self.spec
        out: dict[str, Any] = {
            "name": s.name, "path": s.path, "every": s.every, "capture_fps": s.capture_fps, "one_foot": s.one_foot,
            "status": self.status,
            "analysed_fps": _r(self.analysed_fps, 2), "frame_ms": _r(self.frame_ms, 3),
            "tolerance_frames": self.tolerance_frames,
            "events": {e.event: _event_json(e, s.every, self.frame_ms) for e in self.events},
            "initiation": None if self.initiation is None else {
                "outcome": self.initiation.outcome, "labelled_frame": self.initiation.labelled_frame,
                "detected_frame": self.initiation.detected_frame,
                "error_frames": _r(self.initiation.error_frames, 2), "fired": self.initiation.fired},
            "run": None,
        }
        if self.run is not None:
            r = self.run
            out["run"] = {"strides": r.strides, "judged": r.judged, "go": r.go, "no_go": r.no_go,
                          "judged_share": _r(r.judged_share, 3), "agreement": _r(r.agreement, 3),
                          "hip_over_foot_sd_ll": _r(r.hip_over_foot_sd_ll, 3),
                          "cadence_spm": _r(r.cadence_spm, 1), "cadence_truth_spm": r.cadence_truth_spm,
                          "cadence_error_pct": _r(r.cadence_error_pct, 2), "unsure_reasons": r.unsure_reasons}
        return out


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(float(x), nd)


def _event_json(e: EventScore, every: int, frame_ms: float | None) -> dict[str, Any]:
    errs = np.abs(np.asarray(e.signed_errors_frames, dtype=float))
    return {"labels": e.labels, "decidable": e.decidable, "matched": e.matched, "missed": e.missed,
            "n/a": e.undecidable, "extra": e.extra, "other_foot": e.other_foot,
            "feet_labelled": e.feet_labelled, "feet_named": e.feet_named,
            "recall": _r(e.matched / e.decidable, 3) if e.decidable else None,
            "median_abs_error_frames": _r(float(np.median(errs)) / every, 2) if errs.size else None,
            "median_abs_error_ms": _r(float(np.median(errs)) * frame_ms, 1) if errs.size and frame_ms else None,
            "bias_frames": _r(float(np.mean(e.signed_errors_frames)) / every, 2) if errs.size else None}


def cadence_from_contacts(labels: Sequence[Label], frame_ms: float) -> float | None:
    """Steps per minute from two-footed contact labels: 60 s / median interval of consecutive contacts."""
    frames = sorted(lb.frame for lb in labels if lb.event == "contact")
    if len(frames) < 3:
        return None
    step_ms = float(np.median(np.diff(frames))) * frame_ms
    return 60_000.0 / step_ms if step_ms > 0 else None


def score_initiation(detected: Sequence[int], labels: Sequence[Label], tolerance_frames: float,
                     every: int = 1) -> InitiationScore:
    """``detected``: initiation frames (clip frames); tolerance in frames of the analysed rate."""
    det = sorted(detected)
    lab = sorted(lb.frame for lb in labels if lb.event == "initiation")
    first = det[0] if det else None
    if not lab:
        return InitiationScore("false_start" if det else "none", None, first, None, len(det))
    target = lab[0]
    if first is None:
        return InitiationScore("miss", target, None, None, 0)
    err = (first - target) / every
    if err < -tolerance_frames:
        outcome = "early"
    elif err > tolerance_frames:
        outcome = "late"
    else:
        outcome = "hit"
    return InitiationScore(outcome, target, first, err, len(det))


def score_run(result: AnalysisResult, cadence_truth_spm: float | None) -> RunScore:
    strides = result.strides
    judged = [s for s in strides if s.verdict in JUDGED]
    counts = Counter(s.verdict for s in judged)
    agreement = max(counts.values()) / len(judged) if judged else None
    hof = [s.metrics.hip_over_foot for s in judged]
    sd = float(np.std(hof, ddof=1)) if len(hof) >= 2 else None
    cads = [s.metrics.cadence_spm for s in strides if s.metrics.cadence_spm is not None]
    reasons = Counter(r for s in strides if s.verdict == "unsure" for r in s.reasons)
    return RunScore(len(strides), len(judged), counts.get("go", 0), counts.get("no_go", 0), agreement, sd,
                    float(np.median(cads)) if cads else None, cadence_truth_spm, dict(sorted(reasons.items())))


def evaluate_clip(spec: ClipSpec, result: AnalysisResult, labels: Sequence[Label] | None,
                  undecidable: Collection[Label] = (), tolerance_ms: float = 100.0,
                  init_tolerance_frames: float = 2.0) -> ClipReport:
    """Score one analysed clip. ``labels`` None: no label file (run and cadence figures only)."""
    fps = result.video["fps"]
    frame_ms = 1000.0 / fps * result.time_scale if fps else None
    analysed_fps = 1000.0 / (frame_ms * spec.every) if frame_ms else None
    tol = max(1, round(tolerance_ms / frame_ms)) if frame_ms else None
    truth = spec.cadence_truth_spm
    if truth is None and spec.cadence_from_labels and labels and frame_ms:
        truth = cadence_from_contacts(labels, frame_ms)
    run = score_run(result, truth)
    detections, feet = detections_of(result.events)
    if labels is None or frame_ms is None or tol is None:
        # Not scored, but shown: whether a start fired is worth seeing on a clip not labelled yet.
        fired = sorted(f for k, f in detections if k == "initiation")
        init = InitiationScore(UNLABELLED, None, fired[0] if fired else None, None, len(fired))
        return ClipReport(spec, "no labels", analysed_fps, frame_ms, tol, initiation=init, run=run)
    events = tuple(s for s in score(detections, labels, frame_ms, tol, undecidable, bool(spec.one_foot), feet)
                   if s.event in SCORED_EVENTS)
    init = score_initiation([f for k, f in detections if k == "initiation"], labels, init_tolerance_frames,
                            spec.every)
    return ClipReport(spec, "ok", analysed_fps, frame_ms, tol, events, init, run)


# ---------------------------------------------------------------------------------------------
# Pooling and tables


@dataclass(frozen=True)
class PooledEvent:
    event: str
    clips: int
    labels: int
    decidable: int
    matched: int
    missed: int
    undecidable: int
    extra: int
    other_foot: int
    detected: int  # matched + extra + other_foot: every detection that was scored
    median_abs_error_frames: float | None  # frames of each clip's analysed rate
    median_abs_error_ms: float | None
    p95_abs_error_frames: float | None
    bias_frames: float | None
    feet_labelled: int = 0  # matched pairs whose label names the foot
    feet_named: int = 0  # ... whose detection named that foot

    @property
    def recall(self) -> float | None:
        return self.matched / self.decidable if self.decidable else None

    @property
    def extra_share(self) -> float | None:
        """Extra detections per decidable label (the issue's "extra ≤ 5 %")."""
        return self.extra / self.decidable if self.decidable else None


@dataclass(frozen=True)
class Pooled:
    clips: int
    labelled_clips: int
    events: tuple[PooledEvent, ...]
    initiation: dict[str, int]  # outcome → clips
    initiation_abs_errors_frames: tuple[float, ...]
    strides: int
    judged: int
    agreeing: int  # judged strides with their clip's most common judged verdict
    cadence_within_3pct: int
    cadence_clips: int

    def to_json(self) -> dict[str, Any]:
        return {
            "clips": self.clips, "labelled_clips": self.labelled_clips,
            "events": {e.event: {
                "clips": e.clips, "labels": e.labels, "decidable": e.decidable, "matched": e.matched,
                "missed": e.missed, "n/a": e.undecidable, "extra": e.extra, "other_foot": e.other_foot,
                "recall": _r(e.recall, 3), "extra_share": _r(e.extra_share, 3),
                "median_abs_error_frames": _r(e.median_abs_error_frames, 2),
                "median_abs_error_ms": _r(e.median_abs_error_ms, 1),
                "p95_abs_error_frames": _r(e.p95_abs_error_frames, 2), "bias_frames": _r(e.bias_frames, 2),
                "feet_labelled": e.feet_labelled, "feet_named": e.feet_named}
                for e in self.events},
            "initiation": {**self.initiation, "median_abs_error_frames": _r(
                float(np.median(self.initiation_abs_errors_frames)) if self.initiation_abs_errors_frames else None,
                2)},
            "strides": self.strides, "judged": self.judged,
            "judged_share": _r(self.judged / self.strides, 3) if self.strides else None,
            "agreement": _r(self.agreeing / self.judged, 3) if self.judged else None,
            "cadence_within_3pct": self.cadence_within_3pct, "cadence_clips": self.cadence_clips,
        }


def pool(reports: Sequence[ClipReport]) -> Pooled:
    events = []
    for kind in SCORED_EVENTS:
        cells = [(r, e) for r in reports for e in r.events if e.event == kind]
        frames: list[float] = []
        ms: list[float] = []
        for r, e in cells:
            frames += [x / r.spec.every for x in e.signed_errors_frames]
            ms += [x * (r.frame_ms or 0.0) for x in e.signed_errors_frames]
        ab = np.abs(np.asarray(frames, dtype=float))
        events.append(PooledEvent(
            kind, len(cells), sum(e.labels for _, e in cells), sum(e.decidable for _, e in cells),
            sum(e.matched for _, e in cells), sum(e.missed for _, e in cells),
            sum(e.undecidable for _, e in cells), sum(e.extra for _, e in cells),
            sum(e.other_foot for _, e in cells), sum(e.matched + e.extra + e.other_foot for _, e in cells),
            float(np.median(ab)) if ab.size else None,
            float(np.median(np.abs(ms))) if ms else None,
            float(np.percentile(ab, 95)) if ab.size else None,
            float(np.mean(frames)) if frames else None,
            sum(e.feet_labelled for _, e in cells), sum(e.feet_named for _, e in cells)))
    outcomes = Counter(r.initiation.outcome for r in reports
                       if r.initiation is not None and r.initiation.outcome != UNLABELLED)
    init_err = tuple(abs(r.initiation.error_frames) for r in reports
                     if r.initiation is not None and r.initiation.error_frames is not None)
    runs = [r.run for r in reports if r.run is not None]
    agreeing = sum(max(x.go, x.no_go) for x in runs)
    cad = [x.cadence_error_pct for x in runs if x.cadence_truth_spm]
    return Pooled(len(reports), sum(r.labelled for r in reports), tuple(events), dict(sorted(outcomes.items())),
                  init_err, sum(x.strides for x in runs), sum(x.judged for x in runs), agreeing,
                  sum(1 for c in cad if c is not None and abs(c) <= 3.0), len(cad))


def _f(x: float | None, nd: int = 1, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.{nd}f}%" if pct else f"{x:.{nd}f}"


def format_pooled(p: Pooled) -> str:
    lines = [f"pooled over {p.clips} clips ({p.labelled_clips} with labels); errors in frames of each clip's "
             "analysed rate",
             f"{'event':10s} {'clips':>5s} {'labels':>6s} {'n/a':>4s} {'matched':>7s} {'recall':>7s} "
             f"{'missed':>6s} {'extra':>5s} {'extra%':>6s} {'other':>5s} {'med fr':>6s} {'med ms':>6s} "
             f"{'p95 fr':>6s} {'bias fr':>7s}"]
    for e in p.events:
        if not e.labels:
            continue
        lines.append(f"{e.event:10s} {e.clips:5d} {e.labels:6d} {e.undecidable:4d} {e.matched:7d} "
                     f"{_f(e.recall, 1, True):>7s} {e.missed:6d} {e.extra:5d} {_f(e.extra_share, 1, True):>6s} "
                     f"{e.other_foot:5d} {_f(e.median_abs_error_frames, 2):>6s} {_f(e.median_abs_error_ms, 0):>6s} "
                     f"{_f(e.p95_abs_error_frames, 2):>6s} {_f(e.bias_frames, 2):>7s}")
    init = ", ".join(f"{k} {v}" for k, v in p.initiation.items()) or "-"
    med = _f(float(np.median(p.initiation_abs_errors_frames)), 1) if p.initiation_abs_errors_frames else "-"
    lines.append(f"initiation: {init} (clips); median |error| {med} frames")
    judged = f"{p.judged}/{p.strides} strides judged ({_f(p.judged / p.strides if p.strides else None, 0, True)})"
    agree = _f(p.agreeing / p.judged if p.judged else None, 0, True)
    lines.append(f"verdicts: {judged}; {agree} of judged strides agree with their clip's most common verdict")
    if p.cadence_clips:
        lines.append(f"cadence: {p.cadence_within_3pct} of {p.cadence_clips} clips with a truth within ±3 %")
    feet = feet_line(p.events)
    if feet:
        lines.append(feet)
    return "\n".join(lines)


def _cell(e: EventScore | None, every: int) -> str:
    """matched/decidable, extra (+other foot), median |error| in analysed frames."""
    if e is None:
        return "-"
    med = np.median(np.abs(e.signed_errors_frames)) / every if e.signed_errors_frames else None
    other = f"+{e.other_foot}o" if e.other_foot else ""
    return f"{e.matched}/{e.decidable} x{e.extra}{other} {_f(med, 1)}"


def format_clips(reports: Sequence[ClipReport]) -> str:
    w = max([len(r.spec.name) for r in reports] + [4])
    lines = [f"{'clip':{w}s} {'fps':>5s} {'contact':>14s} {'toe_off':>14s} {'midstance':>14s} "
             f"{'initiation':>14s} {'cadence (truth)':>19s} {'strides':>7s} {'judged':>6s} {'agree':>5s} "
             f"{'hof sd':>6s}",
             "  (event cells: matched/decidable, x extra, +No other foot's (one-foot labels), median |error| "
             "in analysed frames)"]
    for r in reports:
        fps = _f(r.analysed_fps, 0)
        if r.status.startswith("error"):
            lines.append(f"{r.spec.name:{w}s} {fps:>5s} {r.status}")
            continue
        by = {e.event: e for e in r.events}
        cells = [_cell(by.get(k), r.spec.every) for k in SCORED_EVENTS] if r.status == "ok" else ["no labels", "", ""]
        init = "-"
        if r.initiation is not None:
            i = r.initiation
            if i.outcome == UNLABELLED:
                init = f"fired {i.fired}"
            else:
                init = i.outcome + ("" if i.error_frames is None else f" {i.error_frames:+.1f}")
        cad = "-"
        if r.run is not None and r.run.cadence_spm is not None:
            cad = f"{r.run.cadence_spm:.1f}"
            if r.run.cadence_truth_spm:
                cad += f" ({r.run.cadence_truth_spm:.1f} {r.run.cadence_error_pct:+.1f}%)"
        run = r.run
        strides = str(run.strides) if run else "-"
        judged = _f(run.judged_share, 0, True) if run else "-"
        agree = _f(run.agreement, 0, True) if run else "-"
        sd = _f(run.hip_over_foot_sd_ll, 2) if run else "-"
        lines.append(f"{r.spec.name:{w}s} {fps:>5s} {cells[0]:>14s} {cells[1]:>14s} {cells[2]:>14s} {init:>14s} "
                     f"{cad:>19s} {strides:>7s} {judged:>6s} {agree:>5s} {sd:>6s}")
    return "\n".join(lines)

