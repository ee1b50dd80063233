from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from infra import constants
from infra.bundling import (
    FunctionPackageBundling,
    LayerBuildError,
    PipLayerBundling,
    cache_key,
    function_source_hash,
    pip_arguments,
    source_hash,
)

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


def test_function_assets_are_their_packages_under_their_own_names(synthesis) -> None:  # noqa: ANN001
    """Each asset holds ``functions/__init__.py`` and ``functions/<name>/`` only, so that the handler setting
    ``functions.<name>.handler.handler`` and the package's relative imports work as in-process."""
    synthesis.require()
    manifest = json.loads((synthesis.outdir / "Marquee.assets.json").read_text())
    packaging = {f["source"]["path"] for f in manifest["files"].values()}
    for name in ("health", "me"):
        props = next(
            p["Properties"]
            for p in of_type(synthesis.template_json["Resources"], "AWS::Lambda::Function").values()
            if p["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == name
        )
        assert props["Handler"] == f"functions.{name}.handler.handler"
        key = props["Code"]["S3Key"]
        asset = synthesis.outdir / f"asset.{key.removesuffix('.zip')}"
        assert f"asset.{key.removesuffix('.zip')}" in packaging
        assert [p.name for p in asset.iterdir()] == ["functions"]
        assert {p.name for p in (asset / "functions").iterdir()} == {"__init__.py", name}
        assert {"__init__.py", "handler.py", "logic.py", "models.py"} <= {
            p.name for p in (asset / "functions" / name).iterdir()
        }
        assert not [p for p in asset.rglob("*") if p.name == "__pycache__" or p.suffix == ".pyc"]
    # The link functions/health/openapi.json -> docs/openapi.json is staged as the document itself.
    health = next(p for p in packaging if (synthesis.outdir / p / "functions" / "health").is_dir())
    staged = synthesis.outdir / health / "functions" / "health" / "openapi.json"
    assert not staged.is_symlink()
    assert staged.read_bytes() == (constants.REPO_ROOT / "docs" / "openapi.json").read_bytes()


def test_function_bundling_stages_the_package_under_its_own_name(tmp_path: Path) -> None:
    functions = tmp_path / "functions"
    (functions / "demo" / "__pycache__").mkdir(parents=True)
    (functions / "other").mkdir()
    (functions / "__init__.py").write_text("")
    (functions / "demo" / "__init__.py").write_text("")
    (functions / "demo" / "handler.py").write_text("from .logic import x\n")
    (functions / "demo" / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (functions / "other" / "handler.py").write_text("")
    (tmp_path / "doc.json").write_text("{}")
    (functions / "demo" / "doc.json").symlink_to(tmp_path / "doc.json")
    before = function_source_hash(functions, "demo")

    output = tmp_path / "asset"
    output.mkdir()
    assert FunctionPackageBundling(functions_dir=functions, folder="demo").try_bundle(str(output))
    assert sorted(str(p.relative_to(output)) for p in output.rglob("*")) == [
        "functions",
        "functions/__init__.py",
        "functions/demo",
        "functions/demo/__init__.py",
        "functions/demo/doc.json",
        "functions/demo/handler.py",
    ]
    assert not (output / "functions" / "demo" / "doc.json").is_symlink()

    (functions / "other" / "handler.py").write_text("x = 1\n")
    assert function_source_hash(functions, "demo") == before  # another function's code is not in this asset
    (tmp_path / "doc.json").write_text('{"v": 2}')
    assert function_source_hash(functions, "demo") != before  # a link's target is
