"""Configuration of the payments package, validated once (the first time ``charge``/``refund`` run).

Any function that charges or refunds gets these variables from ``infra/constructs/payments.py``
(``Payments.grant_charging``). Secrets are referenced by id only: their values are fetched at run time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from pydantic import Field

from marquee.core.env import BaseEnv, load_env
from marquee.core.logs import Logger
from marquee.payments.models import ProviderName
from marquee.payments.provider import ProviderClient
from marquee.payments.store import PaymentStore
from marquee.resilience.breaker import BreakerConfig, CircuitBreaker, DynamoDBBreakerStore


class PaymentsEnv(BaseEnv):
    table_name: str = Field(min_length=1)
    ops_table_name: str = Field(min_length=1)
    payments_primary_secret_id: str = Field(min_length=1)
    payments_secondary_secret_id: str = Field(min_length=1)
    payments_connect_timeout_ms: int = Field(gt=0)
    payments_read_timeout_ms: int = Field(gt=0)
    payments_secret_max_age_s: int = Field(ge=0)
    payments_attempt_lease_ms: int = Field(gt=0)
    breaker_failure_threshold: int = Field(gt=0)
    breaker_window_ms: int = Field(gt=0)
    breaker_cooldown_ms: int = Field(gt=0)
    breaker_success_threshold: int = Field(gt=0)
    breaker_probe_lease_ms: int = Field(gt=0)
    # Set by CDK when the function reads feature flags (marquee.core.flags): `payments_secondary_as_primary` per tenant.
    flags_application: str | None = None


@dataclass(frozen=True)
class PaymentsDeps:
    """Everything ``charge``/``refund`` use; tests build their own."""

    store: PaymentStore
    providers: dict[ProviderName, ProviderClient]
    breakers: dict[ProviderName, CircuitBreaker]
    attempt_lease_ms: int
    # (tenant, client) -> try the secondary provider first? Tests and functions without flags: never.
    secondary_first: Callable[[str, str], bool] = field(default=lambda _tenant, _client: False)


def deps_from_env(env: PaymentsEnv) -> PaymentsDeps:
    breaker_config = BreakerConfig.from_env(env)
    breaker_store = DynamoDBBreakerStore(env.ops_table_name)
    secrets = {
        ProviderName.PRIMARY: env.payments_primary_secret_id,
        ProviderName.SECONDARY: env.payments_secondary_secret_id,
    }
    return PaymentsDeps(
        store=PaymentStore(env.table_name),
        providers={
            name: ProviderClient(
                name.value,
                secret_id,
                connect_timeout_ms=env.payments_connect_timeout_ms,
                read_timeout_ms=env.payments_read_timeout_ms,
                secret_max_age_s=env.payments_secret_max_age_s,
            )
            for name, secret_id in secrets.items()
        },
        breakers={name: CircuitBreaker(f"payments-{name.value}", breaker_config, breaker_store) for name in secrets},
        attempt_lease_ms=env.payments_attempt_lease_ms,
        secondary_first=_secondary_first_flag if env.flags_application else lambda _tenant, _client: False,
    )


SECONDARY_FIRST_FLAG = "payments_secondary_as_primary"
logger = Logger(child=True)  # masked: logs through the function's Logger (marquee.core.logs)


def _secondary_first_flag(tenant_id: str, client_id: str) -> bool:
    """The feature flag, per tenant. Fails safe: if the flags cannot be read, the primary stays first."""
    from aws_lambda_powertools.utilities.feature_flags.exceptions import ConfigurationStoreError

    from marquee.core.flags import is_enabled
    from marquee.tenancy.tenant import TenantContext

    try:
        return is_enabled(SECONDARY_FIRST_FLAG, TenantContext(tenant_id=tenant_id, user_id=client_id), default=False)
    except ConfigurationStoreError:
        logger.warning("feature flags unreadable: the primary payment provider stays first")
        return False


@cache
def default_deps() -> PaymentsDeps:
    return deps_from_env(load_env(PaymentsEnv))
