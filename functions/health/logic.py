"""Liveness, readiness and deep health. Knows nothing of API Gateway."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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


READY_MAX_AGE_S = 10.0


class Readiness:
    """GET /health/ready: the deep check's verdict without its details, for callers that carry no token (a Route 53
    health check, a load balancer). Public, so it must not be a lever on the dependencies: one instance probes them
    at most once per ``max_age_s`` and answers every caller in between from that run (a failover check every 10 s
    from many checkers costs each dependency one probe per instance per 10 s)."""

    def __init__(self, max_age_s: float = READY_MAX_AGE_S, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self.clock = clock
        self._lock = threading.Lock()
        self._report: HealthReport | None = None
        self._at = 0.0

    def check(self, env: HealthEnv) -> tuple[HealthReport, float]:
        """The verdict (no per-check results: they reveal the topology) and its age in seconds."""
        with self._lock:
            now = self.clock()
            if self._report is None or now - self._at >= self.max_age_s:
                full = health.run_checks(dependency_checks(env), service_id=env.powertools_service_name)
                self._report = HealthReport(
                    status=full.status, results=(), service_id=env.powertools_service_name, description="readiness"
                )
                self._at = now
            return self._report, now - self._at
