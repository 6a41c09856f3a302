"""Every reason code the analysis and the appliance can emit has plain words on the live board."""

from __future__ import annotations

import re
from pathlib import Path

from appliance.web.reasons import REASONS, reason_text

ROOT = Path(__file__).resolve().parent.parent


def emitted_codes() -> set[str]:
    """Reason codes as they are written in the code that makes verdicts and states."""
    codes: set[str] = set()
    for rel in ("appliance/analysis/lean/verdict.py", "appliance/analysis/analyzer.py",
                "appliance/feedback/controller.py"):
        text = (ROOT / rel).read_text()
        codes |= set(re.findall(r'(?:reasons|faults)\.append\("([a-z_]+)"\)', text))
        codes |= set(re.findall(r'verdict_of\("([a-z_]+)"', text))
        codes |= set(re.findall(r'return UNSURE, \["([a-z_]+)"\]', text))
        codes |= set(re.findall(r'"unsure", \[?\(?"([a-z_]+)"', text))
        codes |= set(re.findall(r'"status", \("([a-z_]+)",\)', text))
        codes |= set(re.findall(r'"(near_limit_[a-z_]+)"', text))  # verdict.NEAR_LIMIT
        codes |= set(re.findall(r'return "([a-z_]+)"\n', text))  # verdict.stride_gate
    return codes


def test_every_emitted_reason_has_words() -> None:
    codes = emitted_codes()
    # the scan works
    assert {"sitting_back", "butt_out", "slouch", "over_lean", "walking", "no_push_off",
            "near_limit_pelvis_offset"} <= codes
    missing = sorted(c for c in codes if c not in REASONS)
    assert not missing, f"reasons without plain words on the board: {missing}"


def test_unknown_code_still_reads() -> None:
    assert reason_text("some_new_reason") == "some new reason"
