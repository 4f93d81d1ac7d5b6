"""Local (Docker-free) bundling of the Lambda layer and the Chalice function.

CDK's default bundling runs in a container and there is no Docker engine where we synthesize, so
both assets (and the media relay's bundle) are assembled in-process with ``ILocalBundling``: copy
the sources, and for the layer ``pip install --target`` its pure-Python dependencies into a cache
that later synths reuse.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii

from switchboard_infra import paths

# The layer's third-party dependencies; boto3/botocore come with the Lambda Python runtime.
LAYER_REQUIREMENTS = ("pynamodb",)
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".chalice", ".pytest_cache", ".mypy_cache", "tests")


def pinned(names: tuple[str, ...], requirements: Path = paths.REQUIREMENTS) -> list[str]:
    """The ``name==version`` lines of requirements.txt for ``names``: one pin for local runs and Lambda."""
    pins: dict[str, str] = {}
    for line in requirements.read_text().splitlines():
        spec = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in spec:
            name = spec.split("==", 1)[0].split("[", 1)[0].strip().lower()
            pins[name] = spec
    missing = [n for n in names if n not in pins]
    if missing:
        raise RuntimeError(f"requirements.txt pins no version for {missing}")
    return [pins[n] for n in names]


def _install_dependencies(requirements: list[str], python_version: str) -> Path:
    """pip-install ``requirements`` once per pin set into the build cache and return that directory."""
    key = hashlib.sha256(("\n".join(requirements) + python_version).encode()).hexdigest()[:16]
    target = paths.BUILD_CACHE / f"layer-deps-{key}"
    if (target / ".complete").exists():
        return target
    # Its own scratch directory per build: parallel synths (test workers) build the same key.
    partial = target.parent / f"{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial"
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
        "--only-binary=:all:", "--implementation", "cp", "--python-version", python_version,
        "--platform", "manylinux2014_aarch64", "--target", str(partial), *requirements,
    ]  # fmt: skip
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        # Offline: the same pinned, pure-Python distributions are installed next to the CDK app.
        _copy_installed(requirements, partial, error)
    (partial / ".complete").touch()
    try:
        partial.rename(target)  # atomic: readers see no directory or a complete one
    except OSError:
        # Another build of the same key finished first: use its copy.
        shutil.rmtree(partial, ignore_errors=True)
        if not (target / ".complete").exists():
            raise
    return target


def _copy_installed(requirements: list[str], target: Path, cause: BaseException) -> None:
    from importlib import metadata

    target.mkdir(parents=True, exist_ok=True)
    for requirement in requirements:
        name, version = requirement.split("==", 1)
        if metadata.version(name) != version:
            raise RuntimeError(f"pip failed and the installed {name} is not {version}: {cause}") from cause
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"pip failed and {name} is not importable here: {cause}") from cause
        source = Path(next(iter(spec.submodule_search_locations)))
        shutil.copytree(source, target / name, ignore=_IGNORE, dirs_exist_ok=True)


@jsii.implements(cdk.ILocalBundling)
class LayerBundler:
    """Builds ``python/`` of the layer: the contact_center package plus its pinned dependencies."""

    def __init__(self, python_version: str) -> None:
        self.python_version = python_version

    def try_bundle(self, output_dir: str, options: Any = None, **_ignored: Any) -> bool:
        site = Path(output_dir) / "python"
        dependencies = _install_dependencies(pinned(LAYER_REQUIREMENTS), self.python_version)
        shutil.copytree(
            dependencies, site, ignore=shutil.ignore_patterns(".complete", "bin"), dirs_exist_ok=True
        )
        shutil.copytree(paths.LAYER_PACKAGE, site / "contact_center", ignore=_IGNORE, dirs_exist_ok=True)
        return True


@jsii.implements(cdk.ILocalBundling)
class ChaliceAppBundler:
    """The Chalice app as ``chalice package`` lays it out: app.py, chalicelib/, and Chalice's runtime.

    Only ``chalice/app.py`` runs in Lambda; it is copied from the Chalice installed for development
    (the same pinned version), located by file, never imported by the CDK app.
    """

    def try_bundle(self, output_dir: str, options: Any = None, **_ignored: Any) -> bool:
        output = Path(output_dir)
        shutil.copytree(paths.API_FUNCTION, output, ignore=_IGNORE, dirs_exist_ok=True)
        # Dependencies come from the layer; a requirements file here would only mislead readers.
        (output / "requirements.txt").unlink(missing_ok=True)
        runtime = output / "chalice"
        runtime.mkdir(exist_ok=True)
        installed = chalice_package_dir()
        # Exactly the two files `chalice package` ships: the runtime and its re-exporting init.
        for name in ("app.py", "__init__.py"):
            shutil.copy2(installed / name, runtime / name)
        return True


@jsii.implements(cdk.ILocalBundling)
class RelayBundler:
    """The media relay's bundle (``relay_agent.write_bundle``)."""

    def try_bundle(self, output_dir: str, options: Any = None, **_ignored: Any) -> bool:
        from switchboard_infra.relay_agent import write_bundle

        write_bundle(Path(output_dir))
        return True


def chalice_package_dir() -> Path:
    spec = importlib.util.find_spec("chalice")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "chalice must be installed where the CDK app runs (pip install -r requirements.txt)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def bundling_options(local: cdk.ILocalBundling) -> cdk.BundlingOptions:
    # The image is required by the API but never pulled: the local bundler always succeeds first.
    return cdk.BundlingOptions(image=cdk.DockerImage.from_registry("local-bundling-only"), local=local)
