from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from infra import constants
from infra.bundling import LayerBuildError, PipLayerBundling, cache_key, pip_arguments, source_hash

from .conftest import of_type


def test_aws_target_fetches_lambda_wheels_whatever_the_host() -> None:
    args = pip_arguments(constants.TARGET_AWS)
    assert args[args.index("--platform") + 1] == "manylinux2014_x86_64"
    assert "--only-binary=:all:" in args
    assert args[args.index("--python-version") + 1] == "3.11"
    assert args[args.index("--implementation") + 1] == "cp"


def test_local_target_uses_the_host_interpreter_as_is() -> None:
    assert pip_arguments(constants.TARGET_LOCAL) == []


def test_unknown_target_is_refused() -> None:
    with pytest.raises(LayerBuildError):
        PipLayerBundling(layer_dir=constants.LAYER_DIR, target="mars", cache_root=Path("unused"))


def test_cache_key_and_asset_hash_depend_on_the_target() -> None:
    requirements = constants.LAYER_DIR / "requirements.txt"
    assert cache_key(requirements, constants.TARGET_AWS) != cache_key(requirements, constants.TARGET_LOCAL)
    assert source_hash(constants.LAYER_DIR, constants.TARGET_AWS) != source_hash(
        constants.LAYER_DIR, constants.TARGET_LOCAL
    )


def test_requirements_are_all_pinned_exactly() -> None:
    lines = [
        line.strip()
        for line in (constants.LAYER_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines and all("==" in line for line in lines), lines
    names = {line.split("==")[0].lower() for line in lines}
    assert {"aws-lambda-powertools", "pydantic", "pydantic-settings", "pyjwt"} <= names
    assert not names & {"boto3", "botocore"}  # provided by the Lambda runtime


def test_bundled_layer_holds_marquee_and_its_dependencies(synthesis) -> None:  # noqa: ANN001
    synthesis.require()
    (layer,) = of_type(synthesis.template_json["Resources"], "AWS::Lambda::LayerVersion").values()
    key = layer["Properties"]["Content"]["S3Key"]
    asset = synthesis.outdir / f"asset.{key.removesuffix('.zip')}"
    if asset.is_dir():
        names = {str(p.relative_to(asset)) for p in asset.rglob("*")}
    else:
        with zipfile.ZipFile(asset.with_suffix(".zip")) as archive:
            names = set(archive.namelist())
    for expected in (
        "python/marquee/tenancy/tenant.py",
        "python/marquee/resilience/health.py",
        "python/pydantic/__init__.py",
    ):
        assert expected in names
    assert "python/aws_lambda_powertools/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n]


def test_function_assets_are_the_function_directories(synthesis) -> None:  # noqa: ANN001
    synthesis.require()
    manifest = json.loads((synthesis.outdir / "Marquee.assets.json").read_text())
    packaging = {f["source"]["path"] for f in manifest["files"].values()}
    for name in ("health", "me"):
        key = next(
            p["Properties"]["Code"]["S3Key"]
            for p in of_type(synthesis.template_json["Resources"], "AWS::Lambda::Function").values()
            if p["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == name
        )
        asset = synthesis.outdir / f"asset.{key.removesuffix('.zip')}"
        assert f"asset.{key.removesuffix('.zip')}" in packaging
        assert {"handler.py", "logic.py", "models.py"} <= {p.name for p in asset.iterdir()}
        assert not (asset / "__pycache__").exists()
