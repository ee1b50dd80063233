"""Liveness and deep health. Knows nothing of API Gateway."""

from __future__ import annotations

from marquee.resilience import health
from marquee.resilience.health import HealthCheck, HealthReport, Status
from marquee.tenancy.tenant import TenantContext

from .models import HealthEnv

STAFF_GROUP = "staff"


def liveness(env: HealthEnv) -> HealthReport:
    """The process is up and its configuration is valid. No dependency is touched."""
    return HealthReport(status=Status.PASS, results=(), service_id=env.powertools_service_name, description="liveness")


def dependency_checks(env: HealthEnv) -> list[HealthCheck]:
    """The dependencies probed by the deep check. Adding one is one line."""
    limits = {"timeout_ms": env.health_check_timeout_ms, "warn_ms": env.health_check_warn_ms}
    return [
        health.dynamodb_table(env.table_name, **limits),
        health.sqs_queue(env.queue_url, **limits),
        health.event_bus(env.event_bus_name, **limits),
        health.secret(env.secret_arn, **limits),
        health.state_machine(env.state_machine_arn, **limits),
        health.aurora_cluster(
            env.db_cluster_arn,
            env.db_secret_arn,
            env.db_name,
            timeout_ms=env.db_health_check_timeout_ms,
            warn_ms=env.health_check_warn_ms,
        ),
        health.valkey_cache(
            env.cache_address,
            env.cache_port,
            tls=env.cache_tls,
            cluster=env.cache_cluster,
            timeout_ms=env.cache_health_check_timeout_ms,
            warn_ms=min(env.health_check_warn_ms, env.cache_health_check_timeout_ms // 2),
        ),
    ]


def deep_health(caller: TenantContext, env: HealthEnv) -> HealthReport:
    """Probe every dependency concurrently. Only staff may see it: it reveals the platform's topology."""
    caller.require_group(STAFF_GROUP)
    return health.run_checks(
        dependency_checks(env), service_id=env.powertools_service_name, description="deep dependency check"
    )
