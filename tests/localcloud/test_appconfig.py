"""Parity tests of the AppConfig APIs the local cloud adds to moto (environments, deployments, the appconfigdata session
API), and of Powertools feature flags reading them through its AppConfig store, unchanged."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.feature_flags import AppConfigStore, FeatureFlags
from botocore.exceptions import ClientError

FLAGS_V1 = {"sms_channel": {"default": False}}
FLAGS_V2 = {
    "sms_channel": {
        "default": False,
        "rules": {
            "tenant t1 gets sms": {
                "when_match": True,
                "conditions": [{"action": "EQUALS", "key": "tenant", "value": "t1"}],
            }
        },
    }
}


def _setup(aws: Callable[[str], Any], content: dict[str, Any]) -> dict[str, str]:
    appconfig = aws("appconfig")
    app = appconfig.create_application(Name=f"marquee-{uuid.uuid4().hex[:6]}")["Id"]
    env = appconfig.create_environment(ApplicationId=app, Name="local")["Id"]
    profile = appconfig.create_configuration_profile(ApplicationId=app, Name="flags", LocationUri="hosted")["Id"]
    ids = {"app": app, "env": env, "profile": profile}
    _deploy(aws, ids, content)
    return ids


def _deploy(aws: Callable[[str], Any], ids: dict[str, str], content: dict[str, Any]) -> int:
    appconfig = aws("appconfig")
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=ids["app"],
        ConfigurationProfileId=ids["profile"],
        Content=json.dumps(content).encode(),
        ContentType="application/json",
    )["VersionNumber"]
    deployment = appconfig.start_deployment(
        ApplicationId=ids["app"],
        EnvironmentId=ids["env"],
        DeploymentStrategyId="AppConfig.AllAtOnce",
        ConfigurationProfileId=ids["profile"],
        ConfigurationVersion=str(version),
    )
    assert deployment["State"] == "COMPLETE"
    return int(version)


def test_environment_and_deployment_apis_answer_like_appconfig(aws: Callable[[str], Any]) -> None:
    """AWS AppConfig: ListApplications, CreateEnvironment/GetEnvironment/ListEnvironments,
    StartDeployment/GetDeployment/ListDeployments;
    an unknown environment is ResourceNotFoundException."""
    ids = _setup(aws, FLAGS_V1)
    appconfig = aws("appconfig")
    assert ids["app"] in [a["Id"] for a in appconfig.list_applications()["Items"]]
    assert appconfig.get_environment(ApplicationId=ids["app"], EnvironmentId=ids["env"])["Name"] == "local"
    assert [e["Id"] for e in appconfig.list_environments(ApplicationId=ids["app"])["Items"]] == [ids["env"]]
    deployment = appconfig.get_deployment(ApplicationId=ids["app"], EnvironmentId=ids["env"], DeploymentNumber=1)
    assert deployment["ConfigurationVersion"] == "1" and deployment["State"] == "COMPLETE"
    with pytest.raises(ClientError) as excinfo:
        appconfig.get_environment(ApplicationId=ids["app"], EnvironmentId="nope")
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_session_returns_the_configuration_then_empty_until_it_changes(aws: Callable[[str], Any]) -> None:
    """AWS AppConfig Data: GetLatestConfiguration returns the content the first time, an empty body while it is
    unchanged, and the new content after a new deployment; each call hands out the next token."""
    ids = _setup(aws, FLAGS_V1)
    data = aws("appconfigdata")
    token = data.start_configuration_session(
        ApplicationIdentifier=ids["app"],
        EnvironmentIdentifier="local",
        ConfigurationProfileIdentifier="flags",
        RequiredMinimumPollIntervalInSeconds=15,
    )["InitialConfigurationToken"]
    first = data.get_latest_configuration(ConfigurationToken=token)
    assert json.loads(first["Configuration"].read()) == FLAGS_V1
    assert first["NextPollIntervalInSeconds"] == 15
    second = data.get_latest_configuration(ConfigurationToken=first["NextPollConfigurationToken"])
    assert second["Configuration"].read() == b""
    _deploy(aws, ids, FLAGS_V2)
    third = data.get_latest_configuration(ConfigurationToken=second["NextPollConfigurationToken"])
    assert json.loads(third["Configuration"].read()) == FLAGS_V2


def test_a_spent_or_unknown_token_is_a_bad_request(aws: Callable[[str], Any]) -> None:
    """AWS AppConfig Data: a configuration token is used once; reusing it (or inventing one) is BadRequestException."""
    ids = _setup(aws, FLAGS_V1)
    data = aws("appconfigdata")
    token = data.start_configuration_session(
        ApplicationIdentifier=ids["app"],
        EnvironmentIdentifier=ids["env"],
        ConfigurationProfileIdentifier=ids["profile"],
    )["InitialConfigurationToken"]
    data.get_latest_configuration(ConfigurationToken=token)
    for bad in (token, "not-a-token"):
        with pytest.raises(ClientError) as excinfo:
            data.get_latest_configuration(ConfigurationToken=bad)
        assert excinfo.value.response["Error"]["Code"] == "BadRequestException"


def test_powertools_feature_flags_read_the_deployed_flags_unchanged(aws: Callable[[str], Any]) -> None:
    """Powertools' AppConfigStore (unchanged) evaluates rules from the deployed configuration, and sees a new
    deployment once its cache (max_age) has expired."""
    ids = _setup(aws, FLAGS_V1)
    app_name = aws("appconfig").get_application(ApplicationId=ids["app"])["Name"]
    store = AppConfigStore(
        environment="local", application=app_name, name="flags", max_age=0, boto3_client=aws("appconfigdata")
    )
    flags = FeatureFlags(store=store)
    assert flags.evaluate(name="sms_channel", context={"tenant": "t1"}, default=True) is False
    _deploy(aws, ids, FLAGS_V2)
    assert flags.evaluate(name="sms_channel", context={"tenant": "t1"}, default=False) is True
    assert flags.evaluate(name="sms_channel", context={"tenant": "t2"}, default=True) is False
