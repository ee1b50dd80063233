"""AWS::AppConfig::* fill-ins.

Applications, configuration profiles and hosted configuration versions live in moto's appconfig backend. Environments,
deployment strategies and deployments, which moto lacks, live in `localcloud.appconfig.store`.
"""

from __future__ import annotations

from typing import Any

from moto.appconfig.exceptions import AppNotFoundException, ConfigurationProfileNotFound
from moto.appconfig.models import appconfig_backends

from localcloud.appconfig import store as appconfig_store

from .base import Context, FillIn, as_int, require, tags_to_dict


def _backend(ctx: Context) -> Any:
    return appconfig_backends[ctx.account_id][ctx.region_name]


def _store(ctx: Context) -> appconfig_store.AppConfigStore:
    return appconfig_store.store(ctx.account_id, ctx.region_name)


class Application(FillIn):
    CFN_TYPE = "AWS::AppConfig::Application"
    ATTRIBUTES = frozenset({"ApplicationId"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Application:
        app = _backend(ctx).create_application(
            require(props, "Name", cls.CFN_TYPE), props.get("Description"), tags_to_dict(props.get("Tags"))
        )
        return cls(ctx, app.id, {"ApplicationId": app.id})

    def remove(self) -> None:
        store = _store(self.ctx)
        for environment in store.list_environments(self.physical_resource_id):
            store.delete_environment(self.physical_resource_id, environment.id)
        _backend(self.ctx).delete_application(self.physical_resource_id)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        _backend(self.ctx).update_application(self.physical_resource_id, props.get("Name"), props.get("Description"))
        return self


class Environment(FillIn):
    CFN_TYPE = "AWS::AppConfig::Environment"
    ATTRIBUTES = frozenset({"EnvironmentId"})

    def __init__(self, ctx: Context, physical_id: str, application_id: str) -> None:
        super().__init__(ctx, physical_id, {"EnvironmentId": physical_id})
        self.application_id = application_id

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Environment:
        application_id = require(props, "ApplicationId", cls.CFN_TYPE)
        environment = _store(ctx).create_environment(
            application_id, require(props, "Name", cls.CFN_TYPE), props.get("Description"), props.get("Monitors")
        )
        return cls(ctx, environment.id, application_id)

    def remove(self) -> None:
        store = _store(self.ctx)
        if any(e.id == self.physical_resource_id for e in store.list_environments(self.application_id)):
            store.delete_environment(self.application_id, self.physical_resource_id)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        if props.get("ApplicationId") != self.application_id:
            return super().update(props, new_resource_name)
        environment = _store(self.ctx).get_environment(self.application_id, self.physical_resource_id)
        environment.name = require(props, "Name", self.CFN_TYPE)
        environment.description = props.get("Description")
        environment.monitors = props.get("Monitors") or []
        return self


class ConfigurationProfile(FillIn):
    CFN_TYPE = "AWS::AppConfig::ConfigurationProfile"
    ATTRIBUTES = frozenset({"ConfigurationProfileId", "KmsKeyArn"})

    def __init__(self, ctx: Context, physical_id: str, application_id: str, kms_key_arn: str | None) -> None:
        super().__init__(ctx, physical_id, {"ConfigurationProfileId": physical_id, "KmsKeyArn": kms_key_arn or ""})
        self.application_id = application_id

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> ConfigurationProfile:
        application_id = require(props, "ApplicationId", cls.CFN_TYPE)
        profile = _backend(ctx).create_configuration_profile(
            application_id=application_id,
            name=require(props, "Name", cls.CFN_TYPE),
            description=props.get("Description"),
            location_uri=require(props, "LocationUri", cls.CFN_TYPE),
            retrieval_role_arn=props.get("RetrievalRoleArn"),
            validators=props.get("Validators") or [],
            _type=props.get("Type") or "AWS.Freeform",
            tags=tags_to_dict(props.get("Tags")),
        )
        return cls(ctx, profile.id, application_id, props.get("KmsKeyIdentifier"))

    def remove(self) -> None:
        try:
            _backend(self.ctx).delete_configuration_profile(self.application_id, self.physical_resource_id)
        except (AppNotFoundException, KeyError):
            return  # the application went first, and its profiles with it

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        if (
            props.get("ApplicationId") != self.application_id
            or props.get("LocationUri")
            != _backend(self.ctx).get_configuration_profile(self.application_id, self.physical_resource_id).location_uri
        ):
            return super().update(props, new_resource_name)
        _backend(self.ctx).update_configuration_profile(
            self.application_id,
            self.physical_resource_id,
            props.get("Name"),
            props.get("Description"),
            props.get("RetrievalRoleArn"),
            props.get("Validators"),
        )
        return self


class HostedConfigurationVersion(FillIn):
    """Every property is create-only, so any change is a new version (the default replacement update)."""

    CFN_TYPE = "AWS::AppConfig::HostedConfigurationVersion"
    ATTRIBUTES = frozenset({"VersionNumber"})

    def __init__(self, ctx: Context, version: int, application_id: str, profile_id: str) -> None:
        super().__init__(ctx, str(version), {"VersionNumber": str(version)})
        self.application_id = application_id
        self.profile_id = profile_id

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> HostedConfigurationVersion:
        application_id = require(props, "ApplicationId", cls.CFN_TYPE)
        profile_id = require(props, "ConfigurationProfileId", cls.CFN_TYPE)
        version = _backend(ctx).create_hosted_configuration_version(
            app_id=application_id,
            config_profile_id=profile_id,
            description=props.get("Description"),
            content=require(props, "Content", cls.CFN_TYPE),
            content_type=require(props, "ContentType", cls.CFN_TYPE),
            version_label=props.get("VersionLabel"),
        )
        return cls(ctx, version.version, application_id, profile_id)

    def remove(self) -> None:
        try:
            _backend(self.ctx).delete_hosted_configuration_version(
                self.application_id, self.profile_id, int(self.physical_resource_id)
            )
        except (AppNotFoundException, ConfigurationProfileNotFound, KeyError):
            return


class DeploymentStrategy(FillIn):
    CFN_TYPE = "AWS::AppConfig::DeploymentStrategy"
    ATTRIBUTES = frozenset({"Id"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> DeploymentStrategy:
        strategy = _store(ctx).create_deployment_strategy(
            name=require(props, "Name", cls.CFN_TYPE),
            deployment_duration_in_minutes=as_int(require(props, "DeploymentDurationInMinutes", cls.CFN_TYPE)) or 0,
            growth_factor=float(require(props, "GrowthFactor", cls.CFN_TYPE)),
            growth_type=props.get("GrowthType") or "LINEAR",
            final_bake_time_in_minutes=as_int(props.get("FinalBakeTimeInMinutes")) or 0,
            replicate_to=require(props, "ReplicateTo", cls.CFN_TYPE),
            description=props.get("Description"),
        )
        return cls(ctx, strategy.id, {"Id": strategy.id})

    def remove(self) -> None:
        _store(self.ctx).delete_deployment_strategy(self.physical_resource_id)

    def update(self, props: dict[str, Any], new_resource_name: str) -> FillIn:
        strategy = _store(self.ctx).get_deployment_strategy(self.physical_resource_id)
        strategy.deployment_duration_in_minutes = as_int(props.get("DeploymentDurationInMinutes")) or 0
        strategy.growth_factor = float(props.get("GrowthFactor") or strategy.growth_factor)
        strategy.growth_type = props.get("GrowthType") or "LINEAR"
        strategy.final_bake_time_in_minutes = as_int(props.get("FinalBakeTimeInMinutes")) or 0
        strategy.description = props.get("Description")
        return self


class Deployment(FillIn):
    """StartDeployment. Deleting the resource leaves the configuration deployed (a deployment is history, as on
    AWS); deleting the environment or application ends it."""

    CFN_TYPE = "AWS::AppConfig::Deployment"
    ATTRIBUTES = frozenset({"DeploymentNumber"})

    @classmethod
    def create(cls, ctx: Context, props: dict[str, Any]) -> Deployment:
        deployment = _store(ctx).start_deployment(
            application_id=require(props, "ApplicationId", cls.CFN_TYPE),
            environment_id=require(props, "EnvironmentId", cls.CFN_TYPE),
            configuration_profile_id=require(props, "ConfigurationProfileId", cls.CFN_TYPE),
            configuration_version=str(require(props, "ConfigurationVersion", cls.CFN_TYPE)),
            deployment_strategy_id=require(props, "DeploymentStrategyId", cls.CFN_TYPE),
            description=props.get("Description"),
        )
        # Ref is the primary identifier ApplicationId|EnvironmentId|DeploymentNumber.
        physical_id = f"{deployment.application_id}|{deployment.environment_id}|{deployment.deployment_number}"
        return cls(ctx, physical_id, {"DeploymentNumber": str(deployment.deployment_number)})

    def remove(self) -> None:
        return None
