"""`marquee flags list|set`: change feature flags at run time, without a deploy.

A change is a new hosted configuration version of the flags profile, validated with Powertools' own schema validator,
then deployed with the stack's all-at-once strategy. Functions see it within their cache age (FLAGS_MAX_AGE_SECONDS).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.feature_flags.exceptions import SchemaValidationError
from aws_lambda_powertools.utilities.feature_flags.schema import SchemaValidator

from devkit.state import STACK_NAME
from localcloud.aws import local_client

APPLICATION, ENVIRONMENT, PROFILE = "marquee", "live", "feature-flags"


class FlagError(Exception):
    pass


class FlagsClient:
    def __init__(self, endpoint_url: str) -> None:
        self.appconfig = local_client("appconfig", endpoint_url)
        self.cloudformation = local_client("cloudformation", endpoint_url)
        app = next((a for a in self.appconfig.list_applications()["Items"] if a["Name"] == APPLICATION), None)
        if app is None:
            raise FlagError(f"no AppConfig application {APPLICATION!r}: deploy the stack first (`marquee deploy`)")
        self.app_id = app["Id"]
        self.env_id = next(
            e["Id"]
            for e in self.appconfig.list_environments(ApplicationId=self.app_id)["Items"]
            if e["Name"] == ENVIRONMENT
        )
        self.profile_id = next(
            p["Id"]
            for p in self.appconfig.list_configuration_profiles(ApplicationId=self.app_id)["Items"]
            if p["Name"] == PROFILE
        )

    def current(self) -> tuple[int, dict[str, Any]]:
        deployments = self.appconfig.list_deployments(ApplicationId=self.app_id, EnvironmentId=self.env_id)["Items"]
        if not deployments:
            raise FlagError("no flags deployment yet")
        latest = max(deployments, key=lambda d: d["DeploymentNumber"])
        version = int(latest["ConfigurationVersion"])
        hosted = self.appconfig.get_hosted_configuration_version(
            ApplicationId=self.app_id, ConfigurationProfileId=self.profile_id, VersionNumber=version
        )
        return version, json.loads(hosted["Content"].read())

    def deploy(self, flags: dict[str, Any]) -> int:
        try:
            SchemaValidator(flags).validate()
        except SchemaValidationError as exc:
            raise FlagError(f"invalid flags: {exc}") from exc
        version = self.appconfig.create_hosted_configuration_version(
            ApplicationId=self.app_id,
            ConfigurationProfileId=self.profile_id,
            Content=json.dumps(flags).encode(),
            ContentType="application/json",
        )["VersionNumber"]
        self.appconfig.start_deployment(
            ApplicationId=self.app_id,
            EnvironmentId=self.env_id,
            DeploymentStrategyId=self._strategy_id(),
            ConfigurationProfileId=self.profile_id,
            ConfigurationVersion=str(version),
            Description="marquee flags set",
        )
        return int(version)

    def _strategy_id(self) -> str:
        resources = self.cloudformation.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]
        for resource in resources:
            if resource["ResourceType"] == "AWS::AppConfig::DeploymentStrategy":
                return str(resource["PhysicalResourceId"])
        return "AppConfig.AllAtOnce"


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "on", "1", "yes"):
        return True
    if lowered in ("false", "off", "0", "no"):
        return False
    raise FlagError(f"flag values are booleans: got {value!r} (use true or false)")


def _is_tenant_rule(rule: dict[str, Any]) -> bool:
    conditions = rule.get("conditions", [])
    return (
        len(conditions) == 1 and conditions[0].get("action") == "KEY_IN_VALUE" and conditions[0].get("key") == "tenant"
    )


def _is_rollout_rule(rule: dict[str, Any]) -> bool:
    conditions = rule.get("conditions", [])
    return (
        len(conditions) == 1
        and conditions[0].get("action") == "MODULO_RANGE"
        and conditions[0].get("key") == "user_bucket"
    )


def _replace_rule(
    rules: dict[str, Any], matches: Callable[[dict[str, Any]], bool], default_name: str, rule: dict[str, Any] | None
) -> None:
    """Replace every rule of one kind with ``rule`` (or drop them all when it is None), keeping the first one's name.

    Rules are recognised by their conditions, not their names: the shipped document calls its rollout
    "10 percent of customers", and `--percent 0` must end that rollout, not add a second one beside it.
    """
    existing = [name for name, value in rules.items() if matches(value)]
    for name in existing:
        rules.pop(name)
    if rule is not None:
        rules[existing[0] if existing else default_name] = rule


def set_flag(
    flags: dict[str, Any], name: str, *, default: bool | None, tenants: list[str] | None, percent: int | None
) -> dict[str, Any]:
    """A copy of ``flags`` with ``name`` changed: its default, the tenants it is on for, and/or a percentage rollout.

    ``tenants`` replaces the flag's tenant rule (an empty list removes it); ``percent`` replaces its rollout rule on
    the user's bucket (0 removes it). Other rules are left as they are.
    """
    if not name.replace("_", "").isalnum():
        raise FlagError(f"bad flag name {name!r}: letters, digits and _ only")
    if percent is not None and not 0 <= percent <= 100:
        raise FlagError(f"a rollout percentage is 0-100, got {percent}")
    updated = json.loads(json.dumps(flags))
    flag = updated.setdefault(name, {"default": False})
    if default is not None:
        flag["default"] = default
    rules = flag.setdefault("rules", {})
    if tenants is not None:
        tenant_rule = {
            "when_match": True,
            "conditions": [{"action": "KEY_IN_VALUE", "key": "tenant", "value": tenants}],
        }
        _replace_rule(rules, _is_tenant_rule, "tenants", tenant_rule if tenants else None)
    if percent is not None:
        rollout_rule = {
            "when_match": True,
            "conditions": [
                {"action": "MODULO_RANGE", "key": "user_bucket", "value": {"BASE": 100, "START": 0, "END": percent - 1}}
            ],
        }
        _replace_rule(rules, _is_rollout_rule, "rollout", rollout_rule if percent > 0 else None)
    if not rules:
        flag.pop("rules")
    return updated
