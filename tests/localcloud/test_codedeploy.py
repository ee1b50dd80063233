"""Parity: weighted aliases, Lambda metrics, metric alarms and CodeDeploy traffic shifting with automatic rollback.

What AWS documents and these tests hold the local cloud to:
- Lambda DG, "Implement Lambda canary deployments using a weighted alias": an alias with AdditionalVersionWeights
  sends that share of invokes to the additional version, by a simple probabilistic model;
- Lambda DG, "Types of metrics for Lambda functions": Invocations, Errors and Duration, by FunctionName, by Resource
  (``name:alias``) and, for an alias, by ExecutedVersion;
- CloudWatch UG, "Using Amazon CloudWatch alarms" (evaluating an alarm, missing data);
- CodeDeploy UG, "Deployment configurations on an AWS Lambda compute platform" (canary, linear, all-at-once) and
  "Deployments on an AWS Lambda compute platform" (an AppSpec's Name, Alias, CurrentVersion, TargetVersion; status);
- CodeDeploy UG, "Redeploy and roll back a deployment with CodeDeploy" and the DeploymentGroup's
  AutoRollbackConfiguration (DEPLOYMENT_STOP_ON_ALARM): an alarm stops the deployment and the alias goes back;
- CloudFormation UG, "UpdatePolicy attribute" (CodeDeployLambdaAliasUpdate): a stack update that changes the alias's
  version runs a CodeDeploy deployment and waits for it.

A deployment minute lasts a fraction of a second here (``SHIFTER.minute_s``), so each drill takes a few seconds.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.codedeploy import configs
from localcloud.codedeploy.deployments import SHIFTER
from localcloud.server import LocalCloud
from tests.localcloud.conftest import ROLE, invoke, zip_code

V1 = "def handler(event, context):\n    return {'version': 1}\n"
V2 = "def handler(event, context):\n    return {'version': 2}\n"
BROKEN = "def handler(event, context):\n    raise RuntimeError('v2 is broken')\n"


@pytest.fixture
def fast_minutes() -> Iterator[None]:
    minute, tick = SHIFTER.minute_s, SHIFTER.tick_s
    SHIFTER.minute_s, SHIFTER.tick_s = 1.0, 0.05
    yield
    SHIFTER.minute_s, SHIFTER.tick_s = minute, tick


def _two_versions(aws: Callable[[str], Any], make_function: Any, second: str) -> tuple[str, str, str]:
    name = make_function(V1)
    v1 = aws("lambda").publish_version(FunctionName=name)["Version"]
    aws("lambda").update_function_code(FunctionName=name, ZipFile=zip_code({"app.py": second}))
    v2 = aws("lambda").publish_version(FunctionName=name)["Version"]
    aws("lambda").create_alias(FunctionName=name, Name="live", FunctionVersion=v1)
    return name, v1, v2


def test_configurations_step_as_documented() -> None:
    canary = configs.steps(configs.PREDEFINED["CodeDeployDefault.LambdaCanary10Percent5Minutes"])
    assert [(s.percent, s.wait_minutes) for s in canary] == [(10, 5), (100, 0)]
    linear = configs.steps(configs.PREDEFINED["CodeDeployDefault.LambdaLinear10PercentEvery1Minute"])
    assert [s.percent for s in linear] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    assert [s.wait_minutes for s in linear][:-1] == [1] * 9
    assert [(s.percent, s.wait_minutes) for s in configs.steps({"type": "AllAtOnce"})] == [(100, 0)]


def test_a_weighted_alias_sends_its_weight_to_the_additional_version(
    aws: Callable[[str], Any], make_function: Any
) -> None:
    name, v1, v2 = _two_versions(aws, make_function, V2)
    aws("lambda").update_alias(FunctionName=name, Name="live", RoutingConfig={"AdditionalVersionWeights": {v2: 0.3}})
    ran = Counter(
        invoke(aws, f"{name}:live", {})[0]["ResponseMetadata"]["HTTPHeaders"]["x-amz-executed-version"]
        for _ in range(150)
    )
    assert set(ran) == {v1, v2}
    assert 0.15 <= ran[v2] / 150 <= 0.45  # 0.3 drawn per invoke: 150 draws stay well inside this (p > 0.9999)


def test_errors_and_duration_are_published_per_alias_and_executed_version(
    aws: Callable[[str], Any], make_function: Any, cloud: LocalCloud
) -> None:
    name, v1, v2 = _two_versions(aws, make_function, BROKEN)
    aws("lambda").update_alias(FunctionName=name, Name="live", RoutingConfig={"AdditionalVersionWeights": {v2: 0.5}})
    for _ in range(20):
        invoke(aws, f"{name}:live", {})
    cloud.runner.metrics.flush()  # type: ignore[union-attr]

    def total(metric: str, statistic: str, **dims: str) -> float:
        points = aws("cloudwatch").get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName=metric,
            Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
            StartTime=time.time() - 600,
            EndTime=time.time() + 60,
            Period=60,
            Statistics=[statistic],
        )["Datapoints"]
        return sum(p[statistic] for p in points)

    alias = {"FunctionName": name, "Resource": f"{name}:live"}
    assert total("Invocations", "Sum", FunctionName=name) >= 20
    assert total("Invocations", "Sum", **alias) >= 20
    broken = total("Errors", "Sum", **alias, ExecutedVersion=v2)
    assert broken >= 1
    assert total("Errors", "Sum", **alias, ExecutedVersion=v1) == 0
    assert total("Invocations", "Sum", **alias, ExecutedVersion=v2) == broken  # every v2 invoke failed
    assert total("Duration", "SampleCount", **alias) >= 20


class Traffic:
    """Invokes the alias in a loop until stopped, counting what each version answered and every failure."""

    def __init__(self, aws: Callable[[str], Any], target: str) -> None:
        self.aws, self.target = aws, target
        self.ran: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            response = self.aws("lambda").invoke(FunctionName=self.target, Payload=b"{}")
            version = response["ExecutedVersion"]
            response["Payload"].read()
            self.ran[version] += 1
            if response.get("FunctionError"):
                self.failed[version] += 1
            time.sleep(0.005)


def _group(aws: Callable[[str], Any], name: str, *, alarms: list[str], config: str) -> tuple[str, str]:
    app, group = f"app-{name}", f"group-{name}"
    aws("codedeploy").create_application(applicationName=app, computePlatform="Lambda")
    aws("codedeploy").create_deployment_group(
        applicationName=app,
        deploymentGroupName=group,
        serviceRoleArn=ROLE,
        deploymentConfigName=config,
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        alarmConfiguration={"enabled": True, "alarms": [{"name": a} for a in alarms]},
        autoRollbackConfiguration={"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]},
    )
    return app, group


def _errors_alarm(aws: Callable[[str], Any], name: str) -> str:
    alarm = f"errors-{name}"
    aws("cloudwatch").put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": name}, {"Name": "Resource", "Value": f"{name}:live"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    return alarm


def _deploy(aws: Callable[[str], Any], app: str, group: str, name: str, current: str, target: str) -> str:
    appspec = {
        "version": 0.0,
        "Resources": [
            {
                "fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {"Name": name, "Alias": "live", "CurrentVersion": current, "TargetVersion": target},
                }
            }
        ],
    }
    return str(
        aws("codedeploy").create_deployment(
            applicationName=app,
            deploymentGroupName=group,
            revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}},
        )["deploymentId"]
    )


def _wait(aws: Callable[[str], Any], deployment_id: str, timeout: float = 20) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        info: dict[str, Any] = aws("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info["status"] in ("Succeeded", "Failed", "Stopped"):
            return info
        time.sleep(0.05)
    raise AssertionError(f"deployment {deployment_id} still running")


def test_a_canary_deployment_under_traffic_shifts_the_share_then_completes_with_no_failed_request(
    aws: Callable[[str], Any], make_function: Any, fast_minutes: None
) -> None:
    name, v1, v2 = _two_versions(aws, make_function, V2)
    config = f"canary20-{uuid.uuid4().hex[:6]}"
    aws("codedeploy").create_deployment_config(
        deploymentConfigName=config,
        computePlatform="Lambda",
        trafficRoutingConfig={
            "type": "TimeBasedCanary",
            "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 2},
        },
    )
    app, group = _group(aws, name, alarms=[_errors_alarm(aws, name)], config=config)
    with Traffic(aws, f"{name}:live") as traffic:
        time.sleep(0.2)
        deployment_id = _deploy(aws, app, group, name, v1, v2)
        time.sleep(0.5)
        during = aws("lambda").get_alias(FunctionName=name, Name="live")
        info = _wait(aws, deployment_id)
        time.sleep(0.2)

    assert during["FunctionVersion"] == v1
    assert during["RoutingConfig"]["AdditionalVersionWeights"] == {v2: 0.2}
    assert info["status"] == "Succeeded", info
    after = aws("lambda").get_alias(FunctionName=name, Name="live")
    assert after["FunctionVersion"] == v2 and not (after.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert sum(traffic.failed.values()) == 0
    assert traffic.ran[v2] > 0 and traffic.ran[v1] > 0


def test_a_broken_version_trips_the_alarm_and_is_rolled_back_with_failures_within_the_canary_share(
    aws: Callable[[str], Any], make_function: Any, fast_minutes: None
) -> None:
    name, v1, v2 = _two_versions(aws, make_function, BROKEN)
    alarm = _errors_alarm(aws, name)
    app, group = _group(aws, name, alarms=[alarm], config="CodeDeployDefault.LambdaCanary10Percent5Minutes")
    with Traffic(aws, f"{name}:live") as traffic:
        time.sleep(0.2)
        started = time.monotonic()
        deployment_id = _deploy(aws, app, group, name, v1, v2)
        info = _wait(aws, deployment_id)
        rolled_back_after = time.monotonic() - started
        during = sum(traffic.ran.values())
        time.sleep(0.3)

    assert info["status"] == "Stopped"
    assert info["errorInformation"]["code"] == "ALARM_ACTIVE" and alarm in info["errorInformation"]["message"]
    rollback = aws("codedeploy").get_deployment(deploymentId=info["rollbackInfo"]["rollbackDeploymentId"])
    assert rollback["deploymentInfo"]["creator"] == "codeDeployRollback"
    assert rollback["deploymentInfo"]["status"] == "Succeeded"
    alias = aws("lambda").get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] == v1 and not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights")
    assert aws("cloudwatch").describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"] == "ALARM"
    # Every failure came from v2, and only while it had its 10 %; after the rollback v1 answers everything.
    assert set(traffic.failed) == {v2} and traffic.failed[v2] == traffic.ran[v2]
    assert traffic.failed[v2] <= max(3, 0.1 * during * 3)  # well within the canary share, not the whole traffic
    assert rolled_back_after < 5 * SHIFTER.minute_s  # long before the canary's 5 minutes were up


def test_stop_deployment_with_rollback_puts_the_alias_back(
    aws: Callable[[str], Any], make_function: Any, fast_minutes: None
) -> None:
    name, v1, v2 = _two_versions(aws, make_function, V2)
    app, group = _group(aws, name, alarms=[], config="CodeDeployDefault.LambdaLinear10PercentEvery1Minute")
    deployment_id = _deploy(aws, app, group, name, v1, v2)
    time.sleep(0.3)
    aws("codedeploy").stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    info = _wait(aws, deployment_id)
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "MANUAL_STOP"
    assert aws("lambda").get_alias(FunctionName=name, Name="live")["FunctionVersion"] == v1


def test_a_deployment_from_a_version_the_alias_is_not_on_fails_and_leaves_the_alias(
    aws: Callable[[str], Any], make_function: Any, fast_minutes: None
) -> None:
    name, v1, v2 = _two_versions(aws, make_function, V2)
    app, group = _group(aws, name, alarms=[], config="CodeDeployDefault.LambdaAllAtOnce")
    info = _wait(aws, _deploy(aws, app, group, name, v2, v1))
    assert info["status"] == "Failed" and info["errorInformation"]["code"] == "INVALID_LAMBDA_CONFIGURATION"
    assert aws("lambda").get_alias(FunctionName=name, Name="live")["FunctionVersion"] == v1


def _stack_template(bucket: str, key: str, version_id: str) -> str:
    return json.dumps(
        {
            "Resources": {
                "Fn": {
                    "Type": "AWS::Lambda::Function",
                    "Properties": {
                        "Code": {"S3Bucket": bucket, "S3Key": key},
                        "Handler": "app.handler",
                        "Role": ROLE,
                        "Runtime": "python3.11",
                    },
                },
                version_id: {
                    "Type": "AWS::Lambda::Version",
                    "Properties": {"FunctionName": {"Ref": "Fn"}},
                },
                "App": {"Type": "AWS::CodeDeploy::Application", "Properties": {"ComputePlatform": "Lambda"}},
                "Canary": {
                    "Type": "AWS::CodeDeploy::DeploymentConfig",
                    "Properties": {
                        "ComputePlatform": "Lambda",
                        "TrafficRoutingConfig": {
                            "Type": "TimeBasedCanary",
                            "TimeBasedCanary": {"CanaryPercentage": 50, "CanaryInterval": 1},
                        },
                    },
                },
                "Group": {
                    "Type": "AWS::CodeDeploy::DeploymentGroup",
                    "Properties": {
                        "ApplicationName": {"Ref": "App"},
                        "ServiceRoleArn": ROLE,
                        "DeploymentConfigName": {"Ref": "Canary"},
                        "DeploymentStyle": {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"},
                        "AutoRollbackConfiguration": {"Enabled": True, "Events": ["DEPLOYMENT_FAILURE"]},
                    },
                },
                "Live": {
                    "Type": "AWS::Lambda::Alias",
                    "Properties": {
                        "Name": "live",
                        "FunctionName": {"Ref": "Fn"},
                        "FunctionVersion": {"Fn::GetAtt": [version_id, "Version"]},
                    },
                    "UpdatePolicy": {
                        "CodeDeployLambdaAliasUpdate": {
                            "ApplicationName": {"Ref": "App"},
                            "DeploymentGroupName": {"Ref": "Group"},
                        }
                    },
                },
            },
            "Outputs": {"FunctionName": {"Value": {"Ref": "Fn"}}, "GroupName": {"Value": {"Ref": "Group"}}},
        }
    )


def test_a_stack_update_of_an_alias_with_the_codedeploy_update_policy_shifts_through_a_deployment(
    aws: Callable[[str], Any], fast_minutes: None
) -> None:
    stack = f"canary-{uuid.uuid4().hex[:8]}"
    bucket = f"{stack}-code"
    aws("s3").create_bucket(Bucket=bucket)
    aws("s3").put_object(Bucket=bucket, Key="v1.zip", Body=zip_code({"app.py": V1}))
    aws("s3").put_object(Bucket=bucket, Key="v2.zip", Body=zip_code({"app.py": V2}))
    cfn = aws("cloudformation")
    cfn.create_stack(StackName=stack, TemplateBody=_stack_template(bucket, "v1.zip", "VersionA"))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
    name = outputs["FunctionName"]
    assert invoke(aws, f"{name}:live", {})[1] == {"version": 1}

    started = time.monotonic()
    cfn.update_stack(StackName=stack, TemplateBody=_stack_template(bucket, "v2.zip", "VersionB"))
    took = time.monotonic() - started

    alias = aws("lambda").get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] == "2" and invoke(aws, f"{name}:live", {})[1] == {"version": 2}
    assert took >= SHIFTER.minute_s  # the update waited for the canary's minute
    app = next(a for a in aws("codedeploy").list_applications()["applications"] if a.startswith(stack))
    deployments = aws("codedeploy").list_deployments(applicationName=app, deploymentGroupName=outputs["GroupName"])
    [deployment_id] = deployments["deployments"]
    info = aws("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    assert info["status"] == "Succeeded"
    assert info["deploymentStatusMessages"][0] == "50% of traffic on version 2"
    versions = [v["Version"] for v in aws("lambda").list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "2"]  # the old version went in the cleanup, after the deployment
    cfn.delete_stack(StackName=stack)
