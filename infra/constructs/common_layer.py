"""The common Lambda layer: the ``marquee`` package and its pinned third-party dependencies, built without Docker."""

from __future__ import annotations

from aws_cdk import AssetHashType, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants
from infra.bundling import layer_bundling, source_hash


class CommonLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, target: str) -> None:
        super().__init__(scope, construct_id)
        runtime = lambda_.Runtime.PYTHON_3_11
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            description="marquee shared library + pinned dependencies (Powertools, pydantic, pyjwt)",
            code=lambda_.Code.from_asset(
                str(constants.LAYER_DIR),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=source_hash(constants.LAYER_DIR, target),
                bundling=layer_bundling(
                    layer_dir=constants.LAYER_DIR,
                    target=target,
                    cache_root=constants.LAYER_CACHE_DIR,
                    image=runtime.bundling_image,  # required by the API; never used: local bundling always succeeds
                ),
            ),
            compatible_runtimes=[runtime],
            compatible_architectures=[lambda_.Architecture.X86_64],
            removal_policy=RemovalPolicy.DESTROY,
        )
