"""The same CDK app deploys to any region of the local cloud: the region reaches the CDK CLI only through its environment."""

from __future__ import annotations

from devkit.deploy import cdk_environment, outputs_file_for
from devkit.state import OUTPUTS_FILE, REGION


def test_the_cdk_cli_gets_the_region_it_deploys_to() -> None:
    env = cdk_environment("http://localhost:4566", "eu-west-1")
    assert {env[k] for k in ("AWS_REGION", "AWS_DEFAULT_REGION", "CDK_DEFAULT_REGION")} == {"eu-west-1"}


def test_the_home_region_keeps_its_outputs_file_and_another_region_gets_its_own() -> None:
    assert outputs_file_for(REGION) == OUTPUTS_FILE
    assert outputs_file_for("eu-west-1") == OUTPUTS_FILE.with_name("outputs-eu-west-1.json")
