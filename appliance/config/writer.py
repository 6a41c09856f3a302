"""Writing config TOML: the settings page's file and ``leancam config --defaults`` use these.

``tomllib`` only reads, and the config's shape is small (tables of scalars and lists), so a few
lines replace a dependency. The file is replaced atomically (``store.files``): a power cut while
saving the settings must leave the old config or the new one, never a file the loader rejects.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from appliance.store.files import atomic_write


def toml_value(v: Any) -> str:
    """One value as TOML: bool, int, float, str, or a list of those."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        return r if any(c in r for c in ".en") else r + ".0"
    if isinstance(v, str):
        return json.dumps(v)  # JSON basic strings are valid TOML basic strings
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(data: dict[str, Any], prefix: str = "") -> str:
    """Tables of scalars and lists, nested tables as ``[a.b]``."""
    lines = [f"{k} = {toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    out = []
    if lines:
        out.append((f"[{prefix}]\n" if prefix else "") + "\n".join(lines) + "\n")
    for k, v in data.items():
        if isinstance(v, dict):
            out.append(to_toml(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(s for s in out if s)


def write_toml(path: Path, data: dict[str, Any], header: str = "") -> None:
    """Replace ``path`` with ``header`` + ``data`` as TOML, atomically. The temporary name carries
    the process id: ``leancam run`` and ``leancam web`` may both save the same file."""
    atomic_write(path, header + to_toml(data), tmp_suffix=f".{os.getpid()}.tmp")
