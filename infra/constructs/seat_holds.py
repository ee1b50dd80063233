"""Seat holds capability (challenge 3): all-or-none holds with fencing tokens and leases, tenant-scoped.

Zero-downtime deploys (design question 2): the routes go through the ``live`` alias, never ``$LATEST``. Each code or
configuration change publishes a version, and CodeDeploy shifts the alias to it by a canary (10 % for 5 minutes on
AWS; 10 % for 1 minute on the local target), watching the alias's error and p99 latency alarms, and rolls back
automatically if either goes off."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import constants, hold_shape
from infra.constructs.api import Api
from infra.constructs.function import PythonFunction
from infra.constructs.tenant_access import TenantAccess
from infra.nag import Waiver, waive

HOLDS_TIMEOUT = Duration.seconds(10)
# The p99 an alias may reach during a deployment: half the function's timeout (a steady p99 is far below it).
LATENCY_ALARM_MS = HOLDS_TIMEOUT.to_milliseconds() // 2


class SeatHolds(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        tenant_access: TenantAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PythonFunction(
            self,
            "Handler",
            name="holds",
            description="Seat holds: POST /showtimes/{id}/holds (all or none), GET and DELETE /holds/{id} (owner)",
            layer=layer,
            target=target,
            memory_size=512,
            timeout=HOLDS_TIMEOUT,
            environment=hold_shape.environment(self),
        )
        tenant_access.grant_to(self.handler)
        self.alias = self._deployed_by_canary(target)
        api.add_route("POST", "/showtimes/{showtimeId}/holds", self.alias)
        api.add_route("GET", "/holds/{holdId}", self.alias)
        api.add_route("DELETE", "/holds/{holdId}", self.alias)

    def _deployed_by_canary(self, target: str) -> lambda_.Alias:
        """The ``live`` alias on the function's current version, moved by a CodeDeploy canary with auto-rollback."""
        alias = lambda_.Alias(
            self, "Live", alias_name=constants.LIVE_ALIAS, version=self.handler.function.current_version
        )
        self.errors_alarm = cloudwatch.Alarm(
            self,
            "LiveErrors",
            alarm_description="Seat holds (live alias): a function error during a deployment rolls it back",
            metric=alias.metric_errors(period=Duration.minutes(1), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.latency_alarm = cloudwatch.Alarm(
            self,
            "LiveLatency",
            alarm_description=f"Seat holds (live alias): p99 above {LATENCY_ALARM_MS} ms rolls a deployment back",
            metric=alias.metric_duration(period=Duration.minutes(1), statistic="p99"),
            threshold=LATENCY_ALARM_MS,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        config: codedeploy.ILambdaDeploymentConfig = codedeploy.LambdaDeploymentConfig.CANARY_10_PERCENT_5_MINUTES
        if target == constants.TARGET_LOCAL:  # the shortest a custom configuration can be: 10 % for 1 minute
            config = codedeploy.LambdaDeploymentConfig(
                self,
                "LocalCanary",
                traffic_routing=codedeploy.TimeBasedCanaryTrafficRouting(interval=Duration.minutes(1), percentage=10),
            )
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "Deployments",
            alias=alias,
            deployment_config=config,
            alarms=[self.errors_alarm, self.latency_alarm],
            auto_rollback=codedeploy.AutoRollbackConfig(failed_deployment=True, deployment_in_alarm=True),
        )
        waive(
            self.deployment_group,
            Waiver(
                "AwsSolutions-IAM4",
                "CodeDeploy's service role uses AWSCodeDeployRoleForLambdaLimited, the AWS-managed policy AWS "
                "documents for Lambda deployments (alias updates and hook invokes only).",
                finding="Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited",
            ),
        )
        return alias
