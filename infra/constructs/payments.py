"""Payments capability: POST /payments and GET /payments/{paymentId}, the two provider secrets, and the wiring any other
function needs to charge or refund (``charging_environment`` + ``grant_charging``, used by the order saga)."""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import constants
from infra.constructs.api import Api
from infra.constructs.feature_flags import FeatureFlags
from infra.constructs.function import PythonFunction
from infra.constructs.tenant_access import TenantAccess


class Payments(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: Api,
        layer: lambda_.ILayerVersion,
        target: str,
        table: dynamodb.ITable,
        idempotency_table: dynamodb.ITable,
        ops_table: dynamodb.ITable,
        flags: FeatureFlags,
        tenant_access: TenantAccess,
    ) -> None:
        super().__init__(scope, construct_id)
        self._table = table
        self._ops_table = ops_table
        self._flags = flags

        self.primary_secret = self._provider_secret(
            "PrimaryProvider",
            constants.PAYMENT_PRIMARY_SECRET_NAME,
            self._url(constants.PAYMENT_PRIMARY_URL_CONTEXT_KEY),
        )
        self.secondary_secret = self._provider_secret(
            "SecondaryProvider",
            constants.PAYMENT_SECONDARY_SECRET_NAME,
            self._url(constants.PAYMENT_SECONDARY_URL_CONTEXT_KEY),
        )
        # Secrets are referenced by ARN only; their values are fetched at run time (Powertools parameters).
        self.charging_environment: dict[str, str] = {
            "TABLE_NAME": table.table_name,
            "OPS_TABLE_NAME": ops_table.table_name,
            "PAYMENTS_PRIMARY_SECRET_ID": self.primary_secret.secret_arn,
            "PAYMENTS_SECONDARY_SECRET_ID": self.secondary_secret.secret_arn,
            **constants.PAYMENTS_SETTINGS,
            "PAYMENTS_SECRET_MAX_AGE_S": constants.PAYMENTS_SECRET_MAX_AGE_S_BY_TARGET[target],
            **flags.environment_variables,  # the payments_secondary_as_primary flag
        }

        self.handler = PythonFunction(
            self,
            "Handler",
            name="payments",
            description="POST /payments (Idempotency-Key) and GET /payments/{paymentId}: charge exactly once",
            layer=layer,
            target=target,
            memory_size=512,
            timeout=Duration.seconds(20),
            environment={
                **self.charging_environment,
                "IDEMPOTENCY_TABLE_NAME": idempotency_table.table_name,
                "PAYMENTS_IDEMPOTENCY_TTL_S": str(constants.PAYMENTS_IDEMPOTENCY_TTL_SECONDS),
            },
        )
        idempotency_table.grant_read_write_data(self.handler.role)
        # Tenant-facing: payments (and their outbox items) through the tenant-access role, narrowed per request; the
        # idempotency records, breakers, secrets and flags (no tenant prefix to narrow on) through its own role.
        tenant_access.grant_to(self.handler)
        self._grant_charging_dependencies(self.handler.role)
        api.add_route("POST", "/payments", self.handler.function)
        api.add_route("GET", "/payments/{paymentId}", self.handler.function)

    def grant_charging(self, grantee: iam.IGrantable) -> None:
        """What ``marquee.payments.charge/refund`` need: payments + outbox, breakers, both provider secrets."""
        self._table.grant_read_write_data(grantee)
        self._grant_charging_dependencies(grantee)

    def _grant_charging_dependencies(self, grantee: iam.IGrantable) -> None:
        """All of ``grant_charging`` but the main table: breakers, both provider secrets, the flags."""
        self._ops_table.grant_read_write_data(grantee)
        self.primary_secret.grant_read(grantee)
        self.secondary_secret.grant_read(grantee)
        self._flags.grant_read(grantee)

    def _url(self, context_key: str) -> str:
        value = self.node.try_get_context(context_key)
        return str(value) if value else constants.PAYMENT_PROVIDER_PLACEHOLDER_URL

    def _provider_secret(self, construct_id: str, name: str, url: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            construct_id,
            secret_name=name,
            description="Payment provider endpoint and API key ({url, apiKey}). The key is generated at deploy; "
            "set the provider's real key out of band. Read at run time only, never put in environment variables.",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"url": url}),
                generate_string_key="apiKey",
                exclude_punctuation=True,
                password_length=40,
            ),
            removal_policy=constants.REMOVAL_POLICY,
        )
        # Rotated every SECRET_ROTATION_DAYS by infra/constructs/secret_rotation.py (challenge 16).
        return secret
