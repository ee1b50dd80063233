"""Parity test: a stack parameter of type ``AWS::SSM::Parameter::Value<String>`` (every CDK stack's
``BootstrapVersion``) across an update with ``UsePreviousValue``, the way `cdk deploy` updates a stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from localcloud.cloudformation.resource_types import install

PATH = "/cdk-bootstrap/hnb659fds/version"


def template(queue: str) -> dict[str, Any]:
    return {
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": PATH}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": queue}}},
        "Outputs": {"Version": {"Value": {"Ref": "BootstrapVersion"}}},
    }


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        install()
        yield boto3.client("cloudformation"), boto3.client("ssm")


def deploy(cf: Any, change_set: str, kind: str, queue: str, **kwargs: Any) -> dict[str, str]:
    cf.create_change_set(
        StackName="cdk",
        ChangeSetName=change_set,
        ChangeSetType=kind,
        TemplateBody=json.dumps(template(queue)),
        **kwargs,
    )
    cf.execute_change_set(ChangeSetName=change_set, StackName="cdk")
    stack = cf.describe_stacks(StackName="cdk")["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), stack["StackStatus"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}


def test_use_previous_value_on_an_ssm_parameter_resolves_its_path_again(clients: tuple[Any, Any]) -> None:
    """AWS: UsePreviousValue keeps the parameter's value, which for an SSM parameter type is the parameter's path;
    CloudFormation resolves it again on the update (a changed SSM value is seen)."""
    cf, ssm = clients
    ssm.put_parameter(Name=PATH, Value="21", Type="String")
    assert deploy(cf, "c1", "CREATE", "first")["Version"] == "21"
    ssm.put_parameter(Name=PATH, Value="22", Type="String", Overwrite=True)
    previous = [{"ParameterKey": "BootstrapVersion", "UsePreviousValue": True}]
    assert deploy(cf, "c2", "UPDATE", "second", Parameters=previous)["Version"] == "22"
    assert deploy(cf, "c3", "UPDATE", "third", Parameters=previous)["Version"] == "22"
