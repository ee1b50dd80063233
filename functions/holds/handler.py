"""Seat holds: POST /showtimes/{showtimeId}/holds, GET /holds/{holdId}, DELETE /holds/{holdId} (owner only)."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.core.env import load_env
from marquee.http import ApiResolver, created_response
from marquee.tenancy.tenant import current_tenant

from . import logic
from .models import MAX_BODY_BYTES, HoldRequest, HoldResponse, HoldsEnv

env = load_env(HoldsEnv)
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver(max_body_bytes=MAX_BODY_BYTES)

EntityId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def _correlation_id() -> str | None:
    return app.current_event.request_context.request_id


@app.post("/showtimes/<showtimeId>/holds", responses={201: created_response(HoldResponse)})
@tracer.capture_method
def post_hold(showtimeId: EntityId, body: HoldRequest) -> tuple[HoldResponse, int]:  # noqa: N803
    hold = logic.place_hold(showtimeId, body, tenant=current_tenant(app), env=env, correlation_id=_correlation_id())
    metrics.add_metric(name="SeatsHeld", unit=MetricUnit.Count, value=len(hold.seats))
    return hold, 201


@app.get("/holds/<holdId>")
@tracer.capture_method
def get_hold(holdId: EntityId) -> HoldResponse:  # noqa: N803
    return logic.read_hold(holdId, tenant=current_tenant(app), env=env)


@app.delete("/holds/<holdId>")
@tracer.capture_method
def delete_hold(holdId: EntityId) -> HoldResponse:  # noqa: N803
    return logic.release(holdId, tenant=current_tenant(app), env=env, correlation_id=_correlation_id())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
