"""AWS::CodeDeploy::Application, ::DeploymentConfig and ::DeploymentGroup, created in moto's CodeDeploy backend
(moto's CloudFormation has no model for them). Deployments themselves run in localcloud/codedeploy."""

from __future__ import annotations

from typing import Any

from moto.codedeploy.exceptions import ApplicationDoesNotExistException
from moto.codedeploy.models import codedeploy_backends

from .base import Context, FillIn, as_bool, lower_first, random_name_suffix, require, tags_to_list


def _backend(ctx: Context) -> Any:
    from localcloud.codedeploy import patches

    patches.install()  # a stack can create a deployment group before any CodeDeploy request
    return codedeploy_backends[ctx.account_id][ctx.region_name]


def _generated_name(ctx: Context) -> str:
    return f"{ctx.stack_name}-{ctx.logical_id}-{random_name_suffix(12).upper()}"[:100]


class Application(FillIn):
    CFN_TYPE = "AWS::CodeDeploy::Application"
    NAME_PROPERTY = "ApplicationName"

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Application:
        name = props.get("ApplicationName") or _generated_name(ctx)
        _backend(ctx).create_application(
            name, props.get("ComputePlatform") or "Server", tags_to_list(props.get("Tags"))
        )
        return cls(ctx, name)

    def remove(self) -> None:
        backend = _backend(self.ctx)
        backend.applications.pop(self.physical_resource_id, None)
        backend.deployment_groups.pop(self.physical_resource_id, None)


class DeploymentConfig(FillIn):
    """A custom configuration (CreateDeploymentConfig). Every property change is a replacement, as on AWS."""

    CFN_TYPE = "AWS::CodeDeploy::DeploymentConfig"
    NAME_PROPERTY = "DeploymentConfigName"

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> DeploymentConfig:
        from localcloud.codedeploy.patches import _configs

        name = props.get("DeploymentConfigName") or _generated_name(ctx)
        routing = lower_first(props.get("TrafficRoutingConfig") or {"Type": "AllAtOnce"})
        for spec in (routing.get("timeBasedCanary"), routing.get("timeBasedLinear")):
            for key in list(spec or {}):
                spec[key] = int(spec[key])
        _configs(_backend(ctx))[name] = {
            "deploymentConfigName": name,
            "deploymentConfigId": f"{ctx.logical_id}-local",
            "computePlatform": props.get("ComputePlatform") or "Server",
            "trafficRoutingConfig": routing,
        }
        return cls(ctx, name)

    def remove(self) -> None:
        from localcloud.codedeploy.patches import _configs

        _configs(_backend(self.ctx)).pop(self.physical_resource_id, None)


class DeploymentGroup(FillIn):
    CFN_TYPE = "AWS::CodeDeploy::DeploymentGroup"
    NAME_PROPERTY = "DeploymentGroupName"

    def __init__(self, ctx: Context, name: str, application: str) -> None:
        super().__init__(ctx, name)
        self.application = application

    @staticmethod
    def _alarms(props: dict[str, Any]) -> dict[str, Any]:
        config = props.get("AlarmConfiguration") or {}
        return {
            "enabled": as_bool(config.get("Enabled")),
            "ignorePollAlarmFailure": as_bool(config.get("IgnorePollAlarmFailure")),
            "alarms": [{"name": a["Name"]} for a in config.get("Alarms") or []],
        }

    @staticmethod
    def _rollback(props: dict[str, Any]) -> dict[str, Any]:
        config = props.get("AutoRollbackConfiguration") or {}
        return {"enabled": as_bool(config.get("Enabled")), "events": list(config.get("Events") or [])}

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> DeploymentGroup:
        application = require(props, "ApplicationName", cls.CFN_TYPE)
        name = props.get("DeploymentGroupName") or _generated_name(ctx)
        _backend(ctx).create_deployment_group(
            application_name=application,
            deployment_group_name=name,
            deployment_config_name=props.get("DeploymentConfigName"),
            ec2_tag_filters=None,
            on_premises_instance_tag_filters=None,
            auto_scaling_groups=None,
            service_role_arn=require(props, "ServiceRoleArn", cls.CFN_TYPE),
            alarm_configuration=cls._alarms(props),  # type: ignore[arg-type]
            auto_rollback_configuration=cls._rollback(props),
            deployment_style=lower_first(props.get("DeploymentStyle") or {}),
            tags=tags_to_list(props.get("Tags")),
        )
        return cls(ctx, name, application)

    def remove(self) -> None:
        try:
            groups = _backend(self.ctx).deployment_groups.get(self.application, {})
        except ApplicationDoesNotExistException:
            return
        groups.pop(self.physical_resource_id, None)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        """In place (UpdateDeploymentGroup), unless the application or the group's name changes."""
        name = props.get("DeploymentGroupName") or self.physical_resource_id
        if props.get("ApplicationName") != self.application or name != self.physical_resource_id:
            return super().update(props, new_resource_name)
        group = _backend(self.ctx).get_deployment_group(self.application, name)
        if props.get("DeploymentConfigName"):
            group.deployment_config_name = props["DeploymentConfigName"]
        group.alarm_configuration = self._alarms(props)
        group.auto_rollback_configuration = self._rollback(props)
        group.service_role_arn = props.get("ServiceRoleArn") or group.service_role_arn
        return self
