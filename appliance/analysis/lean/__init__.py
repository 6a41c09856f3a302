"""Lean: per-stride and initiation metrics in the gravity frame, and go / no_go / unsure verdicts."""
