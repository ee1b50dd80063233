"""GET /health (liveness, public), GET /health/ready (the dependencies' verdict, public, at most one probe per 10 s)
and GET /health/deep (the dependencies' details, staff only)."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
import json
from functools import cache
from http import HTTPStatus
from pathlib import Path

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver
from marquee.resilience.health import HEALTH_CONTENT_TYPE, HEALTH_JSON_SCHEMA, HealthReport
from marquee.tenancy.tenant import current_tenant

from .logic import Readiness, deep_health, liveness
from .models import HealthEnv

env = load_env(HealthEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver()
readiness = Readiness()
OPENAPI_FILE = Path(__file__).with_name("openapi.json")
HEALTH_RESPONSES: dict[int, OpenAPIResponse] = {
    200: {"description": "pass or warn", "content": {HEALTH_CONTENT_TYPE: {"schema": HEALTH_JSON_SCHEMA}}},
    503: {"description": "fail", "content": {HEALTH_CONTENT_TYPE: {"schema": HEALTH_JSON_SCHEMA}}},
}


@cache
def openapi_document() -> str:
    return OPENAPI_FILE.read_text()


def _health_response(report: HealthReport, headers: dict[str, str] | None = None) -> Response[str]:
    status = HTTPStatus.SERVICE_UNAVAILABLE if report.failed else HTTPStatus.OK
    return Response(
        status_code=status,
        content_type=HEALTH_CONTENT_TYPE,
        body=json.dumps(report.as_json()),
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


@app.get("/health", responses=HEALTH_RESPONSES)
@tracer.capture_method
def get_health() -> Response[str]:
    return _health_response(liveness(env))


@app.get("/health/ready", responses=HEALTH_RESPONSES)
@tracer.capture_method
def get_readiness() -> Response[str]:
    """What a Route 53 failover check probes: fails when a dependency fails, without saying which."""
    report, age_s = readiness.check(env)
    return _health_response(report, {"Age": str(int(age_s))})


@app.get("/health/deep", responses=HEALTH_RESPONSES)
@tracer.capture_method
def get_deep_health() -> Response[str]:
    report = deep_health(current_tenant(app), env)
    metrics.add_metric(name="DeepHealthFailed", unit=MetricUnit.Count, value=1 if report.failed else 0)
    return _health_response(report)


@app.get(
    "/openapi.json",
    responses={200: {"description": "This document", "content": {"application/json": {"schema": {"type": "object"}}}}},
)
def get_openapi() -> Response[str]:
    """The published contract (docs/openapi.json, linked into this function's asset): public, like the API's docs."""
    return Response(
        status_code=HTTPStatus.OK,
        content_type="application/json",
        body=openapi_document(),
        headers={"Cache-Control": "public, max-age=300"},
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
