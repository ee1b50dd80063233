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
    database = (env.db_cluster_arn, env.db_secret_arn, env.db_name)
    db_timeout, warn = env.db_health_check_timeout_ms, env.health_check_warn_ms
    sharded: list[HealthCheck] = []
    if env.shard_control_table_name:
        sharded = [
            *health.shard_tables(env.shard_table_names, **limits),
            health.shard_map(env.shard_control_table_name, env.shard_table_names, **limits),
        ]
    return [
        health.dynamodb_table(env.table_name, **limits),
        health.sqs_queue(env.queue_url, **limits),
        health.event_bus(env.event_bus_name, **limits),
        health.secret(env.secret_arn, **limits),
        health.state_machine(env.state_machine_arn, **limits),
        health.aurora_cluster(*database, timeout_ms=db_timeout, warn_ms=warn),
        health.read_model_shards(*database, timeout_ms=db_timeout, warn_ms=warn),
        health.valkey_cache(
            env.cache_address,
            env.cache_port,
            tls=env.cache_tls,
            cluster=env.cache_cluster,
            timeout_ms=env.cache_health_check_timeout_ms,
            warn_ms=min(env.health_check_warn_ms, env.cache_health_check_timeout_ms // 2),
        ),
        *sharded,
    ]


def deep_health(caller: TenantContext, env: HealthEnv) -> HealthReport:
    """Probe every dependency concurrently. Only staff may see it: it reveals the platform's topology."""
    caller.require_group(STAFF_GROUP)
    return health.run_checks(
        dependency_checks(env), service_id=env.powertools_service_name, description="deep dependency check"
    )


READY_MAX_AGE_S = 10.0  # a verdict younger than this is answered as it is: the dependencies are not probed again
READY_BUDGET_S = 1.5  # Route 53 wants the answer within 2 s of connecting: a slow run answers the last verdict
READY_STALE_S = 60.0  # ... unless that verdict is older than this, then the caller waits for the run in flight


class Readiness:
    """GET /health/ready: the deep check's verdict without its details, for callers that carry no token (a Route 53
    health check, a load balancer). Public, so it must not be a lever on the dependencies, and a health checker wants
    its answer within 2 s:

    - a verdict younger than ``max_age_s`` is answered as it is (one run per instance per ``max_age_s``, whoever
      calls);
    - an older one starts ONE run (a thread; concurrent callers join it) and waits for it up to ``budget_s``; a run
      still going then is answered with the previous verdict and its age, and its result is there for the next call
      (a slow dependency still fails the check once its own timeout expires);
    - with no verdict, or one older than ``stale_s``, the caller waits for the run in flight (its checks are bounded
      by their own timeouts).
    """

    def __init__(
        self,
        max_age_s: float = READY_MAX_AGE_S,
        budget_s: float = READY_BUDGET_S,
        stale_s: float = READY_STALE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age_s, self.budget_s, self.stale_s, self.clock = max_age_s, budget_s, stale_s, clock
        self._lock = threading.Lock()
        self._report: HealthReport | None = None
        self._at = 0.0
        self._run: threading.Thread | None = None

    def _refresh(self, env: HealthEnv) -> None:
        full = health.run_checks(dependency_checks(env), service_id=env.powertools_service_name)
        report = HealthReport(
            status=full.status, results=(), service_id=env.powertools_service_name, description="readiness"
        )
        with self._lock:
            self._report, self._at, self._run = report, self.clock(), None

    def check(self, env: HealthEnv) -> tuple[HealthReport, float]:
        """The verdict (no per-check results: they reveal the topology) and its age in seconds."""
        with self._lock:
            now = self.clock()
            if self._report is not None and now - self._at < self.max_age_s:
                return self._report, now - self._at
            if self._run is None:
                self._run = threading.Thread(target=self._refresh, args=(env,), name="readiness", daemon=True)
                self._run.start()
            run, stale = self._run, self._report is None or now - self._at >= self.stale_s
        run.join(timeout=None if stale else self.budget_s)
        with self._lock:
            assert self._report is not None  # the run ended (stale), or an earlier one left a verdict
            return self._report, max(0.0, self.clock() - self._at)
