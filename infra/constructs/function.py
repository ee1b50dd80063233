"""A Marquee Python function: its own least-privilege role, its own log group, the common layer, Powertools wiring."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import AssetHashType, Duration, SymlinkFollowMode
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import constants
from infra.bundling import function_bundling, function_source_hash
from infra.nag import Waiver, waive

SERVICE_METADATA = "marquee:service"


def service_of(function: lambda_.IFunction) -> str | None:
    """The service name a PythonFunction recorded on its Lambda function (its POWERTOOLS_SERVICE_NAME)."""
    names = [entry.data for entry in function.node.metadata if entry.type == SERVICE_METADATA]
    return str(names[0]) if names else None


class PythonFunction(Construct):
    """The package ``functions.<name>`` deployed on Python 3.11 with the common layer, entry ``handler.handler``.

    ``handler`` names the entry inside the package; the Lambda handler setting is ``functions.<code>.<handler>``, and the
    asset holds ``functions/__init__.py`` and ``functions/<code>/`` (see ``FunctionPackageBundling``).
    Several functions can share one code folder with their own handlers (the order saga's steps):
    ``code="order_saga", handler="handler.reserve_seats"``. ``name`` stays the service name.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        layer: lambda_.ILayerVersion,
        target: str,
        environment: Mapping[str, str],
        memory_size: int,
        timeout: Duration,
        code: str | None = None,
        handler: str = "handler.handler",
    ) -> None:
        super().__init__(scope, construct_id)

        # An explicit log group replaces the LogRetention custom resource (which the local cloud cannot run).
        self.log_group = logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=constants.REMOVAL_POLICY
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of the {name} function (least privilege, granted per resource)",
        )
        self.log_group.grant_write(self.role)

        powertools = {
            "POWERTOOLS_SERVICE_NAME": name,
            "POWERTOOLS_METRICS_NAMESPACE": constants.METRICS_NAMESPACE,
            "LOG_LEVEL": constants.LOG_LEVEL,
        }
        if target == constants.TARGET_LOCAL:
            powertools["POWERTOOLS_TRACE_DISABLED"] = "true"  # no X-Ray daemon in the local cloud

        # What the function's environment holds, kept here too (CDK renders it lazily): the sharding construct routes
        # every function whose TABLE_NAME is the main table. Add variables with ``add_environment`` to keep it true.
        self.environment: dict[str, str] = {**powertools, **environment}
        folder = code or name
        runtime = lambda_.Runtime.PYTHON_3_11
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=runtime,
            architecture=lambda_.Architecture.X86_64,  # the layer's wheels are built for x86_64
            handler=f"{constants.FUNCTIONS_DIR.name}.{folder}.{handler}",
            # Links are followed: the health function serves docs/openapi.json through functions/health/openapi.json.
            code=lambda_.Code.from_asset(
                str(constants.FUNCTIONS_DIR / folder),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=function_source_hash(constants.FUNCTIONS_DIR, folder),
                bundling=function_bundling(
                    functions_dir=constants.FUNCTIONS_DIR,
                    folder=folder,
                    image=runtime.bundling_image,  # required by the API; never used: local bundling always succeeds
                ),
                follow_symlinks=SymlinkFollowMode.ALWAYS,
            ),
            layers=[layer],
            role=self.role,
            memory_size=memory_size,
            timeout=timeout,
            environment=dict(self.environment),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
        )
        self.function.node.add_metadata(SERVICE_METADATA, name)  # the API's MOCK fallback looks services up by it

        waive(
            self.function,
            Waiver(
                "AwsSolutions-L1",
                "Pinned to Python 3.11 on purpose: the layer's wheels, the local cloud's interpreter and the project's "
                "virtualenv are all 3.11; the runtime is bumped for all of them together.",
            ),
        )
        waive(
            self.role,
            Waiver(
                "AwsSolutions-IAM5",
                "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions (Resource '*').",
                finding="Resource::*",
            ),
        )

    def add_environment(self, name: str, value: str) -> None:
        self.environment[name] = value
        self.function.add_environment(name, value)
