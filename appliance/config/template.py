"""A commented TOML of every config key with its default, made from the config dataclasses.

The comment above each field in the source is the documentation, so the template (and
docs/configuration.md, which shows it) cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import inspect
import re

from appliance.config import Config
from appliance.config.writer import toml_value


def field_comments(cls: type) -> dict[str, str]:
    """The ``#`` comment lines directly above each field of a dataclass, joined."""
    lines = inspect.getsource(cls).splitlines()
    comments: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        idx = next((i for i, line in enumerate(lines) if re.match(rf"\s+{f.name}\s*:", line)), None)
        text: list[str] = []
        j = (idx or 0) - 1
        while idx is not None and j >= 0 and lines[j].strip().startswith("#"):
            text.insert(0, lines[j].strip().lstrip("#").strip())
            j -= 1
        comments[f.name] = " ".join(text)
    return comments


def default_toml(width: int = 100) -> str:
    """Every section and key with its default, each preceded by its explanation as comments."""
    cfg = Config()
    out = ["# LeanCam configuration: every key with its default. Keep only what you change.",
           "# Unknown keys are errors. Environment overrides: LEANCAM_<SECTION>_<KEY>=value."]
    for sec in dataclasses.fields(Config):
        section = getattr(cfg, sec.name)
        out += ["", f"[{sec.name}]"]
        comments = field_comments(type(section))
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if comments[f.name]:
                words, line = comments[f.name].split(), "#"
                for w in words:
                    if len(line) + len(w) + 1 > width:
                        out.append(line)
                        line = "#"
                    line += " " + w
                out.append(line)
            out.append(f"{f.name} = {toml_value(value)}" if value is not None else f"# {f.name} = (unset)")
    return "\n".join(out) + "\n"
