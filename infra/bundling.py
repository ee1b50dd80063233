"""Docker-free bundling, implemented as CDK ``ILocalBundling``: the common layer (pip on the host) and each function's
code (its package copied under its own name, ``FunctionPackageBundling`` below).

CDK asks the local bundler first and only falls back to the Docker ``image`` when it returns ``False``. This bundler
never returns ``False``: it either builds the layer or raises ``LayerBuildError``, so Docker is never used.

- target ``aws``: wheels for Lambda (``manylinux2014_x86_64``, CPython 3.11, binary wheels only), whatever the host;
- target ``local``: plain ``pip install`` for the host interpreter (the local cloud runs handlers on the host).

``requirements.txt`` pins every package, transitive ones included, and pip runs with ``--no-deps``:
the file IS the layer.
pip's output is cached under ``.cache/layers/<hash of requirements + target>/`` so repeat synths only copy files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling

from infra.constants import LAMBDA_WHEEL_PLATFORM, PYTHON_VERSION, TARGET_AWS, TARGET_LOCAL, TARGETS

IGNORED_NAMES = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


def _link_or_copy(source: str, destination: str) -> None:
    """Hard-link from the cache when on the same filesystem (fast, no extra disk); copy otherwise."""
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _ignore_in_packages(directory: str, names: list[str]) -> set[str]:
    ignored = set(IGNORED_NAMES(directory, names))
    if Path(directory).name == "python":
        ignored.add("bin")  # console scripts pip wrote with the build host's interpreter path: useless in Lambda
    return ignored


class LayerBuildError(RuntimeError):
    """pip could not build the layer's site-packages."""


def pip_arguments(target: str) -> list[str]:
    """The target-specific pip flags."""
    if target == TARGET_AWS:
        return [
            "--platform",
            LAMBDA_WHEEL_PLATFORM,
            "--only-binary=:all:",
            "--python-version",
            PYTHON_VERSION,
            "--implementation",
            "cp",
        ]
    if target == TARGET_LOCAL:
        return []
    raise LayerBuildError(f"unknown target {target!r}; expected one of {TARGETS}")


def cache_key(requirements: Path, target: str) -> str:
    """Hash of what determines pip's output: the pinned requirements, the target and, for `local`, the interpreter."""
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(f"\0{target}\0{' '.join(pip_arguments(target))}".encode())
    if target == TARGET_LOCAL:
        digest.update(f"\0{sys.implementation.cache_tag}\0{sys.platform}\0{os.uname().machine}".encode())
    return digest.hexdigest()[:20]


def source_hash(layer_dir: Path, target: str) -> str:
    """Asset hash: the layer's own sources plus the pip cache key (so a target switch never reuses a stale bundle)."""
    digest = hashlib.sha256(cache_key(layer_dir / "requirements.txt", target).encode())
    for path in sorted(p for p in (layer_dir / "python").rglob("*") if p.is_file()):
        if "__pycache__" in path.parts or path.suffix in {".pyc", ".pyo"}:
            continue
        digest.update(str(path.relative_to(layer_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def site_packages(requirements: Path, target: str, cache_root: Path) -> Path:
    """Return a directory holding the installed requirements, building it with pip on a cache miss."""
    cached = cache_root / cache_key(requirements, target) / "python"
    if cached.is_dir():
        return cached
    cache_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="building-", dir=cache_root))
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--requirement",
        str(requirements),
        "--target",
        str(staging / "python"),
        "--no-deps",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        *pip_arguments(target),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise LayerBuildError(f"pip failed ({result.returncode}) building the {target} layer:\n{result.stderr}")
    cached.parent.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(cached.parent)  # atomic publish: a half-built cache entry is never visible
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # a concurrent synth published it first
    return cached


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Builds ``<output>/python`` = pinned requirements (via pip, cached) + the ``marquee`` package."""

    def __init__(self, *, layer_dir: Path, target: str, cache_root: Path) -> None:
        if target not in TARGETS:
            raise LayerBuildError(f"unknown target {target!r}; expected one of {TARGETS}")
        self.layer_dir = layer_dir
        self.target = target
        self.cache_root = cache_root

    def try_bundle(self, output_dir: str, options: object = None, **_: object) -> bool:
        """Called by CDK before any Docker bundling; always builds (or raises), so Docker is never reached."""
        python_dir = Path(output_dir) / "python"
        packages = site_packages(self.layer_dir / "requirements.txt", self.target, self.cache_root)
        shutil.copytree(
            packages, python_dir, dirs_exist_ok=True, ignore=_ignore_in_packages, copy_function=_link_or_copy
        )
        shutil.copytree(
            self.layer_dir / "python" / "marquee", python_dir / "marquee", dirs_exist_ok=True, ignore=IGNORED_NAMES
        )
        return True


def layer_bundling(*, layer_dir: Path, target: str, cache_root: Path, image: DockerImage) -> BundlingOptions:
    """Bundling options whose ``image`` is required by CDK but never used (the local bundler always succeeds)."""
    return BundlingOptions(
        image=image,
        local=PipLayerBundling(layer_dir=layer_dir, target=target, cache_root=cache_root),
    )


def function_source_hash(functions_dir: Path, folder: str) -> str:
    """Asset hash of a function's code: ``functions/__init__.py`` and ``functions/<folder>/``, links followed."""
    digest = hashlib.sha256(b"functions-package-v1")  # the staging layout: bump it if the layout changes
    files = [functions_dir / "__init__.py", *(p for p in (functions_dir / folder).rglob("*") if p.is_file())]
    for path in sorted(files):
        if "__pycache__" in path.parts or path.suffix in {".pyc", ".pyo"}:
            continue
        digest.update(str(path.relative_to(functions_dir.parent)).encode())
        digest.update(path.read_bytes())  # a link's target (functions/health/openapi.json -> docs/openapi.json)
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class FunctionPackageBundling:
    """Stages ``<output>/functions/__init__.py`` + ``<output>/functions/<folder>/``: the package keeps its name in the
    asset, so the handler setting is ``functions.<folder>.handler.<entry>`` and the function's relative imports work
    exactly as in-process. Links are copied as the files they point to."""

    def __init__(self, *, functions_dir: Path, folder: str) -> None:
        self.functions_dir = functions_dir
        self.folder = folder

    def try_bundle(self, output_dir: str, options: object = None, **_: object) -> bool:
        """Called by CDK before any Docker bundling; always copies (or raises), so Docker is never reached."""
        package = Path(output_dir) / self.functions_dir.name
        package.mkdir(parents=True, exist_ok=True)
        shutil.copy2(self.functions_dir / "__init__.py", package / "__init__.py")
        shutil.copytree(
            self.functions_dir / self.folder, package / self.folder, dirs_exist_ok=True, ignore=IGNORED_NAMES
        )
        return True


def function_bundling(*, functions_dir: Path, folder: str, image: DockerImage) -> BundlingOptions:
    """Bundling options whose ``image`` is required by CDK but never used (the local bundler always succeeds)."""
    return BundlingOptions(image=image, local=FunctionPackageBundling(functions_dir=functions_dir, folder=folder))
