"""Rotation of the providers' API keys (challenge 16): the four-step rotation function and the schedules.

One function rotates every provider secret, payments' and notifications': each is a ``{url, apiKey}`` document and
each provider serves the same key API (``POST /v1/api_keys``, ``GET /v1/ping``).

``secret.add_rotation_schedule`` gives the function exactly what the protocol needs on those secrets only
(DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage; GetRandomPassword, which has no resource),
and the Lambda permission for secretsmanager.amazonaws.com. Keys rotate every ``SECRET_ROTATION_DAYS`` and on demand
(``marquee secrets rotate NAME`` or the RotateSecret API), not at deploy: a new stack's keys are fresh anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import constants
from infra.constructs.function import PythonFunction
from infra.nag import Waiver, waive


class SecretRotation(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layer: lambda_.ILayerVersion,
        target: str,
        provider_secrets: Sequence[secretsmanager.Secret],
    ) -> None:
        super().__init__(scope, construct_id)
        self.handler = PythonFunction(
            self,
            "Handler",
            name="secret_rotation",
            description="Rotates a provider's API key: createSecret, setSecret, testSecret, finishSecret",
            layer=layer,
            target=target,
            memory_size=256,
            timeout=Duration.seconds(30),
            environment=constants.SECRET_ROTATION_SETTINGS,
        )
        for index, secret in enumerate(provider_secrets):
            secret.add_rotation_schedule(
                f"Rotation{index}",
                rotation_lambda=self.handler.function,
                automatically_after=Duration.days(constants.SECRET_ROTATION_DAYS),
                rotate_immediately_on_update=False,
            )
        waive(
            self.handler.role,
            Waiver(
                "AwsSolutions-IAM5",
                "secretsmanager:GetRandomPassword supports no resource-level permissions (Resource '*'); every other "
                "Secrets Manager action is granted on the provider secrets only.",
                finding="Resource::*",
            ),
        )
