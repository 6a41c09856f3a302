"""The finite-number rule, written once: config values must be finite numbers, and measurements
that came out NaN or infinite (a landmark the model lost) are stored and sent as null.

Why null: JSON has no NaN or infinity (Python writes them, browsers, MQTT consumers and
``allow_nan=False`` reject them), and SQLite turns NaN into NULL anyway; a metric that could not
be measured is "unknown", and null says exactly that everywhere.
"""

from __future__ import annotations

import math
from typing import Any


def is_finite_number(value: object) -> bool:
    """True for an int or float that is neither NaN nor infinite; bool is not a number here
    (``true`` in a config file where a number belongs is a mistake, not 1)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float, or None when it is None, NaN or infinite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_safe(value: Any) -> Any:
    """``value`` with every NaN/infinite float, however deeply nested in dicts and lists, made None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
