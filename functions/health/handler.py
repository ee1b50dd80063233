"""GET /health (liveness, public) and GET /health/deep (dependencies, staff only)."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
import json
from http import HTTPStatus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.env import load_env
from marquee.health import HEALTH_CONTENT_TYPE, HealthReport
from marquee.http import ApiResolver
from marquee.tenant import current_tenant

from logic import deep_health, liveness
from models import HealthEnv

env = load_env(HealthEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver()


def _health_response(report: HealthReport) -> Response[str]:
    status = HTTPStatus.SERVICE_UNAVAILABLE if report.failed else HTTPStatus.OK
    return Response(
        status_code=status,
        content_type=HEALTH_CONTENT_TYPE,
        body=json.dumps(report.as_json()),
        headers={"Cache-Control": "no-store"},
    )


@app.get("/health")
@tracer.capture_method
def get_health() -> Response[str]:
    return _health_response(liveness(env))


@app.get("/health/deep")
@tracer.capture_method
def get_deep_health() -> Response[str]:
    report = deep_health(current_tenant(app), env)
    metrics.add_metric(name="DeepHealthFailed", unit=MetricUnit.Count, value=1 if report.failed else 0)
    return _health_response(report)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
