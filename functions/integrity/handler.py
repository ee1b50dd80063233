"""Integrity reconciler (design question 8): on a schedule (EventBridge, every 15 minutes) or on demand, compare
orders, seats, payments and the providers' ledgers; settle charges whose outcome was unknown; report the drift.

Each run writes a report item to the ops table, logs one line with the counts (and one WARNING line per drift item,
with its ids), and publishes the ``IntegrityDrift`` metric (alarm on > 0) and ``IntegrityRepairs``. It answers the
report. Logic: ``marquee.integrity``.
"""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core import aws
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.integrity import ReconcilerDeps, reconcile
from marquee.integrity.store import ReportStore
from marquee.payments.config import default_deps

from .models import IntegrityEnv, RunRequest

env = load_env(IntegrityEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    on_demand = event.get("detail-type") != "Scheduled Event"
    request = RunRequest.model_validate(event if on_demand else {})
    grace = request.grace_seconds if request.grace_seconds is not None else env.integrity_grace_seconds
    report = reconcile(
        ReconcilerDeps(
            table_name=env.table_name,
            client=aws.dynamodb(),
            payments=default_deps(),
            reports=ReportStore(env.ops_table_name),
            grace=timedelta(seconds=grace),
        )
    )
    for item in report.drift:
        logger.warning("integrity drift", extra={"kind": item.kind.value, **item.ids(), "detail": item.detail})
    logger.info(
        "integrity run",
        extra={
            "run_id": report.run_id,
            "drift": report.drift_count,
            "counts": report.counts(),
            "repairs": len(report.repairs),
            "scanned": report.scanned,
            "unreadable_providers": report.unreadable_providers,
            "duration_ms": report.duration_ms,
        },
    )
    metrics.add_metric(name="IntegrityDrift", unit=MetricUnit.Count, value=report.drift_count)
    metrics.add_metric(name="IntegrityRepairs", unit=MetricUnit.Count, value=len(report.repairs))
    return report.model_dump(mode="json", by_alias=True)
