"""POST /orders (place an order from an ACTIVE hold: 202, the saga runs asynchronously) and GET /orders/{orderId};
and, as the target of the bus rule on ``OrderPlaced``, the start of each order's saga (``logic.start_placed_order``).

One function serves both: they share the orders' data access and the tenant-access role, and a separate starter
function would cost the stack a role, a policy and a log group more (docs/decisions.md, 2026-12-05)."""

# No `from __future__ import annotations` here: Powertools reads the route annotations at run time.
from http import HTTPStatus

from aws_lambda_powertools import Metrics, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from marquee.booking import hold_shape
from marquee.booking.orders import OrderStore
from marquee.core.env import load_env
from marquee.core.logs import Logger
from marquee.http import ApiResolver, accepted_response
from marquee.ratelimit import valkey_request_limiter
from marquee.tenancy.tenant import TenantContext, current_tenant

from .logic import get_order, place_order, start_placed_order
from .models import MAX_BODY_BYTES, OrderAccepted, OrdersEnv, OrderView, PlaceOrderRequest

env = load_env(OrdersEnv)
hold_shape.use_phase(env.hold_shape_phase)  # which phase of the hold item's shape change is live
logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = ApiResolver(max_body_bytes=MAX_BODY_BYTES, rate_limit=valkey_request_limiter(env.cache_client))


def store_for(tenant: TenantContext) -> OrderStore:
    """Orders of one tenant, through a DynamoDB client confined to its keys (the tenant-access role's session)."""
    return OrderStore(env.table_name, env.dynamodb_for(tenant))


@app.post("/orders", responses={202: accepted_response(OrderAccepted)})
@tracer.capture_method
def post_order(body: PlaceOrderRequest) -> Response[str]:
    tenant = current_tenant(app)
    accepted = place_order(body, tenant, store_for(tenant))
    metrics.add_metric(name="OrdersAccepted", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type="application/json",
        body=accepted.model_dump_json(by_alias=True),
        headers={"Location": f"/orders/{accepted.order_id}"},
    )


@app.get("/orders/<orderId>")  # named as API Gateway's resource is: /orders/{orderId}
@tracer.capture_method
def get_order_route(orderId: str) -> OrderView:  # noqa: N803 - the route's parameter name
    tenant = current_tenant(app)
    return get_order(orderId, tenant, store_for(tenant))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    if "detail-type" in event:  # EventBridge: the OrderPlaced rule
        return on_order_placed(event)
    return app.resolve(event, context)


def on_order_placed(event: dict) -> dict:
    """Start the saga of the placed order. An error raises: the bus's async invoke retries, then the failures queue."""
    detail = event.get("detail")
    arn = start_placed_order(detail if isinstance(detail, dict) else {}, env, store_for)
    if arn is not None:
        metrics.add_metric(name="SagasStarted", unit=MetricUnit.Count, value=1)
    logger.info("order placed", extra={"event_id": event.get("id"), "execution_arn": arn})
    return {"eventId": event.get("id"), "executionArn": arn}
