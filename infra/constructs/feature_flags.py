"""Feature flags (challenge 13): an AppConfig application, environment, hosted configuration profile, deployment
strategy and the initial deployment of ``infra/feature_flags.json``. Functions read the flags with Powertools'
AppConfig store, unchanged; `marquee flags set` deploys new versions at run time, without a stack deploy."""

from __future__ import annotations

import json

from aws_cdk import Aws, Stack
from aws_cdk import aws_appconfig as appconfig
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra import constants


class FeatureFlags(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        flags = json.loads(constants.FEATURE_FLAGS_FILE.read_text(encoding="utf-8"))

        self.application = appconfig.CfnApplication(
            self, "Application", name=constants.FLAGS_APPLICATION, description="Marquee feature flags"
        )
        self.environment = appconfig.CfnEnvironment(
            self, "Environment", application_id=self.application.ref, name=constants.FLAGS_ENVIRONMENT
        )
        self.profile = appconfig.CfnConfigurationProfile(
            self,
            "Profile",
            application_id=self.application.ref,
            name=constants.FLAGS_PROFILE,
            location_uri="hosted",
            type="AWS.Freeform",
        )
        # Flags must reach every function quickly and never half-way: all at once, no bake time.
        self.strategy = appconfig.CfnDeploymentStrategy(
            self,
            "Strategy",
            name=f"{Stack.of(self).stack_name}-flags-all-at-once",
            deployment_duration_in_minutes=0,
            growth_factor=100,
            final_bake_time_in_minutes=0,
            replicate_to="NONE",
        )
        version = appconfig.CfnHostedConfigurationVersion(
            self,
            "InitialFlags",
            application_id=self.application.ref,
            configuration_profile_id=self.profile.ref,
            content=json.dumps(flags),
            content_type="application/json",
        )
        appconfig.CfnDeployment(
            self,
            "InitialDeployment",
            application_id=self.application.ref,
            environment_id=self.environment.ref,
            configuration_profile_id=self.profile.ref,
            configuration_version=version.ref,
            deployment_strategy_id=self.strategy.ref,
        )

    @property
    def environment_variables(self) -> dict[str, str]:
        return {
            "FLAGS_APPLICATION": constants.FLAGS_APPLICATION,
            "FLAGS_ENVIRONMENT": constants.FLAGS_ENVIRONMENT,
            "FLAGS_PROFILE": constants.FLAGS_PROFILE,
            "FLAGS_MAX_AGE_SECONDS": str(constants.FLAGS_MAX_AGE_SECONDS),
        }

    def grant_read(self, grantee: iam.IGrantable) -> None:
        """appconfigdata's session API, on this application's configuration only."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"],
            resource_arns=[
                f"arn:{Aws.PARTITION}:appconfig:{Aws.REGION}:{Aws.ACCOUNT_ID}:application/{self.application.ref}"
                f"/environment/{self.environment.ref}/configuration/{self.profile.ref}"
            ],
        )
