"""Loading the one config file: strict TOML over the embedded defaults, then environment overrides.

Loading is strict: an unknown section or key, or a value of the wrong type, is a ``ConfigError``
(a typo in a config file must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from appliance.config.sections import Config
from appliance.errors import ConfigError
from appliance.numbers import is_finite_number

log = logging.getLogger(__name__)


def _build(cls: type, table: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        default = getattr(cls(), key)
        if dataclasses.is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{key} must be a table")
            kwargs[key] = _build(type(default), value, f"{where}.{key}")
        elif isinstance(default, float):
            if not is_finite_number(value):
                raise ConfigError(f"{where}.{key} must be a finite number, got {value!r}")
            kwargs[key] = float(value)
        elif not isinstance(value, type(default)):
            raise ConfigError(f"{where}.{key} must be {type(default).__name__}, got {value!r}")
        else:
            kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(data: dict[str, Any]) -> Config:
    """Validate a parsed TOML document into a Config (unknown keys are errors)."""
    return _build(Config, data, "config")


ENV_PREFIX = "LEANCAM_"


def _parse_env(raw: str, default: Any, name: str) -> Any:
    """Read an environment override as the type of the field it overrides."""
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        return type(default)(raw)
    except ValueError as err:
        raise ConfigError(f"environment {name}={raw!r}: must be {type(default).__name__}") from err


def env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """``LEANCAM_<SECTION>_<KEY>`` variables as a config table, e.g. LEANCAM_WEB_HOST=0.0.0.0.

    Only known section/key pairs are read (other LEANCAM_* variables are paths and switches of
    their own), so a typo in a variable name is ignored rather than fatal — `leancam doctor`-style
    checks belong to the file, which is strict.
    """
    table: dict[str, Any] = {}
    defaults = Config()
    for sec in fields(Config):
        section = getattr(defaults, sec.name)
        for f in fields(section):
            name = f"{ENV_PREFIX}{sec.name}_{f.name}".upper()
            if name in environ:
                table.setdefault(sec.name, {})[f.name] = _parse_env(environ[name], getattr(section, f.name), name)
    return table


def read_toml(path: Path) -> dict[str, Any]:
    """Parse one TOML file; every way it can fail is a one-line ``ConfigError`` naming the file."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: no such config file") from err
    except IsADirectoryError as err:
        raise ConfigError(f"{path}: is a directory, not a config file") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot read ({err.strerror or err})") from err


def load_config(path: Path | str | None = None) -> Config:
    """Load ``path`` (TOML) over the embedded defaults; ``None`` gives the defaults."""
    if path is None:
        return Config()
    path = Path(path)
    cfg = config_from_dict(read_toml(path))
    log.debug("config loaded from %s", path)
    return cfg


def load_appliance_config(path: Path | str | None = None, environ: dict[str, str] | None = None) -> Config:
    """The running appliance's config: ``path`` (or the default config file if it exists), then
    ``LEANCAM_<SECTION>_<KEY>`` environment overrides on top."""
    from appliance import paths

    environ = dict(os.environ if environ is None else environ)
    if path is None and paths.config_path().is_file():
        path = paths.config_path()
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        data = read_toml(path)
        log.info("config: %s", path)
    for section, values in env_overrides(environ).items():
        if not isinstance(data.get(section, {}), dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        data.setdefault(section, {}).update(values)
    return config_from_dict(data)
