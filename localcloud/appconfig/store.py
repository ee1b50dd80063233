"""AppConfig state that moto does not keep: environments, deployment strategies and deployments.

moto's appconfig backend has applications, configuration profiles and hosted configuration versions. It has no
environments, no deployment strategies and no deployments, and so it cannot say which configuration is live where.
This registry holds exactly those, next to moto's data and with moto's lifetime: it is a moto `BackendDict`, so
`moto.mock_aws()` and the local cloud's reset clear it together with everything else.

The question the appconfigdata API (StartConfigurationSession / GetLatestConfiguration) asks is answered by
`deployed_configuration(account_id, region_name, application, environment, profile)`: identifiers may be ids or names,
as in AppConfig's own API, and the answer is the hosted configuration version of the latest completed deployment.

Deployments complete at once: the local cloud does not emulate a strategy's duration, growth or bake time, only which
version is deployed to which environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from moto.appconfig.models import AppConfigBackend, HostedConfigurationVersion, appconfig_backends
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random


class AppConfigResourceNotFound(JsonRESTError):
    """AppConfig's ResourceNotFoundException, naming what was not found."""

    def __init__(self, what: str, identifier: str) -> None:
        super().__init__("ResourceNotFoundException", f"{what} {identifier} not found")


@dataclass
class Environment:
    id: str
    application_id: str
    name: str
    description: str | None = None
    monitors: list[dict[str, Any]] = field(default_factory=list)
    state: str = "ReadyForDeployment"


@dataclass
class DeploymentStrategy:
    id: str
    name: str
    deployment_duration_in_minutes: int
    growth_factor: float
    growth_type: str = "LINEAR"
    final_bake_time_in_minutes: int = 0
    replicate_to: str = "NONE"
    description: str | None = None


@dataclass
class Deployment:
    application_id: str
    environment_id: str
    deployment_number: int
    configuration_profile_id: str
    configuration_version: str
    deployment_strategy_id: str
    description: str | None = None
    state: str = "COMPLETE"


# AppConfig's predefined strategies: their ids are their names.
PREDEFINED_STRATEGIES = (
    DeploymentStrategy("AppConfig.AllAtOnce", "AppConfig.AllAtOnce", 0, 100.0, "LINEAR", 10),
    DeploymentStrategy(
        "AppConfig.Linear50PercentEvery30Seconds", "AppConfig.Linear50PercentEvery30Seconds", 1, 50.0, "LINEAR", 1
    ),
    DeploymentStrategy(
        "AppConfig.Linear20PercentEvery6Minutes", "AppConfig.Linear20PercentEvery6Minutes", 30, 20.0, "LINEAR", 30
    ),
    DeploymentStrategy(
        "AppConfig.Canary10Percent20Minutes", "AppConfig.Canary10Percent20Minutes", 20, 10.0, "EXPONENTIAL", 10
    ),
)


class AppConfigStore(BaseBackend):
    """Environments, deployment strategies and deployments of one account and region."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.environments: dict[str, Environment] = {}
        self.strategies: dict[str, DeploymentStrategy] = {s.id: s for s in PREDEFINED_STRATEGIES}
        self.deployments: dict[tuple[str, str], list[Deployment]] = {}

    @property
    def _moto(self) -> AppConfigBackend:
        return appconfig_backends[self.account_id][self.region_name]

    # --- environments -------------------------------------------------------------------------------------------

    def create_environment(
        self,
        application_id: str,
        name: str,
        description: str | None = None,
        monitors: list[dict[str, Any]] | None = None,
    ) -> Environment:
        self._moto.get_application(application_id)
        environment = Environment(mock_random.get_random_hex(7), application_id, name, description, monitors or [])
        self.environments[environment.id] = environment
        return environment

    def get_environment(self, application_id: str, identifier: str) -> Environment:
        """By id or by name, within one application."""
        for environment in self.environments.values():
            if environment.application_id == application_id and identifier in (environment.id, environment.name):
                return environment
        raise AppConfigResourceNotFound("Environment", identifier)

    def list_environments(self, application_id: str) -> list[Environment]:
        return [e for e in self.environments.values() if e.application_id == application_id]

    def delete_environment(self, application_id: str, environment_id: str) -> None:
        environment = self.get_environment(application_id, environment_id)
        self.environments.pop(environment.id)
        self.deployments.pop((application_id, environment.id), None)

    # --- deployment strategies ----------------------------------------------------------------------------------

    def create_deployment_strategy(
        self,
        name: str,
        deployment_duration_in_minutes: int,
        growth_factor: float,
        growth_type: str = "LINEAR",
        final_bake_time_in_minutes: int = 0,
        replicate_to: str = "NONE",
        description: str | None = None,
    ) -> DeploymentStrategy:
        strategy = DeploymentStrategy(
            mock_random.get_random_hex(7),
            name,
            deployment_duration_in_minutes,
            growth_factor,
            growth_type,
            final_bake_time_in_minutes,
            replicate_to,
            description,
        )
        self.strategies[strategy.id] = strategy
        return strategy

    def get_deployment_strategy(self, identifier: str) -> DeploymentStrategy:
        for strategy in self.strategies.values():
            if identifier in (strategy.id, strategy.name):
                return strategy
        raise AppConfigResourceNotFound("DeploymentStrategy", identifier)

    def delete_deployment_strategy(self, strategy_id: str) -> None:
        if any(strategy_id == s.id for s in PREDEFINED_STRATEGIES):
            return
        self.strategies.pop(strategy_id, None)

    # --- deployments --------------------------------------------------------------------------------------------

    def start_deployment(
        self,
        application_id: str,
        environment_id: str,
        configuration_profile_id: str,
        configuration_version: str,
        deployment_strategy_id: str,
        description: str | None = None,
    ) -> Deployment:
        """Deploy a hosted configuration version to an environment. It is live as soon as this returns."""
        environment = self.get_environment(application_id, environment_id)
        strategy = self.get_deployment_strategy(deployment_strategy_id)
        self._moto.get_hosted_configuration_version(
            application_id, configuration_profile_id, int(configuration_version)
        )
        history = self.deployments.setdefault((application_id, environment.id), [])
        deployment = Deployment(
            application_id,
            environment.id,
            len(history) + 1,
            configuration_profile_id,
            str(configuration_version),
            strategy.id,
            description,
        )
        history.append(deployment)
        return deployment

    def list_deployments(self, application_id: str, environment_id: str) -> list[Deployment]:
        environment = self.get_environment(application_id, environment_id)
        return list(self.deployments.get((application_id, environment.id), []))

    def deployed_version(self, application_id: str, environment_id: str, configuration_profile_id: str) -> str | None:
        """The configuration version most recently deployed to the environment for this profile, if any."""
        for deployment in reversed(self.list_deployments(application_id, environment_id)):
            if deployment.configuration_profile_id == configuration_profile_id and deployment.state == "COMPLETE":
                return deployment.configuration_version
        return None

    def deployed_configuration(
        self, application: str, environment: str, profile: str
    ) -> HostedConfigurationVersion | None:
        """What appconfigdata serves. Each identifier may be an id or a name."""
        app = next((a for a in self._moto.applications.values() if application in (a.id, a.name)), None)
        if app is None:
            raise AppConfigResourceNotFound("Application", application)
        env = self.get_environment(app.id, environment)
        config_profile = next((p for p in app.config_profiles.values() if profile in (p.id, p.name)), None)
        if config_profile is None:
            raise AppConfigResourceNotFound("ConfigurationProfile", profile)
        version = self.deployed_version(app.id, env.id, config_profile.id)
        return None if version is None else config_profile.get_version(int(version))


appconfig_stores = BackendDict(AppConfigStore, "appconfig")


def store(account_id: str, region_name: str) -> AppConfigStore:
    """The registry of one account and region."""
    return appconfig_stores[account_id][region_name]


def deployed_configuration(
    account_id: str, region_name: str, application: str, environment: str, profile: str
) -> HostedConfigurationVersion | None:
    """The hosted configuration version live in an environment, or None if nothing was deployed there yet."""
    return store(account_id, region_name).deployed_configuration(application, environment, profile)
